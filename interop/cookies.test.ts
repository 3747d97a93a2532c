/**
 * Issue 4, items 4 (set_signed_cookie / get_signed_cookie) and 5 (Set-Cookie
 * on the wire), against real Django 3.2 (django/http/response.py,
 * django/http/request.py get_signed_cookie, CPython's Lib/http/cookies.py).
 *
 * Both sides run with the clock pinned to the same instant, so dates are
 * compared exactly; the comparison is on parsed attributes (name, value, and
 * a map of lowercased attribute names), as browsers read them.
 */
import { freeze_time } from '../packages/core/clock';
import { configure } from '../packages/core/conf';
import { HttpRequest } from '../packages/core/http/request';
import { HttpResponse } from '../packages/core/http/response';
import { cookie_signer_salt } from '../packages/core/http/signed_cookies';
import type { SetCookieOptions } from '../packages/core/http/cookies';
import { Django, describe_with_django, must, outcome, type Result } from './django';

// Django start-up alone can take seconds on a busy machine.
jest.setTimeout(60000);

const SECRET_KEY = 'django-insecure-example-secret';
const T = 1700000000;

function at<R>(seconds: number, fn: () => R): R {
  const restore = freeze_time(seconds * 1000);
  try {
    return fn();
  } finally {
    restore();
  }
}

interface ParsedSetCookie {
  name: string;
  value: string;
  /** Lowercased attribute name → value (`true` for a flag). */
  attrs: Record<string, string | true>;
}

/** A Set-Cookie value as a browser splits it (RFC 6265 §5.2): `;`-separated, first `=`. */
function parse_set_cookie(header: string): ParsedSetCookie {
  const [pair, ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attrs: Record<string, string | true> = {};
  for (const part of rest) {
    const a = part.trim();
    const i = a.indexOf('=');
    if (i < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, i).trim().toLowerCase()] = a.slice(i + 1).trim();
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

// One call as both sides spell it. `expires` for Django is {datetime: ISO}
// (built as a datetime by the driver) or a string, as in Python.
interface Call {
  method: 'set_cookie' | 'delete_cookie';
  args: [string] | [string, string];
  tango?: SetCookieOptions;
  django?: Record<string, unknown>;
}

function sc(key: string, value: string, tango: SetCookieOptions = {}, django: Record<string, unknown> = {}): Call {
  return { method: 'set_cookie', args: [key, value], tango, django };
}

function dc(key: string, opts: { path?: string; domain?: string; samesite?: string } = {}): Call {
  return { method: 'delete_cookie', args: [key], tango: opts, django: opts };
}

const JAN_2030 = new Date(Date.UTC(2030, 0, 1, 0, 0, 0));

// Each entry is one response: its calls run in order on the same HttpResponse.
const RESPONSES: Array<[string, Call[]]> = [
  // The tutorial's four views (apps/demo/views.ts).
  ['tutorial add_cookie: max_age=7h', [sc('username', 'zhiliao', { max_age: 25200 }, { max_age: 25200 })]],
  // Django 3.2 lets a datetime expires win over max_age silently, as Tango does on
  // purpose; current Django (django/http/response.py) raises ValueError for this call instead.
  ['tutorial add_cookie_expires: expires=datetime(2030,1,1) and max_age=7h (expires wins)',
    [sc('username', 'zhiliao', { expires: JAN_2030, max_age: 25200 }, { expires: { datetime: '2030-01-01T00:00:00' }, max_age: 25200 })]],
  ['tutorial delete_cookie', [dc('username')]],
  ['expires=datetime(2030,1,1) alone (naive = UTC)',
    [sc('username', 'zhiliao', { expires: JAN_2030 }, { expires: { datetime: '2030-01-01T00:00:00' } })]],
  ['expires=aware datetime +02:00',
    [sc('a', 'b', { expires: new Date('2029-12-31T22:00:00Z') }, { expires: { datetime: '2030-01-01T00:00:00+02:00' } })]],
  ['expires=past datetime → Max-Age=0',
    [sc('a', 'b', { expires: new Date(Date.UTC(2000, 0, 1)) }, { expires: { datetime: '2000-01-01T00:00:00' } })]],
  ['expires=past datetime and max_age=3600 (3.2 silently keeps the computed 0)',
    [sc('a', 'b', { expires: new Date(Date.UTC(2000, 0, 1)), max_age: 3600 }, { expires: { datetime: '2000-01-01T00:00:00' }, max_age: 3600 })]],
  ['expires string alone', [sc('a', 'b', { expires: 'Wed, 21 Oct 2015 07:28:00 GMT' }, { expires: 'Wed, 21 Oct 2015 07:28:00 GMT' })]],
  ['expires string and max_age: both rendered',
    [sc('a', 'b', { expires: 'Wed, 21 Oct 2015 07:28:00 GMT', max_age: 60 }, { expires: 'Wed, 21 Oct 2015 07:28:00 GMT', max_age: 60 })]],
  ['max_age=10.6 → Max-Age=10, expires from the unrounded age', [sc('a', 'b', { max_age: 10.6 }, { max_age: 10.6 })]],
  ['max_age=0 and max_age=-5', [sc('a', 'b', { max_age: 0 }, { max_age: 0 }), sc('c', 'd', { max_age: -5 }, { max_age: -5 })]],
  ['path, domain, secure, httponly, samesite',
    [sc('a', 'b', { path: '/x', domain: '.example.com', secure: true, httponly: true, samesite: 'Strict' },
      { path: '/x', domain: '.example.com', secure: true, httponly: true, samesite: 'Strict' })]],
  ['samesite spelling is kept', [sc('a', 'b', { samesite: 'none' }, { samesite: 'none' }), sc('c', 'd', { samesite: 'LAX' }, { samesite: 'LAX' })]],
  ['path=None omits Path', [sc('a', 'b', { path: null }, { path: null })]],
  ['delete_cookie with path and domain', [dc('c', { path: '/p', domain: '.ex.com' })]],
  ['delete_cookie of __Secure- and __Host- names adds Secure', [dc('__Secure-c'), dc('__Host-c')]],
  ['delete_cookie with samesite=None adds Secure; lax does not', [dc('c', { samesite: 'None' }), dc('d', { samesite: 'lax' })]],
  ['set, delete, set again on one response: the stale Max-Age=0 is kept (Python Morsel quirk)',
    [sc('c', 'old'), dc('c'), sc('c', 'new')]],
  ['set with max_age, then again without: the stale Max-Age is kept', [sc('c', 'v', { max_age: 60 }, { max_age: 60 }), sc('c', 'w')]],
  ['value quoting', [
    sc('sp', 'hello world'), sc('dq', 'has"quote'), sc('semi', 'semi;colon'), sc('comma', 'comma,val'),
    sc('bs', 'back\\slash'), sc('latin', 'héllo'), sc('pound', '£'), sc('cjk', '清風'), sc('empty', ''),
    sc('eq', 'a=b'), sc('json', '{"a":1}'), sc('tab', 'tab\tchar'), sc('token', "abc!#$%&'*+-.^_`|~:"),
  ]],
];

function tango_response(calls: Call[]): Record<string, string> {
  const response = new HttpResponse();
  for (const c of calls) {
    if (c.method === 'set_cookie') response.set_cookie(c.args[0], c.args[1], c.tango);
    else response.delete_cookie(c.args[0], c.tango as { path?: string; domain?: string; samesite?: string });
  }
  return Object.fromEntries([...response.cookies].map(([name, morsel]) => [name, morsel.output()]));
}

describe_with_django('Set-Cookie: Tango renders what Django 3.2 renders', () => {
  const django = new Django({ SECRET_KEY });
  let django_cookies: Array<Record<string, string>>;
  let tango_cookies: Array<Record<string, string>>;

  beforeAll(async () => {
    configure({ SECRET_KEY });
    const results = await django.run(RESPONSES.map(([, calls]) => ({
      op: 'response_cookies',
      now: T,
      calls: calls.map((c) => ({ method: c.method, args: c.args, kwargs: c.django })),
    })));
    django_cookies = results.map((r) => must(r).cookies as Record<string, string>);
    tango_cookies = RESPONSES.map(([, calls]) => at(T, () => tango_response(calls)));
  });

  describe.each(RESPONSES.map(([name], i) => [name, i] as const))('%s', (_name, i) => {
    test('the same cookies with the same parsed attributes', async () => {
      const parse = (cookies: Record<string, string>) =>
        Object.fromEntries(Object.entries(cookies).map(([k, v]) => [k, parse_set_cookie(v)]));
      expect(parse(tango_cookies[i])).toEqual(parse(django_cookies[i]));
    });

    test('byte for byte the same header (attribute order and date included)', async () => {
      expect(tango_cookies[i]).toEqual(django_cookies[i]);
    });
  });

  test('the tutorial expires+max_age case really lets expires win on both sides', async () => {
    const i = RESPONSES.findIndex(([name]) => name.startsWith('tutorial add_cookie_expires'));
    const parsed = parse_set_cookie(django_cookies[i].username);
    // datetime(2030,1,1) - now + 1 s (Django's rounding second), not the 25200 passed.
    expect(parsed.attrs['max-age']).toBe(String(Date.UTC(2030, 0, 1) / 1000 - T + 1));
    expect(parsed.attrs.expires).toBe('Tue, 01 Jan 2030 00:00:01 GMT');
    expect(parse_set_cookie(tango_cookies[i].username)).toEqual(parsed);
  });
});

describe_with_django('set_signed_cookie / get_signed_cookie against Django 3.2', () => {
  const django = new Django({ SECRET_KEY });

  beforeEach(() => configure({ SECRET_KEY }));

  function tango_signed(key: string, value: string, opts: SetCookieOptions & { salt?: string } = {}): string {
    const response = new HttpResponse();
    at(T, () => response.set_signed_cookie(key, value, opts));
    return response.cookies.get(key)!.output();
  }

  function tango_get(header: string, key: string, opts: { salt?: string; max_age?: number } = {}, now = T) {
    return at(now, () => outcome(() => new HttpRequest({ headers: { cookie: header } }).get_signed_cookie(key, undefined, opts)));
  }

  async function django_set(key: string, value: string, kwargs: Record<string, unknown> = {}, d: Django = django): Promise<string> {
    const r = await d.one({ op: 'response_cookies', now: T, calls: [{ method: 'set_signed_cookie', args: [key, value], kwargs }] });
    return (r.cookies as Record<string, string>)[key];
  }

  test('Tango writes the current (v2) salt form: the reference vectors, byte for byte', async () => {
    expect(parse_set_cookie(tango_signed('basket', '3', { salt: 'shop' })).value).toBe('3:1r31eq:nJwKzJM4LveRJzjFtT1PuUBue0W_91W8EqgQ3ey420A');
    expect(parse_set_cookie(tango_signed('c', 'hello')).value).toBe('hello:1r31eq:HFUfOKYeNcQC7QUu5Et0BkCP_BiSMVdi3Dflr3KlYoY');
    expect(tango_signed('c', 'hello', { max_age: 100 })).toBe(
      'c=hello:1r31eq:HFUfOKYeNcQC7QUu5Et0BkCP_BiSMVdi3Dflr3KlYoY; expires=Tue, 14 Nov 2023 22:15:00 GMT; Max-Age=100; Path=/');
  });

  test("Django's own cookie signer, given the v2 salt (what Django ≥ 5.2.15 uses), verifies Tango's cookies", async () => {
    const cases: Array<[string, string, string]> = [['basket', '3', 'shop'], ['c', 'hello', ''], ['signed_user', 'zhiliao', 'demo'], ['n', 'héllo 清風', 'sel']];
    const values = cases.map(([k, v, salt]) => new HttpRequest({ headers: { cookie: tango_signed(k, v, { salt }).split(';')[0] } }).COOKIES.get(k)!);
    const results = await django.run(cases.map(([k, , salt], i) => ({ op: 'cookie_signer_unsign', salt: cookie_signer_salt(k, salt), value: values[i], now: T })));
    expect(results.map((r) => must(r).value)).toEqual(cases.map(([, v]) => v));
  });

  test('Django 3.2 writes the legacy salt form: the reference vectors', async () => {
    expect(parse_set_cookie(await django_set('basket', '3', { salt: 'shop' })).value).toBe('3:1r31eq:GGXqNEURqM74RTBT2848Fn-LHTCcIvKfG-WOUleFdiY');
    expect(parse_set_cookie(await django_set('c', 'hello')).value).toBe('hello:1r31eq:MSXRzwQghgwVEky7-5XUShZnN7mMFoFiEdCIAKOpFWI');
  });

  test('the tutorial add_signed_cookie: same attributes from both sides, only the signature differs (v2 vs legacy salt)', async () => {
    const tango = parse_set_cookie(tango_signed('signed_user', 'zhiliao', { salt: 'demo', max_age: 3600 }));
    const dj = parse_set_cookie(await django_set('signed_user', 'zhiliao', { salt: 'demo', max_age: 3600 }));
    expect(tango.attrs).toEqual(dj.attrs);
    expect(tango.value.split(':').slice(0, 2)).toEqual(dj.value.split(':').slice(0, 2));
    expect(tango.value).not.toBe(dj.value);
  });

  test('a cookie Django 3.2 issued (legacy salt) is accepted while SIGNED_COOKIE_LEGACY_SALT_FALLBACK is true', async () => {
    const header = (await django_set('basket', '3', { salt: 'shop' })).split(';')[0];
    configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: true });
    expect(tango_get(header, 'basket', { salt: 'shop' })).toEqual({ ok: true, value: '3' });
    // A value with characters that force cookie quoting goes through the same path.
    const quoted = (await django_set('n', 'héllo 清風', { salt: 'sel' })).split(';')[0];
    expect(quoted.startsWith('n="')).toBe(true);
    expect(tango_get(quoted, 'n', { salt: 'sel' })).toEqual({ ok: true, value: 'héllo 清風' });
  });

  test('and refused when it is false (BadSignature; the default when one is given)', async () => {
    const header = (await django_set('basket', '3', { salt: 'shop' })).split(';')[0];
    configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: false });
    expect(tango_get(header, 'basket', { salt: 'shop' })).toMatchObject({ ok: false, error: 'BadSignature' });
    const req = new HttpRequest({ headers: { cookie: header } });
    expect(at(T, () => req.get_signed_cookie('basket', 'fallback', { salt: 'shop' }))).toBe('fallback');
  });

  test('max_age: a legacy cookie past its age is SignatureExpired on both sides, not a silent fallback', async () => {
    const header = (await django_set('basket', '3', { salt: 'shop' })).split(';')[0];
    const [fresh, stale] = await django.run([
      { op: 'get_signed_cookie', cookie_header: header, key: 'basket', salt: 'shop', max_age: 60, now: T + 60 },
      { op: 'get_signed_cookie', cookie_header: header, key: 'basket', salt: 'shop', max_age: 60, now: T + 61 },
    ]);
    expect(must(fresh).value).toBe('3');
    expect(stale).toMatchObject({ ok: false, error: 'SignatureExpired', message: 'Signature age 61.0 > 60 seconds' });
    expect(tango_get(header, 'basket', { salt: 'shop', max_age: 60 }, T + 60)).toEqual({ ok: true, value: '3' });
    expect(tango_get(header, 'basket', { salt: 'shop', max_age: 60 }, T + 61)).toEqual(
      { ok: false, error: stale.error, message: stale.message });
  });

  test('Django 3.2 refuses the v2 cookies Tango writes (it predates the v2 salt): a documented one-way limit', async () => {
    const header = tango_signed('basket', '3', { salt: 'shop' }).split(';')[0];
    const [r] = await django.run([{ op: 'get_signed_cookie', cookie_header: header, key: 'basket', salt: 'shop', now: T }]);
    expect(r).toMatchObject({ ok: false, error: 'BadSignature' });
  });

  describe('SECRET_KEY_FALLBACKS', () => {
    const OLD = 'django-insecure-old-key';
    const NEW = 'django-insecure-new-key';
    const django_old = new Django({ SECRET_KEY: OLD });
    const django_new = new Django({ SECRET_KEY: NEW });

    test('a cookie signed with a key Tango holds in SECRET_KEY_FALLBACKS is accepted (legacy and v2 forms)', async () => {
      const legacy = (await django_set('basket', '3', { salt: 'shop' }, django_old)).split(';')[0];
      const v2 = (await django_old.one({ op: 'cookie_signer_sign', salt: cookie_signer_salt('basket', 'shop'), value: '3', now: T })).value as string;
      configure({ SECRET_KEY: NEW, SECRET_KEY_FALLBACKS: [OLD] });
      expect(tango_get(legacy, 'basket', { salt: 'shop' })).toEqual({ ok: true, value: '3' });
      expect(tango_get(`basket=${v2}`, 'basket', { salt: 'shop' })).toEqual({ ok: true, value: '3' });
      // Without the fallback the same cookies are refused: it is the fallback that accepts them.
      configure({ SECRET_KEY: NEW });
      expect(tango_get(legacy, 'basket', { salt: 'shop' })).toMatchObject({ ok: false, error: 'BadSignature' });
      expect(tango_get(`basket=${v2}`, 'basket', { salt: 'shop' })).toMatchObject({ ok: false, error: 'BadSignature' });
    });

    test('nothing is signed with a fallback key: Django with the new key verifies, Django with the old key does not', async () => {
      configure({ SECRET_KEY: NEW, SECRET_KEY_FALLBACKS: [OLD] });
      const value = parse_set_cookie(tango_signed('basket', '3', { salt: 'shop' })).value;
      const op = { op: 'cookie_signer_unsign', salt: cookie_signer_salt('basket', 'shop'), value, now: T };
      const [with_new] = await django_new.run([op]);
      const [with_old]: Result[] = await django_old.run([op]);
      expect(must(with_new).value).toBe('3');
      expect(with_old).toMatchObject({ ok: false, error: 'BadSignature' });
    });
  });
});
