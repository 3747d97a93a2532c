/**
 * Issue 19, items 7 and 9: the checks signing makes cannot be switched off
 * by accident.
 *
 *   - A compressed signed value inflates to at most SIGNING_MAX_DECOMPRESSED_SIZE
 *     bytes (default 1 MiB); more is a BadSignature, even with the right key.
 *   - max_age is a number of seconds, Django's keyword written as an object
 *     (`{ max_age: 10 }`), or null/undefined; anything else is a TypeError,
 *     never a silently skipped expiry check.
 */
import { deflateSync } from 'node:zlib';
import { configure } from '../conf';
import { BadSignature, SignatureExpired } from '../errors';
import { sign_cookie_value, unsign_cookie_value } from '../http/signed_cookies';
import { b64_encode, dumps, loads, max_age_seconds, Signer, TimestampSigner } from '../signing';
import { SECRET_KEY, T, at, freeze_signing_each_test } from './frozen_signing';

freeze_signing_each_test();

const MiB = 1024 * 1024;

/** A correctly signed loads() value whose payload is `json` zlib-compressed (what dumps(compress=True) writes when it pays). */
function signed_compressed(json: string, salt = 'django.core.signing'): string {
  const payload = `.${b64_encode(deflateSync(Buffer.from(json, 'latin1')))}`;
  return new TimestampSigner({ salt }).sign(payload);
}

/** JSON of exactly `n` bytes: a string of n - 2 'a's. */
const json_of = (n: number) => JSON.stringify('a'.repeat(n - 2));

describe('item 7: inflating a signed value is capped', () => {
  afterEach(() => configure({ SECRET_KEY }));

  test('11 KB of signed cookie that inflates to 8 MB is a bad signature, with the right key', () => {
    const value = signed_compressed(json_of(8 * MiB));
    expect(value.length).toBeLessThan(12 * 1024);
    expect(() => loads(value)).toThrow(BadSignature);
    expect(() => loads(value)).toThrow(/inflates to more than 1048576 bytes/);
    // The same value is genuine: with the limit lifted it loads.
    expect((loads(value, { max_decompressed_size: null }) as string).length).toBe(8 * MiB - 2);
  });

  test('the default limit is 1 MiB, inclusive; the setting and the option move it', () => {
    expect((loads(signed_compressed(json_of(MiB))) as string).length).toBe(MiB - 2);
    expect(() => loads(signed_compressed(json_of(MiB + 1)))).toThrow(BadSignature);

    configure({ SECRET_KEY, SIGNING_MAX_DECOMPRESSED_SIZE: 1000 });
    expect(loads(signed_compressed(json_of(1000)))).toHaveLength(998);
    expect(() => loads(signed_compressed(json_of(1001)))).toThrow(BadSignature);
    expect(loads(signed_compressed(json_of(1001)), { max_decompressed_size: 1001 })).toHaveLength(999);

    configure({ SECRET_KEY, SIGNING_MAX_DECOMPRESSED_SIZE: null });
    expect((loads(signed_compressed(json_of(2 * MiB))) as string).length).toBe(2 * MiB - 2);
  });

  test('unsign_object takes the same limit; uncompressed values are not affected', () => {
    const signer = new Signer();
    const big = { data: 'x'.repeat(2 * MiB) };
    expect(() => signer.unsign_object(signer.sign_object(big, { compress: true }))).toThrow(BadSignature);
    expect(signer.unsign_object(signer.sign_object(big, { compress: true }), { max_decompressed_size: 3 * MiB })).toEqual(big);
    // Not compressed: nothing is inflated, the limit does not apply.
    expect(signer.unsign_object(signer.sign_object(big))).toEqual(big);
    expect(loads(dumps({ a: 1 }, { compress: true }))).toEqual({ a: 1 });
  });

  test('a bad limit is refused', () => {
    expect(() => configure({ SECRET_KEY, SIGNING_MAX_DECOMPRESSED_SIZE: 0 })).toThrow(/SIGNING_MAX_DECOMPRESSED_SIZE/);
    expect(() => configure({ SECRET_KEY, SIGNING_MAX_DECOMPRESSED_SIZE: '1MB' })).toThrow(/SIGNING_MAX_DECOMPRESSED_SIZE/);
    configure({ SECRET_KEY });
    expect(() => loads(dumps('x'), { max_decompressed_size: Number.NaN })).toThrow(TypeError);
  });
});

describe('item 9: max_age never turns the check off by being the wrong type', () => {
  const signer = new TimestampSigner({ key: 'predictable-key' });
  let ts = '';
  beforeEach(() => at(T - 11, () => { ts = signer.sign('hello'); }));

  test("unsign(value, { max_age }) is Django's keyword form, and is enforced", () => {
    expect(() => signer.unsign(ts, { max_age: 10 })).toThrow(SignatureExpired);
    expect(() => signer.unsign(ts, { max_age: 10 })).toThrow('Signature age 11.0 > 10 seconds');
    expect(signer.unsign(ts, { max_age: 11 })).toBe('hello');
    expect(signer.unsign(ts, { max_age: null })).toBe('hello');
    expect(signer.unsign(ts, {})).toBe('hello');
    expect(() => signer.unsign(ts, 10)).toThrow(SignatureExpired);
    expect(signer.unsign(ts, null)).toBe('hello');
    expect(signer.unsign(ts, undefined)).toBe('hello');
  });

  test.each<[string, unknown]>([
    ['a string', '10'],
    ['NaN', Number.NaN],
    ['a boolean', true],
    ['an array', [10]],
    ['a Date', new Date()],
    ['a misspelled keyword', { maxAge: 10 }],
    ['an extra keyword', { max_age: 10, salt: 'x' }],
    ['a keyword holding a string', { max_age: '10' }],
    ['a keyword holding NaN', { max_age: Number.NaN }],
  ])('%s as max_age is a TypeError everywhere', (_what, bad) => {
    const arg = bad as number;
    expect(() => signer.unsign(ts, arg)).toThrow(TypeError);
    expect(() => max_age_seconds(bad)).toThrow(TypeError);
    const v = dumps('x');
    expect(() => loads(v, { max_age: arg })).toThrow(TypeError);
    expect(() => new TimestampSigner().unsign_object(new TimestampSigner().sign_object('x'), { max_age: arg })).toThrow(TypeError);
    const cookie = sign_cookie_value('c', 'v');
    expect(() => unsign_cookie_value('c', cookie, { max_age: arg })).toThrow(TypeError);
  });

  test('a plain Signer refuses a max_age in either form (Django: TypeError)', () => {
    const plain = new Signer({ key: 'k' });
    const v = plain.sign('x');
    expect(() => plain.unsign(v, 10)).toThrow(TypeError);
    expect(() => plain.unsign(v, { max_age: 10 })).toThrow(TypeError);
    expect(plain.unsign(v, null)).toBe('x');
    expect(plain.unsign(v)).toBe('x');
  });

  test('get_signed_cookie honours max_age given as a number', () => {
    let cookie = '';
    at(T - 11, () => { cookie = sign_cookie_value('c', 'v'); });
    expect(() => unsign_cookie_value('c', cookie, { max_age: 10 })).toThrow(SignatureExpired);
    expect(unsign_cookie_value('c', cookie, { max_age: 11 })).toBe('v');
  });
});
