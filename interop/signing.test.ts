/**
 * Issue 4, item 1: django.core.signing against real Django (3.2, whose
 * signing format is the current one: django/core/signing.py).
 *
 * For every input of the table, at pinned times on both sides:
 *   - Tango's dumps() is byte-identical to Django's dumps() (compressed too);
 *   - what Tango wrote at one instant, Django's loads() reads, and what Django
 *     wrote at another instant, Tango's loads() reads;
 *   - a wrong salt, a tampered byte and an expired max_age fail on both sides
 *     with the same exception class and message.
 */
import * as crypto from 'node:crypto';
import { freeze_time } from '../packages/core/clock';
import { configure } from '../packages/core/conf';
import { py_json_dumps } from '../packages/core/py_json';
import { dumps, loads, Signer, TimestampSigner } from '../packages/core/signing';
import { Django, describe_with_django, must, outcome, type Op, type Result } from './django';

// Django start-up alone can take seconds on a busy machine.
jest.setTimeout(60000);

const SECRET_KEY = 'django-insecure-example-secret';
const T = 1700000000; // the reference vectors' instant (base62 1r31eq)
const T_DJANGO = T + 4242; // Django writes the cross-read values at another instant
const SALT = 'interop.signing';

// An auth-like session dict, as django.contrib.auth leaves it.
const AUTH_LIKE = {
  _auth_user_id: '1',
  _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
  _auth_user_hash: '0'.repeat(64),
};

function at<R>(seconds: number, fn: () => R): R {
  const restore = freeze_time(seconds * 1000);
  try {
    return fn();
  } finally {
    restore();
  }
}

// Deterministic pseudo-random data, so a failure reproduces; crypto-grade randomness
// is not the point, incompressibility is.
function random_token(bytes: number, seed: string): string {
  let out = Buffer.alloc(0);
  for (let i = 0; out.length < bytes; i++) {
    out = Buffer.concat([out, crypto.createHash('sha256').update(`${seed}:${i}`).digest()]);
  }
  return out.subarray(0, bytes).toString('base64url');
}

const INPUTS: Array<[string, unknown]> = [
  ['ASCII string', 'hello'],
  ['empty string', ''],
  ['ASCII object', { user_id: 'zhiliao', visits: 3 }],
  ['Unicode (Latin-1, BMP, astral, DEL, controls)', 'héllo ✓ 清風 😀 \u007f\t\n"\\'],
  ['Unicode keys', { 'clé': 'valeur', '键': ['值'] }],
  ['nested objects and arrays', { a: [1, 2, { b: [true, false, null] }], c: { d: { e: 'f' } }, g: [], h: {} }],
  ['top-level array', [1, 'two', [3, [4, [5]]], { six: 6 }]],
  ['numbers', { int: 42, neg: -7, zero: 0, float: 1.5, tiny: 1e-7, big_int: 2 ** 53 - 1, third: 1 / 3 }],
  ['booleans', [true, false]],
  ['null', null],
  ['a number alone', 3.25],
  [
    'large compressible value',
    { rows: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `user ${i}`, role: i % 3 ? 'member' : 'admin', active: i % 2 === 0 })) },
  ],
  ['incompressible random token', random_token(30, 'token')],
  // Random text of the base64 alphabet still compresses a little (6 bits per byte):
  // pako and CPython's zlib must agree on the Huffman-only output bit for bit.
  ['large random text', random_token(6000, 'large')],
  // zlib.compress gives 12 bytes for this 13-byte JSON: 12 < 13 - 1 is false, so it stays plain.
  ['compression boundary: saves 1 byte (kept plain)', 'aaaaaaaaaaa'],
  // 14 bytes of JSON, 12 compressed: 12 < 13, so it is compressed.
  ['compression boundary: saves 2 bytes (compressed)', 'aaaaaaaaaaaa'],
];

describe_with_django('signing: Tango and Django 3.2 read each other', () => {
  const django = new Django({ SECRET_KEY });
  /** Tango's dumps at T (plain and compressed), Django's at T and at T_DJANGO, Django's loads of Tango's. */
  const tango_at_T: string[][] = [];
  let django_at_T: string[][];
  let django_later: string[][];
  let django_reads_tango: Result[][];

  beforeAll(async () => {
    configure({ SECRET_KEY });
    const ops: Op[] = [];
    INPUTS.forEach(([, obj], i) => {
      tango_at_T[i] = [false, true].map((compress) => at(T, () => dumps(obj, { salt: SALT, compress })));
      for (const compress of [false, true]) {
        ops.push({ op: 'dumps', obj, salt: SALT, compress, now: T });
        ops.push({ op: 'dumps', obj, salt: SALT, compress, now: T_DJANGO });
      }
      for (const value of tango_at_T[i]) ops.push({ op: 'loads', value, salt: SALT, now: T_DJANGO });
    });
    const results = await django.run(ops);
    django_at_T = [];
    django_later = [];
    django_reads_tango = [];
    INPUTS.forEach((_, i) => {
      const r = results.slice(i * 6, i * 6 + 6);
      django_at_T[i] = [must(r[0]).value as string, must(r[2]).value as string];
      django_later[i] = [must(r[1]).value as string, must(r[3]).value as string];
      django_reads_tango[i] = [r[4], r[5]];
    });
  });

  describe.each(INPUTS.map(([name, obj], i) => [name, obj, i] as const))('%s', (_name, obj, i) => {
    test('Tango dumps() is byte-identical to Django dumps() at the same instant, plain and compress=True', async () => {
      expect(tango_at_T[i][0]).toBe(django_at_T[i][0]);
      expect(tango_at_T[i][1]).toBe(django_at_T[i][1]);
    });

    test("Django loads() what Tango wrote: the same Python JSON text", async () => {
      for (const r of django_reads_tango[i]) expect(must(r).json).toBe(py_json_dumps(obj));
    });

    test("Tango loads() what Django wrote at another instant", async () => {
      for (const value of django_later[i]) {
        expect(value).not.toBe(django_at_T[i][0]);
        expect(at(T_DJANGO + 1, () => loads(value, { salt: SALT }))).toEqual(obj);
      }
    });
  });

  test('the table covers both branches of the compression rule', async () => {
    const packed = (name: string) => tango_at_T[INPUTS.findIndex(([n]) => n === name)][1].startsWith('.');
    for (const name of ['large compressible value', 'large random text', 'compression boundary: saves 2 bytes (compressed)']) {
      expect([name, packed(name)]).toEqual([name, true]);
    }
    for (const name of ['incompressible random token', 'compression boundary: saves 1 byte (kept plain)', 'ASCII object']) {
      expect([name, packed(name)]).toEqual([name, false]);
    }
  });
});

describe_with_django('signing: failures are the same failures on both sides', () => {
  const django = new Django({ SECRET_KEY });
  const obj = { user_id: 'zhiliao', cart: [1, 2, 3] };
  const big = { text: 'compress me '.repeat(50) };

  beforeAll(() => configure({ SECRET_KEY }));

  /** Flips one character of the b64 payload (not the marker), keeping the alphabet. */
  function tamper_payload(v: string): string {
    const i = v.startsWith('.') ? 3 : 2;
    return v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
  }

  function tamper_signature(v: string): string {
    const last = v[v.length - 1];
    return v.slice(0, -1) + (last === 'A' ? 'B' : 'A');
  }

  /** Each case: a value (written by Tango or Django at T) and how it is read; both readers must agree. */
  async function both_read(cases: Array<{ value: string; salt: string; max_age?: number; now: number }>) {
    const django_says = await django.run(cases.map((c) => ({ op: 'loads', value: c.value, salt: c.salt, max_age: c.max_age, now: c.now })));
    const tango_says = cases.map((c) => at(c.now, () => outcome(() => loads(c.value, { salt: c.salt, max_age: c.max_age }))));
    return { django_says, tango_says };
  }

  function comparable(r: Result | ReturnType<typeof outcome>): unknown {
    return r.ok ? { ok: true } : { ok: false, error: r.error, message: r.message };
  }

  const writers: Array<[string, (o: unknown, compress: boolean) => string | Promise<string>]> = [
    ['Tango', (o, compress) => at(T, () => dumps(o, { salt: SALT, compress }))],
    ['Django', async (o, compress) => (await django.one({ op: 'dumps', obj: o, salt: SALT, compress, now: T })).value as string],
  ];

  describe.each(writers)('written by %s', (_writer, write) => {
    test('a wrong salt → BadSignature on both sides, same message', async () => {
      const value = await write(obj, false);
      const { django_says, tango_says } = await both_read([{ value, salt: `${SALT}.other`, now: T }]);
      expect(comparable(django_says[0])).toEqual({ ok: false, error: 'BadSignature', message: expect.stringMatching(/^Signature ".*" does not match$/) });
      expect(comparable(tango_says[0])).toEqual(comparable(django_says[0]));
    });

    test('a tampered payload byte, signature byte or compression marker → BadSignature on both sides', async () => {
      const plain = await write(obj, false);
      const packed = await write(big, true);
      expect(packed.startsWith('.')).toBe(true);
      const tampered = [tamper_payload(plain), tamper_signature(plain), tamper_payload(packed), packed.slice(1), `.${plain}`];
      const { django_says, tango_says } = await both_read(tampered.map((value) => ({ value, salt: SALT, now: T })));
      for (let k = 0; k < tampered.length; k++) {
        expect(comparable(django_says[k])).toMatchObject({ ok: false, error: 'BadSignature' });
        expect(comparable(tango_says[k])).toEqual(comparable(django_says[k]));
      }
    });

    test('max_age: accepted at exactly max_age, SignatureExpired one second later, same message', async () => {
      const value = await write(obj, true);
      const { django_says, tango_says } = await both_read([
        { value, salt: SALT, max_age: 10, now: T + 10 },
        { value, salt: SALT, max_age: 10, now: T + 11 },
        { value, salt: SALT, max_age: 10, now: T + 10.5 },
      ]);
      expect(comparable(django_says[0])).toEqual({ ok: true });
      expect(comparable(django_says[1])).toEqual({ ok: false, error: 'SignatureExpired', message: 'Signature age 11.0 > 10 seconds' });
      expect(comparable(django_says[2])).toEqual({ ok: false, error: 'SignatureExpired', message: 'Signature age 10.5 > 10 seconds' });
      expect(tango_says.map(comparable)).toEqual(django_says.map(comparable));
    });
  });

  test('Python floats with integral values (1.0, 1e+16, 1.5e+300): Tango reads them as numbers and writes them back as ints (a documented loss)', async () => {
    // JSON.stringify cannot write such floats, so the driver parses this text
    // itself: Django holds three floats.
    const written = (await django.one({ op: 'dumps', obj_json: '{"f":1.0,"big":1e+16,"huge":1.5e+300,"x":1.5}', salt: SALT, now: T })).value as string;
    const read = at(T, () => loads(written, { salt: SALT })) as Record<string, number>;
    expect(read).toEqual({ f: 1, big: 1e16, huge: 1.5e300, x: 1.5 });
    const back = at(T, () => dumps(read, { salt: SALT }));
    // JS has one number type and Tango writes integral numbers as Python ints:
    // the values survive, their Python type does not.
    expect((await django.one({ op: 'loads', value: back, salt: SALT, now: T })).json).toBe(
      `{"f":1,"big":10000000000000000,"huge":${BigInt(1.5e300).toString()},"x":1.5}`);
  });
});

describe_with_django('signing: key rotation with SECRET_KEY_FALLBACKS', () => {
  const OLD = 'django-insecure-old-key';
  const NEW = 'django-insecure-new-key';
  // Django 3.2 has no SECRET_KEY_FALLBACKS; it signs and verifies with an explicit key.
  const django = new Django({ SECRET_KEY: NEW });

  beforeAll(() => configure({ SECRET_KEY: NEW, SECRET_KEY_FALLBACKS: [OLD] }));

  test('a value Django signed with the old key is accepted by Tango through the fallback', async () => {
    const [old_value] = await django.run([{ op: 'dumps', obj: { a: 1 }, key: OLD, salt: SALT, now: T }]);
    expect(at(T, () => loads(must(old_value).value as string, { salt: SALT }))).toEqual({ a: 1 });
    // And only through the fallback: without it the same value is refused.
    configure({ SECRET_KEY: NEW });
    try {
      expect(outcome(() => at(T, () => loads(old_value.value as string, { salt: SALT })))).toMatchObject({ ok: false, error: 'BadSignature' });
    } finally {
      configure({ SECRET_KEY: NEW, SECRET_KEY_FALLBACKS: [OLD] });
    }
  });

  test('Tango never signs with a fallback key: Django verifies with the new key only', async () => {
    const values = at(T, () => [
      dumps({ a: 1 }, { salt: SALT }),
      new Signer({ salt: SALT }).sign('v'),
      new TimestampSigner({ salt: SALT }).sign('v'),
    ]);
    const [with_new, with_old, sign_new, sign_old, ts_new, ts_old] = await django.run([
      { op: 'loads', value: values[0], salt: SALT, key: NEW, now: T },
      { op: 'loads', value: values[0], salt: SALT, key: OLD, now: T },
      { op: 'unsign', value: values[1], salt: SALT, key: NEW },
      { op: 'unsign', value: values[1], salt: SALT, key: OLD },
      { op: 'unsign', value: values[2], salt: SALT, key: NEW, timestamp: true, now: T },
      { op: 'unsign', value: values[2], salt: SALT, key: OLD, timestamp: true, now: T },
    ]);
    expect(must(with_new).json).toBe('{"a":1}');
    expect(must(sign_new).value).toBe('v');
    expect(must(ts_new).value).toBe('v');
    for (const r of [with_old, sign_old, ts_old]) expect(r).toMatchObject({ ok: false, error: 'BadSignature' });
  });
});

describe_with_django('signing: Django-made vectors, Tango and Django both reproduce them', () => {
  const django = new Django({ SECRET_KEY });
  beforeAll(() => configure({ SECRET_KEY }));

  // [what, Tango's call, the same call as a driver op, the reference vector]
  const VECTORS: Array<[string, () => string, Op, string]> = [
    ['Signer(key="predictable-secret").sign("foo")', () => new Signer({ key: 'predictable-secret' }).sign('foo'),
      { op: 'sign', key: 'predictable-secret', value: 'foo' }, 'foo:jZQoX_FtSO70jX9HLRGg2A_2s4kdDBxz1QoO_OpEQb0'],
    ['Signer(key="predictable-secret", salt="extra").sign("foo")', () => new Signer({ key: 'predictable-secret', salt: 'extra' }).sign('foo'),
      { op: 'sign', key: 'predictable-secret', salt: 'extra', value: 'foo' }, 'foo:VzlKXzyZre9f08-L-AnlawM_Zw6_ITfznLUdfKEcMf4'],
    ['TimestampSigner(key="predictable-key").sign("hello")', () => new TimestampSigner({ key: 'predictable-key' }).sign('hello'),
      { op: 'sign', key: 'predictable-key', value: 'hello', timestamp: true }, 'hello:1r31eq:6aarmvvrkzknCUHNvV1r5pVTF1uDQ-OsKtnSya9lXFI'],
    ['dumps("hello", key="predictable-key")', () => dumps('hello', { key: 'predictable-key' }),
      { op: 'dumps', obj: 'hello', key: 'predictable-key' }, 'ImhlbGxvIg:1r31eq:iB_FpYHUG9eJ-iPYIwHiNARN2pxC5rKvFntNpY-y7zg'],
    ['dumps({"a":1,"b":[1,2]})', () => dumps({ a: 1, b: [1, 2] }),
      { op: 'dumps', obj: { a: 1, b: [1, 2] } }, 'eyJhIjoxLCJiIjpbMSwyXX0:1r31eq:kUjT2at9xbGwva3cjfEVyQXHtOMX6yjHzKvtkKPZ91s'],
    ['dumps(list(range(1,20)), compress=True)', () => dumps(Array.from({ length: 19 }, (_, i) => i + 1), { compress: true }),
      { op: 'dumps', obj: Array.from({ length: 19 }, (_, i) => i + 1), compress: true },
      '.eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:hfO_TiE5syctOrTb5EGRQ4ciTbXiYcPg6HLZqXSxXVc'],
    ['dumps("héllo ✓")', () => dumps('héllo ✓'),
      { op: 'dumps', obj: 'héllo ✓' }, 'ImhcdTAwZTlsbG8gXHUyNzEzIg:1r31eq:zjA2VYLwEIphpFn2R68X6sbPHYA9zPF6IzqcFfrtRSY'],
    ['dumps({"foo":"bar"}, compress=True) (zlib not smaller: stays plain)', () => dumps({ foo: 'bar' }, { compress: true }),
      { op: 'dumps', obj: { foo: 'bar' }, compress: true }, 'eyJmb28iOiJiYXIifQ:1r31eq:4Wl9aAWgr-k3H1qdiI_FoROu2UmSTZ5xWsCYUnItJN8'],
    ['session data: dumps(auth dict, salt=SessionStore, compress=True)',
      () => dumps(AUTH_LIKE, { salt: 'django.contrib.sessions.SessionStore', compress: true }),
      { op: 'dumps', obj: AUTH_LIKE, salt: 'django.contrib.sessions.SessionStore', compress: true },
      '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOo2oBAo1QIAIvYyTQ:1r31eq:LlQ8QkR3jGd7uVgqJpGtZYtXETOWtcdNO0dNrCyoboY'],
  ];

  let django_values: string[];
  beforeAll(async () => {
    django_values = (await django.run(VECTORS.map(([, , op]) => ({ ...op, now: T })))).map((r) => must(r).value as string);
  });

  test.each(VECTORS.map(([what, fn, , vector], i) => [what, fn, vector, i] as const))('%s', (_what, fn, vector, i) => {
    expect(at(T, fn)).toBe(vector);
    expect(django_values[i]).toBe(vector);
  });
});
