// request.COOKIES (django.http.request.HttpRequest.COOKIES): a read-only dict.
import { CookieDict } from '../http/cookie_dict';
import * as cookies from '../http/cookies';

// parse_cookie wrapped in a counting mock, to see when the header is parsed.
jest.mock('../http/cookies', () => {
  const actual = jest.requireActual<typeof import('../http/cookies')>('../http/cookies');
  return { ...actual, parse_cookie: jest.fn(actual.parse_cookie) };
});

describe('CookieDict', () => {
  test('reads like a Python dict', () => {
    const c = new CookieDict('a=1; b="x y"; a=3; unnamed');
    expect(c.get('a')).toBe('3');
    expect(c.get('b')).toBe('x y');
    expect(c.get('')).toBe('unnamed');
    expect(c.get('missing')).toBeUndefined();
    expect(c.get('missing', 'fallback')).toBe('fallback');
    expect(c.get('missing', null)).toBeNull();
    expect(c.get('a', 'fallback')).toBe('3');
    expect(c.has('a')).toBe(true);
    expect(c.has('missing')).toBe(false);
    expect(c.keys()).toEqual(['a', 'b', '']);
    expect(c.values()).toEqual(['3', 'x y', 'unnamed']);
    expect(c.items()).toEqual([['a', '3'], ['b', 'x y'], ['', 'unnamed']]);
    expect(c.size).toBe(3);
    expect([...c]).toEqual(['a', 'b', '']);
    expect(JSON.stringify(c)).toBe('{"a":"3","b":"x y","":"unnamed"}');
  });

  test('an empty value is present, not missing', () => {
    const c = new CookieDict('a=""');
    expect(c.has('a')).toBe(true);
    expect(c.get('a', 'fallback')).toBe('');
  });

  test('an empty dict by default, as a plain HttpRequest() has', () => {
    const c = new CookieDict();
    expect(c.size).toBe(0);
    expect(c.keys()).toEqual([]);
    expect([...c]).toEqual([]);
    expect(c.toJSON()).toEqual({});
  });

  test('the header is parsed on first use only, and once', () => {
    const spy = jest.mocked(cookies.parse_cookie);
    spy.mockClear();
    const c = new CookieDict('a=1');
    expect(spy).not.toHaveBeenCalled();
    expect(c.get('a')).toBe('1');
    expect(c.has('a')).toBe(true);
    expect(c.size).toBe(1);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  test('built from a Map, it keeps its own copy', () => {
    const source = new Map([['x', '1']]);
    const c = new CookieDict(source);
    source.set('y', '2');
    source.delete('x');
    expect(c.items()).toEqual([['x', '1']]);
  });

  test('returned arrays are copies', () => {
    const c = new CookieDict('a=1');
    c.keys().push('b');
    c.items()[0][1] = 'changed';
    expect(c.keys()).toEqual(['a']);
    expect(c.get('a')).toBe('1');
  });

  test('has no mutators', () => {
    const c = new CookieDict('a=1') as unknown as Record<string, unknown>;
    for (const name of ['set', 'delete', 'clear', 'pop', 'update', 'setdefault']) expect(c[name]).toBeUndefined();
  });

  test('toJSON is a plain object even for awkward names', () => {
    const c = new CookieDict('__proto__=x; constructor=y');
    const o = c.toJSON();
    expect(Object.keys(o)).toEqual(['__proto__', 'constructor']);
    expect(o['__proto__']).toBe('x');
    expect(JSON.parse(JSON.stringify(c))).toEqual(JSON.parse('{"__proto__":"x","constructor":"y"}'));
    expect(c.get('toString')).toBeUndefined();
  });

  test('a header that went through decode_cookie_header reads as Unicode', () => {
    const raw = Buffer.from('name=张三; s="\\351"', 'utf8').toString('latin1');
    const c = new CookieDict(cookies.decode_cookie_header(raw));
    expect(c.get('name')).toBe('张三');
    expect(c.get('s')).toBe('é');
  });
});
