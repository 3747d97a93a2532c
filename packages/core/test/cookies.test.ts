// Vectors produced by CPython's Lib/http/cookies.py and Django's
// django/http/response.py set_cookie / django/http/cookie.py parse_cookie.
import fc from 'fast-check';
import { freeze_time, time } from '../clock';
import { TangoError } from '../errors';
import { http_date } from '../timezone';
import {
  CookieError, Morsel, SimpleCookie, cookie_quote, cookie_unquote, decode_cookie_header,
  delete_cookie, parse_cookie, set_cookie, validate_cookie_name, type SetCookieOptions,
} from '../http/cookies';

const T = 1700000000; // Tue, 14 Nov 2023 22:13:20 GMT
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';

let unfreeze: () => void;
beforeEach(() => {
  unfreeze = freeze_time(T * 1000);
});
afterEach(() => unfreeze());

function render(key: string, value?: string, opts?: SetCookieOptions): string {
  return set_cookie(new SimpleCookie(), key, value, opts).output();
}

// What crosses the network: the header's UTF-8 bytes, which Node shows as one
// Latin-1 char per byte.
function wire(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function read_back(header: string): Map<string, string> {
  return parse_cookie(decode_cookie_header(wire(header)));
}

function obj(m: Map<string, string>): Record<string, string> {
  return Object.fromEntries(m);
}

describe('set_cookie rendering', () => {
  test.each<[string, string, string | undefined, SetCookieOptions | undefined, string]>([
    ['value', 'a', 'b', undefined, 'a=b; Path=/'],
    ['no value', 'a', undefined, undefined, 'a=""; Path=/'],
    ['max_age 3600', 'a', 'b', { max_age: 3600 }, 'a=b; expires=Tue, 14 Nov 2023 23:13:20 GMT; Max-Age=3600; Path=/'],
    ['max_age 10.6', 'a', 'b', { max_age: 10.6 }, 'a=b; expires=Tue, 14 Nov 2023 22:13:30 GMT; Max-Age=10; Path=/'],
    ['max_age 0', 'a', 'b', { max_age: 0 }, 'a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/'],
    ['max_age -5', 'a', 'b', { max_age: -5 }, 'a=b; expires=Tue, 14 Nov 2023 22:13:15 GMT; Max-Age=-5; Path=/'],
    ['expires now+10s', 'a', 'b', { expires: new Date((T + 10) * 1000) },
      'a=b; expires=Tue, 14 Nov 2023 22:13:31 GMT; Max-Age=11; Path=/'],
    ['expires now+10s given at +02:00', 'a', 'b', { expires: new Date('2023-11-15T00:13:30+02:00') },
      'a=b; expires=Tue, 14 Nov 2023 22:13:31 GMT; Max-Age=11; Path=/'],
    ['expires now+10.5s', 'a', 'b', { expires: new Date((T + 10.5) * 1000) },
      'a=b; expires=Tue, 14 Nov 2023 22:13:31 GMT; Max-Age=11; Path=/'],
    ['expires in the past', 'a', 'b', { expires: new Date(Date.UTC(2000, 0, 1)) },
      'a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/'],
    ['expires 2030', 'a', 'b', { expires: new Date(Date.UTC(2030, 0, 1, 4, 5, 6)) },
      'a=b; expires=Tue, 01 Jan 2030 04:05:07 GMT; Max-Age=193470707; Path=/'],
    ['expires string', 'a', 'b', { expires: 'Wed, 21 Oct 2015 07:28:00 GMT' },
      'a=b; expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/'],
    ['expires string + max_age', 'a', 'b', { expires: 'Wed, 21 Oct 2015 07:28:00 GMT', max_age: 60 },
      'a=b; expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=60; Path=/'],
    ['path null', 'a', 'b', { path: null }, 'a=b'],
    ['path empty', 'a', 'b', { path: '' }, 'a=b'],
    ['all attributes', 'a', 'b', { path: '/x', domain: '.example.com', secure: true, httponly: true, samesite: 'Strict' },
      'a=b; Domain=.example.com; HttpOnly; Path=/x; SameSite=Strict; Secure'],
    ['samesite none', 'a', 'b', { samesite: 'none' }, 'a=b; Path=/; SameSite=none'],
    ['samesite LAX', 'a', 'b', { samesite: 'LAX' }, 'a=b; Path=/; SameSite=LAX'],
    ['samesite false', 'a', 'b', { samesite: false }, 'a=b; Path=/'],
    ['secure false, httponly false', 'a', 'b', { secure: false, httponly: false }, 'a=b; Path=/'],
    ['partitioned sorts between Max-Age and Path', 'a', 'b',
      { max_age: 60, domain: 'd.example', secure: true, httponly: true, samesite: 'None', partitioned: true },
      'a=b; Domain=d.example; expires=Tue, 14 Nov 2023 22:14:20 GMT; HttpOnly; Max-Age=60; Partitioned; Path=/; SameSite=None; Secure'],
  ])('%s', (_label, key, value, opts, expected) => {
    expect(render(key, value, opts)).toBe(expected);
  });

  test.each([
    ['hello world', 'c="hello world"; Path=/'],
    ['has"quote', 'c="has\\"quote"; Path=/'],
    ['semi;colon', 'c="semi\\073colon"; Path=/'],
    ['comma,val', 'c="comma\\054val"; Path=/'],
    ['back\\slash', 'c="back\\\\slash"; Path=/'],
    ['héllo', 'c="h\\351llo"; Path=/'],
    ['£', 'c="\\243"; Path=/'],
    ['清風', 'c="清風"; Path=/'],
    ['a=b', 'c="a=b"; Path=/'],
    ['x:y/z', 'c="x:y/z"; Path=/'],
    ['{json}', 'c="{json}"; Path=/'],
    ['[brackets]', 'c="[brackets]"; Path=/'],
    ['tab\tchar', 'c="tab\\011char"; Path=/'],
    ['line\nbreak', 'c="line\\012break"; Path=/'],
  ])('value %j', (value, expected) => {
    expect(render('c', value)).toBe(expected);
  });

  test('samesite must be lax, none or strict', () => {
    expect(() => render('a', 'b', { samesite: 'invalid' })).toThrow(CookieError);
    expect(() => render('a', 'b', { samesite: 'invalid' })).toThrow('samesite must be "lax", "none", or "strict".');
  });

  test('samesite is stored as spelled', () => {
    for (const s of ['None', 'Lax', 'strict']) {
      expect(set_cookie(new SimpleCookie(), 'a', 'b', { samesite: s }).samesite).toBe(s);
    }
  });

  test('re-setting keeps stale attributes but recomputes expires', () => {
    const jar = new SimpleCookie();
    expect(set_cookie(jar, 'c', 'old').expires).toBe('');
    expect(delete_cookie(jar, 'c').expires).toBe(EPOCH);
    const m = set_cookie(jar, 'c', 'new');
    expect(m.expires).toBe('');
    expect(m.output()).toBe('c=new; Max-Age=0; Path=/');
    expect(jar.size).toBe(1);

    const jar2 = new SimpleCookie();
    set_cookie(jar2, 'c', 'v', { max_age: 60, domain: 'x.example', secure: true, httponly: true, samesite: 'Lax' });
    expect(set_cookie(jar2, 'c', 'w', { path: null }).output())
      .toBe('c=w; Domain=x.example; HttpOnly; Max-Age=60; Path=/; SameSite=Lax; Secure');
  });
});

describe('expires and max_age', () => {
  test('a Date 10 s ahead, read after a small delay, gives max-age 10 (98, 99)', () => {
    const expires = new Date((T + 10) * 1000);
    unfreeze();
    unfreeze = freeze_time(T * 1000 + 1);
    const m = set_cookie(new SimpleCookie(), 'c', 'v', { expires });
    expect(m.max_age).toBe(10);
    expect(m.expires).toBe(http_date(T + 10.001));
  });

  test('a Date two years ahead renders that instant or one second later (101)', () => {
    unfreeze();
    unfreeze = () => undefined; // real clock for this one
    const year = new Date().getUTCFullYear() + 2;
    const at = Date.UTC(year, 0, 1, 4, 5, 6);
    const m = set_cookie(new SimpleCookie(), 'c', 'v', { expires: new Date(at) });
    expect([http_date(at / 1000), http_date(at / 1000 + 1)]).toContain(m.expires);
  });

  test('max_age 10 at a frozen T (102, 103)', () => {
    const m = set_cookie(new SimpleCookie(), 'c', 'v', { max_age: 10 });
    expect(m.max_age).toBe(10);
    expect(m.expires).toBe(http_date(T + 10));
    expect(set_cookie(new SimpleCookie(), 'c', 'v', { max_age: 10.6 }).max_age).toBe(10);
    expect(set_cookie(new SimpleCookie(), 'c', 'v', { max_age: -0.5 }).output()).toContain('; Max-Age=0;');
  });

  test('a Date expires wins over max_age instead of raising (deliberate: as Django 3.2, not current django/http/response.py)', () => {
    expect(render('a', 'b', { expires: new Date(Date.UTC(2000, 0, 1)), max_age: 3600 }))
      .toBe('a=b; expires=Tue, 14 Nov 2023 22:13:20 GMT; Max-Age=0; Path=/');
    expect(render('a', 'b', { expires: new Date((T + 100) * 1000), max_age: 5 }))
      .toBe('a=b; expires=Tue, 14 Nov 2023 22:15:01 GMT; Max-Age=101; Path=/');
  });

  test('an empty expires string is no expires', () => {
    expect(render('a', 'b', { expires: '' })).toBe('a=b; Path=/');
    expect(render('a', 'b', { expires: '', max_age: 1 }))
      .toBe('a=b; expires=Tue, 14 Nov 2023 22:13:21 GMT; Max-Age=1; Path=/');
  });

  test('unusable max_age or expires is refused', () => {
    expect(() => render('a', 'b', { max_age: Number.NaN })).toThrow(CookieError);
    expect(() => render('a', 'b', { max_age: Infinity })).toThrow(CookieError);
    expect(() => render('a', 'b', { max_age: 1e300 })).toThrow(/out of range/);
    expect(() => render('a', 'b', { expires: new Date('not a date') })).toThrow(CookieError);
  });

  test('httponly (106) and a Unicode value (107)', () => {
    const m = set_cookie(new SimpleCookie(), 'c', '清風', { httponly: true });
    expect(m.httponly).toBe(true);
    expect(m.output()).toContain('; HttpOnly');
    expect(m.value).toBe('清風');
    expect(m.coded_value).toBe('"清風"');
  });
});

describe('delete_cookie', () => {
  test.each<[string, string, Parameters<typeof delete_cookie>[2], string]>([
    ['plain', 'c', undefined, `c=""; expires=${EPOCH}; Max-Age=0; Path=/`],
    ['path and domain', 'c', { path: '/p', domain: '.ex.com' }, `c=""; Domain=.ex.com; expires=${EPOCH}; Max-Age=0; Path=/p`],
    ['__Secure- name', '__Secure-c', undefined, `__Secure-c=""; expires=${EPOCH}; Max-Age=0; Path=/; Secure`],
    ['__Host- name', '__Host-c', undefined, `__Host-c=""; expires=${EPOCH}; Max-Age=0; Path=/; Secure`],
    ['samesite None', 'c', { samesite: 'None' }, `c=""; expires=${EPOCH}; Max-Age=0; Path=/; SameSite=None; Secure`],
    ['samesite none', 'c', { samesite: 'none' }, `c=""; expires=${EPOCH}; Max-Age=0; Path=/; SameSite=none; Secure`],
    ['samesite lax', 'c', { samesite: 'lax' }, `c=""; expires=${EPOCH}; Max-Age=0; Path=/; SameSite=lax`],
  ])('%s', (_label, key, opts, expected) => {
    expect(delete_cookie(new SimpleCookie(), key, opts).output()).toBe(expected);
  });

  test('attributes of a deleted cookie (110)', () => {
    const m = delete_cookie(new SimpleCookie(), 'c');
    expect(m.expires).toBe(EPOCH);
    expect(m.max_age).toBe(0);
    expect(m.path).toBe('/');
    expect(m.secure).toBe(false);
    expect(m.httponly).toBe(false);
    expect(m.domain).toBeNull();
    expect(m.samesite).toBeNull();
    expect(m.value).toBe('');
  });

  test('session deletion header', () => {
    expect(delete_cookie(new SimpleCookie(), 'sessionid', { samesite: 'Lax' }).output())
      .toBe(`sessionid=""; expires=${EPOCH}; Max-Age=0; Path=/; SameSite=Lax`);
    expect(delete_cookie(new SimpleCookie(), 'sessionid', { path: '/example/', domain: '.example.local', samesite: 'Lax' }).output())
      .toBe(`sessionid=""; Domain=.example.local; expires=${EPOCH}; Max-Age=0; Path=/example/; SameSite=Lax`);
  });
});

describe('cookie_quote / cookie_unquote', () => {
  test.each([
    ['', '""'],
    ['abcXYZ019', 'abcXYZ019'],
    ["!#$%&'*+-.^_`|~:", "!#$%&'*+-.^_`|~:"],
    ['a b', '"a b"'],
    [' ()/<=>?@[]{}', '" ()/<=>?@[]{}"'],
    ['"', '"\\""'],
    ['\\', '"\\\\"'],
    [';', '"\\073"'],
    [',', '"\\054"'],
    ['\r\n', '"\\015\\012"'],
    ['\x00', '"\\000"'],
    ['\x7f', '"\\177"'],
    ['\x85', '"\\205"'],
    ['é', '"\\351"'],
    ['ÿ', '"\\377"'],
    ['Ā', '"Ā"'],
    ['😀', '"😀"'],
    ['a;b,c"d\\e', '"a\\073b\\054c\\"d\\\\e"'],
  ])('%j → %s', (value, quoted) => {
    expect(cookie_quote(value)).toBe(quoted);
    expect(cookie_unquote(quoted)).toBe(value);
  });

  test.each([
    ['', ''],
    ['"', '"'],
    ['""', ''],
    ['a"', 'a"'],
    ['"a', '"a'],
    ['\\101', '\\101'],
    ['"\\101\\102"', 'AB'],
    ['"\\400"', '400'], // first octal digit only 0-3: `\4` is just 4
    ['"\\08"', '08'],
    ['"\\"x\\""', '"x"'],
    ['"\\\\012"', '\\012'],
    ['"a\\"', 'a\\'], // a lone trailing backslash stays
    ['"\\\n"', '\\\n'], // `\` + newline is not an escape (Python's `.`)
    ['"\\😀"', '😀'],
    ['"\\303\\251"', 'Ã©'], // escaped UTF-8 bytes stay Latin-1 chars, as in Django
  ])('unquote %j → %j', (quoted, value) => {
    expect(cookie_unquote(quoted)).toBe(value);
  });
});

describe('parse_cookie', () => {
  test.each<[string, Record<string, string>]>([
    ['chips=ahoy; vienna=finger', { chips: 'ahoy', vienna: 'finger' }],
    [String.raw`keebler="E=mc2; L=\"Loves\"; fudge=\012;"`,
      { keebler: '"E=mc2', L: String.raw`\"Loves\"`, fudge: String.raw`\012`, '': '"' }],
    ['keebler=E=mc2', { keebler: 'E=mc2' }],
    ['key:term=value:term', { 'key:term': 'value:term' }],
    ['a=b; c=[; d=r; f=h', { a: 'b', c: '[', d: 'r', f: 'h' }],
    ['a=b; Domain=example.com', { a: 'b', Domain: 'example.com' }],
    ['a=b; h=i; a=c', { a: 'c', h: 'i' }],
    ['abc=def; unnamed; django_language=en', { abc: 'def', '': 'unnamed', django_language: 'en' }],
    ['a=b; "; c=d', { a: 'b', '': '"', c: 'd' }],
    ['a b c=d e = f; gh=i', { 'a b c': 'd e = f', gh: 'i' }],
    ['a   b,c<>@:/[]?{}=d  "  =e,f g', { 'a   b,c<>@:/[]?{}': 'd  "  =e,f g' }],
    ['saint=André Bessette', { saint: 'André Bessette' }],
    ['  =  b  ;  ;  =  ;   c  =  ;  ', { '': 'b', c: '' }],
    ['good_cookie=yes;bad:cookie=yes', { good_cookie: 'yes', 'bad:cookie': 'yes' }],
    ['a:=b; a:=c; good_cookie=yes', { 'a:': 'c', good_cookie: 'yes' }],
    ['a="b"', { a: 'b' }],
    ['a="b c"', { a: 'b c' }],
    [String.raw`a="\"x\""`, { a: '"x"' }],
    [String.raw`a="\101\102"`, { a: 'AB' }],
    ['a="é"', { a: 'é' }],
    [String.raw`a=\101`, { a: String.raw`\101` }],
    ['a="', { a: '"' }],
    ['a=""', { a: '' }],
    ['', {}],
    [';', {}],
    ['=', {}],
    ['a', { '': 'a' }],
    ['a=1,b=2', { a: '1,b=2' }],
    ['a=1;;b=2', { a: '1', b: '2' }],
    ['a=%20x', { a: '%20x' }],
    [String.raw`test="An\054awkward\073value"`, { test: 'An,awkward;value' }],
    [String.raw`a="\303\251"`, { a: 'Ã©' }],
  ])('%j', (header, expected) => {
    expect(obj(parse_cookie(header))).toEqual(expected);
    // The same header as bytes off the wire, decoded as Django's WSGI handler does.
    expect(obj(read_back(header))).toEqual(expected);
  });

  test('a duplicate keeps the first position but the last value, like a Python dict', () => {
    expect([...parse_cookie('a=1; b=2; a=3')]).toEqual([['a', '3'], ['b', '2']]);
  });

  test('strips Python whitespace, not JS whitespace', () => {
    expect(obj(parse_cookie('a=\x1cb\x1f; c=\x85d\u3000'))).toEqual({ a: 'b', c: 'd' });
    expect(obj(parse_cookie('a=\ufeffb'))).toEqual({ a: '\ufeffb' });
  });

  test('the encode/decode round trip of an awkward value', () => {
    const m = set_cookie(new SimpleCookie(), 'test', 'An,awkward;value');
    expect(m.coded_value).toBe(String.raw`"An\054awkward\073value"`);
    expect(m.coded_value).not.toMatch(/[;,]/);
    expect(parse_cookie(`test=${m.coded_value}`).get('test')).toBe('An,awkward;value');
  });

  test.each([
    ['no =', 'abc; def ;ghi'],
    ['empty names', '=a; =b; =; ;=;'],
    ['quotes everywhere', '"""; a="; b=""""; "=""; \\"'],
    ['duplicates', 'a=1; a=2; a=3; a=4'],
    ['only separators', ';;;;;====;;;;'],
  ])('malformed header does not throw: %s', (_label, header) => {
    expect(() => parse_cookie(header)).not.toThrow();
    expect(() => read_back(header)).not.toThrow();
  });

  test('16 KB headers do not throw', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const random_bytes = Buffer.from(Array.from({ length: 16384 }, rnd)).toString('latin1');
    const headers = [
      'a'.repeat(16384),
      ';'.repeat(16384),
      '"'.repeat(16384),
      '\\'.repeat(16384),
      '=a;'.repeat(5461),
      `k="${'\\073'.repeat(4000)}"`,
      random_bytes,
      Array.from({ length: 800 }, (_, i) => `name${i}="v\\054${i}"`).join('; '),
    ];
    for (const h of headers) {
      expect(() => parse_cookie(decode_cookie_header(h))).not.toThrow();
    }
    expect(parse_cookie(headers[7]).size).toBe(800);
    expect(parse_cookie(headers[7]).get('name799')).toBe('v,799');
  });

  test('a huge header of chunks without = parses in linear time', () => {
    const header = 'x;'.repeat(500_000) + 'a=b';
    const started = process.hrtime.bigint();
    const parsed = parse_cookie(header);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(parsed.get('a')).toBe('b');
    expect(parsed.get('')).toBe('x');
    expect(ms).toBeLessThan(2000);
  });

  test('non-string input gives an empty map', () => {
    expect(parse_cookie(undefined as unknown as string).size).toBe(0);
  });
});

describe('decode_cookie_header', () => {
  test('ASCII is returned as is', () => {
    expect(decode_cookie_header('a=b; c="\\351"')).toBe('a=b; c="\\351"');
  });

  test('UTF-8 bytes seen as Latin-1 become text', () => {
    expect(decode_cookie_header(wire('name=张三; s=é😀'))).toBe('name=张三; s=é😀');
  });

  test('invalid UTF-8 is replaced, as with Python errors="replace"', () => {
    expect(decode_cookie_header('a=\xff\xfeb; c=\xe2\x82')).toBe('a=\ufffd\ufffdb; c=\ufffd');
    expect(decode_cookie_header('a=\xed\xa0\x80')).toBe('a=\ufffd\ufffd\ufffd');
  });

  test('a leading BOM is kept', () => {
    expect(decode_cookie_header('\xef\xbb\xbfa=b')).toBe('\ufeffa=b');
  });

  test('text that is not one char per byte is left alone', () => {
    expect(decode_cookie_header('a=é清')).toBe('a=é清');
  });
});

describe('round trip set_cookie → wire → parse_cookie', () => {
  test.each(['', 'zhiliao', '张三', 'a;b', 'a,b', 'say "hi"', 'back\\slash', 'a=b', ' spaced ', 'tab\t', 'é', '😀',
    '\r\nSet-Cookie: evil=1', '\x00\x7f\x85\xff', 'Ã©', '\\073', '"quoted"'])('%j', (value) => {
    const m = set_cookie(new SimpleCookie(), 'k', value);
    expect(m.value).toBe(value);
    expect(read_back(`k=${m.coded_value}`).get('k')).toBe(value);
    expect(read_back(`a=1; k=${m.coded_value}; z="2"`).get('k')).toBe(value);
  });
});

describe('header safety', () => {
  test.each(['a b', '', 'a\tb', 'a\r\nb', 'a\x00', 'a;b', 'a=b', 'a,b', 'a"b', 'é', '清', 'a/b', 'a(b)', 'a\x7f'])(
    'illegal name %j', (name) => {
      expect(() => validate_cookie_name(name)).toThrow(CookieError);
      expect(() => set_cookie(new SimpleCookie(), name, 'v')).toThrow(/^Illegal cookie name '.*': a cookie name must be made of ASCII token characters$/s);
    },
  );

  test('the error quotes the name like Python repr, without raw control characters', () => {
    expect(() => validate_cookie_name('a b')).toThrow("Illegal cookie name 'a b': a cookie name must be made of ASCII token characters");
    expect(() => validate_cookie_name('a\r\nb')).toThrow("Illegal cookie name 'a\\r\\nb'");
  });

  test.each(['expires', 'path', 'Path', 'comment', 'DOMAIN', 'max-age', 'secure', 'HttpOnly', 'version', 'samesite', 'Partitioned'])(
    'reserved name %j', (name) => {
      expect(() => set_cookie(new SimpleCookie(), name, 'v')).toThrow(`Attempt to set a reserved cookie name '${name}'`);
    },
  );

  test('legal names are accepted', () => {
    for (const name of ['sessionid', '__Host-x', "!#$%&'*+-.^_`|~:", 'Max-Age2', 'expiresX']) {
      expect(() => validate_cookie_name(name)).not.toThrow();
    }
  });

  test.each<[keyof SetCookieOptions, string]>([
    ['path', '/a;b'], ['path', '/a\r\nSet-Cookie: x=1'], ['path', '/\x00'], ['path', '/\x7f'],
    ['domain', 'ex.com; Secure'], ['domain', 'ex.com\n'], ['domain', 'ex\tcom'],
    ['expires', 'Wed, 21 Oct 2015; HttpOnly'], ['expires', 'Wed\r\n'],
  ])('%s %j is refused', (option, value) => {
    const jar = new SimpleCookie();
    expect(() => set_cookie(jar, 'c', 'v', { [option]: value })).toThrow(CookieError);
    expect(() => set_cookie(jar, 'c', 'v', { [option]: value })).toThrow(new RegExp(`^Invalid cookie ${option} `));
    expect(jar.size).toBe(0); // nothing half-set
  });

  test('a refused option leaves an existing cookie untouched', () => {
    const jar = new SimpleCookie();
    set_cookie(jar, 'c', 'old');
    expect(() => set_cookie(jar, 'c', 'new', { samesite: 'bogus' })).toThrow(CookieError);
    expect(jar.get('c')?.output()).toBe('c=old; Path=/');
  });

  test('delete_cookie checks path and domain too', () => {
    expect(() => delete_cookie(new SimpleCookie(), 'c', { path: '/;x' })).toThrow(CookieError);
    expect(() => delete_cookie(new SimpleCookie(), 'c', { domain: 'a\nb' })).toThrow(CookieError);
  });

  test('Morsel setters refuse unsafe attributes as well', () => {
    const m = new Morsel('c', 'v');
    expect(() => { m.path = '/;x'; }).toThrow(CookieError);
    expect(() => { m.domain = 'a\rb'; }).toThrow(CookieError);
    expect(() => { m.expires = 'x\n'; }).toThrow(CookieError);
    expect(() => { m.samesite = 'sometimes'; }).toThrow(CookieError);
    expect(() => new Morsel('a b')).toThrow(CookieError);
  });

  test('a lone surrogate cannot be sent, a surrogate pair can', () => {
    expect(() => set_cookie(new SimpleCookie(), 'c', 'a\ud800')).toThrow(CookieError);
    expect(() => set_cookie(new SimpleCookie(), 'c', '\udc00b')).toThrow(CookieError);
    expect(set_cookie(new SimpleCookie(), 'c', '\ud83d\ude00').coded_value).toBe('"😀"');
  });

  test('CookieError is a TangoError with its code', () => {
    const e = new CookieError('x');
    expect(e).toBeInstanceOf(TangoError);
    expect(e.code).toBe('TANGO_COOKIE_ERROR');
    expect(e.name).toBe('CookieError');
  });

  test('quoted values never carry a separator or control character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const q = cookie_quote(value);
        expect(q).not.toMatch(/[\x00-\x1f\x7f-\xff;,]/);
      }),
      { seed: 42, numRuns: 3000 },
    );
  });
});

describe('Morsel and SimpleCookie', () => {
  test('output is cached and re-rendered after any change', () => {
    const m = new Morsel('c', 'v');
    expect(m.output()).toBe('c=v');
    expect(m.output()).toBe('c=v');
    m.path = '/p';
    expect(m.output()).toBe('c=v; Path=/p');
    m.value = 'a b';
    expect(m.output()).toBe('c="a b"; Path=/p');
    m.max_age = 5.9;
    expect(m.max_age).toBe(5);
    m.secure = true;
    m.samesite = 'Strict';
    m.domain = 'ex.com';
    m.httponly = true;
    m.partitioned = true;
    m.expires = 'Wed, 21 Oct 2015 07:28:00 GMT';
    expect(String(m)).toBe('c="a b"; Domain=ex.com; expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly; Max-Age=5; Partitioned; Path=/p; SameSite=Strict; Secure');
    m.max_age = null;
    m.secure = false;
    m.samesite = null;
    expect(m.output()).toBe('c="a b"; Domain=ex.com; expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly; Partitioned; Path=/p');
  });

  test('set_value keeps the Morsel, set refuses a mismatched key', () => {
    const jar = new SimpleCookie();
    const first = jar.set_value('a', '1');
    expect(jar.set_value('a', '2')).toBe(first);
    expect(first.value).toBe('2');
    expect(() => jar.set('b', new Morsel('a', 'x'))).toThrow(CookieError);
    expect(() => jar.set_value('a b', 'x')).toThrow(CookieError);
    jar.set('b', new Morsel('b', 'x'));
    expect([...jar.keys()]).toEqual(['a', 'b']);
  });

  test('time() is the frozen clock', () => {
    expect(time()).toBe(T);
  });
});

describe('properties', () => {
  const special = fc.constantFrom(
    '"', '\\', ';', ',', ' ', '\t', '\n', '\r', '=', 'é', 'ÿ', '\x00', '\x7f', '\x85', '\u3000', '\ufeff',
    '0', '3', '7', 'a', '😀', '清', '\x1c',
  );
  const any_value = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: special }),
  );
  const legal_name = fc
    .string({ unit: fc.constantFrom(...'abcXYZ09!#$%&\'*+-.^_`|~:'), minLength: 1, maxLength: 12 })
    .filter((n) => !['expires', 'path', 'comment', 'domain', 'max-age', 'secure', 'httponly', 'version', 'samesite', 'partitioned'].includes(n.toLowerCase()));

  test('any string value round-trips through set_cookie, the wire and parse_cookie', () => {
    fc.assert(
      fc.property(any_value, (value) => {
        const m = set_cookie(new SimpleCookie(), 'k', value);
        expect(read_back(`k=${m.coded_value}`).get('k')).toBe(value);
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  test('a header of set cookies parses back to exactly those cookies, last one winning', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(legal_name, any_value), { maxLength: 8 }), (pairs) => {
        const header = pairs.map(([k, v]) => `${k}=${set_cookie(new SimpleCookie(), k, v).coded_value}`).join('; ');
        expect(read_back(header)).toEqual(new Map(pairs));
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  // Every value parse_cookie returns is either a piece of one `;` chunk or
  // the unquoting of a `"…"` piece of it.
  function derived_from(chunk: string, value: string): boolean {
    if (chunk.includes(value)) return true;
    const quotes: number[] = [];
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === '"') quotes.push(i);
    for (let a = 0; a < quotes.length; a++) {
      for (let b = a + 1; b < quotes.length; b++) {
        if (cookie_unquote(chunk.slice(quotes[a], quotes[b] + 1)) === value) return true;
      }
    }
    return false;
  }

  test('random headers never throw and only yield names and values that were sent', () => {
    const header_unit = fc.oneof(special, fc.constantFrom('a', 'b', '=', ';', '"', '\\', ' '));
    const header = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: header_unit, maxLength: 80 }),
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    fc.assert(
      fc.property(header, (raw) => {
        const text = decode_cookie_header(raw);
        const parsed = parse_cookie(text);
        const chunks = text.split(';');
        for (const [k, v] of parsed) {
          expect(k).not.toMatch(/[;=]/);
          const own = chunks.filter((c) => (k === '' ? true : c.includes('=') && c.slice(0, c.indexOf('=')).includes(k)));
          expect(own.length).toBeGreaterThan(0);
          expect(own.some((c) => derived_from(k === '' && !c.includes('=') ? c : c.slice(c.indexOf('=') + 1), v))).toBe(true);
        }
      }),
      { seed: 42, numRuns: 3000 },
    );
  });
});

describe('Morsel.non_ascii (whether the server must write the line as UTF-8 bytes)', () => {
  it('is true only when the Set-Cookie text has a character above U+007F', () => {
    const m = new Morsel('name', 'plain');
    expect(m.non_ascii).toBe(false);
    m.value = 'caf\u00e9'; // quoted as an octal escape: still ASCII text
    expect([m.coded_value, m.non_ascii]).toEqual(['"caf\\351"', false]);
    m.value = '\u5f20\u4e09';
    expect(m.non_ascii).toBe(true);
    m.value = 'ascii again';
    expect(m.non_ascii).toBe(false);
    m.path = '/\u00fcber/';
    expect(m.non_ascii).toBe(true);
    m.domain = 'example.com';
    expect(m.non_ascii).toBe(true);
    m.path = '/';
    expect(m.non_ascii).toBe(false);
    expect(/[^\x00-\x7f]/.test(m.output())).toBe(m.non_ascii);
  });

  it('a name or samesite that passed once does not let a bad one through', () => {
    expect(new Morsel('ok_name').key).toBe('ok_name');
    expect(() => new Morsel('bad name')).toThrow(CookieError);
    expect(() => new Morsel('Max-Age')).toThrow(/reserved/);
    const m = new Morsel('ok_name');
    m.samesite = 'Lax';
    expect(() => { m.samesite = 'Laxer'; }).toThrow(/samesite/);
    expect(m.samesite).toBe('Lax');
  });

  it('still refuses a lone surrogate in a value, and control characters in attributes', () => {
    const m = new Morsel('k', 'v');
    expect(() => { m.value = 'a\ud800b'; }).toThrow(/lone surrogate/);
    expect(() => { m.path = '/a;b'; }).toThrow(CookieError);
    expect(() => { m.domain = 'ex\u0000ample'; }).toThrow(CookieError);
    expect(m.value).toBe('v');
  });
});

describe('set_cookie hands its checked values to the Morsel without checking them again', () => {
  // The reference: the same cookie built through the Morsel's own checking setters.
  function through_setters(m: Morsel, value: string, o: { expires: string; max_age: number | null; path: string | null; domain: string | null }): Morsel {
    m.value = value;
    m.expires = o.expires;
    if (o.max_age !== null) m.max_age = o.max_age;
    if (o.path !== null) m.path = o.path;
    if (o.domain !== null) m.domain = o.domain;
    return m;
  }
  const text = fc.oneof(fc.constantFrom('/', '/\u00fcber/', '/\u5f20/', 'example.com', ''), fc.string({ unit: 'grapheme', maxLength: 6 }))
    .filter((s) => !/[\x00-\x1f\x7f;]/.test(s));
  const call = fc.record({
    value: fc.string({ unit: 'grapheme', maxLength: 8 }),
    max_age: fc.option(fc.integer({ min: -5, max: 100000 })),
    expires: fc.option(fc.constantFrom('Wed, 01 Jan 2031 00:00:00 GMT', 'l\u00e4ter')),
    path: fc.option(text),
    domain: fc.option(text),
  });

  it('renders the same Set-Cookie text and non_ascii as the setters, across re-sets of one cookie', () => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 4 }), (calls) => {
        const jar = new SimpleCookie();
        const reference = new Morsel('c');
        for (const c of calls) {
          const got = set_cookie(jar, 'c', c.value, c);
          const expires = c.expires ?? (c.max_age !== null ? http_date(time() + c.max_age) : '');
          through_setters(reference, c.value, { expires, max_age: c.max_age, path: c.path === undefined ? '/' : c.path, domain: c.domain });
          expect(jar.get('c')).toBe(got);
          expect([got.output(), got.non_ascii]).toEqual([reference.output(), reference.non_ascii]);
        }
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('a refused value or attribute leaves the jar as it was', () => {
    const jar = new SimpleCookie();
    set_cookie(jar, 'c', 'kept', { path: '/a/' });
    const before = jar.get('c')!.output();
    expect(() => set_cookie(jar, 'c', 'x\ud800', { path: '/b/' })).toThrow(/lone surrogate/);
    expect(() => set_cookie(jar, 'c', 'new', { domain: 'a;b' })).toThrow(CookieError);
    expect(() => set_cookie(jar, 'c', 'new', { expires: 'soon\r\nX: y' })).toThrow(CookieError);
    expect(() => set_cookie(jar, 'd', 'new', { path: '/\u0000' })).toThrow(CookieError);
    expect(jar.get('c')!.output()).toBe(before);
    expect(jar.has('d')).toBe(false);
  });
});
