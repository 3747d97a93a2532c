/**
 * Signed-cookie values (set_signed_cookie in django/http/response.py,
 * get_signed_cookie in django/http/request.py), following Django's
 * tests/signed_cookies_tests/tests.py including the CVE-2026-6873 salt change.
 */
import { configure } from '../conf';
import { salted_hmac_key } from '../crypto';
import { BadSignature, SignatureExpired } from '../errors';
import {
  cookie_signer_salt,
  get_cookie_signer,
  legacy_cookie_signer_salt,
  sign_cookie_value,
  unsign_cookie_value,
} from '../http/signed_cookies';
import { Signer } from '../signing';
import { SECRET_KEY, at, freeze_signing_each_test } from './frozen_signing';

freeze_signing_each_test();


/** What a Django before 5.2.15 / 6.0.6 wrote for set_signed_cookie(name, value, salt=salt). */
function legacy_signed(name: string, value: string, salt = ''): string {
  return get_cookie_signer(legacy_cookie_signer_salt(name, salt)).sign(value);
}

function cookie_key_hex(key_salt: string): string {
  return salted_hmac_key(key_salt, Buffer.concat([Buffer.from('django.http.cookies'), Buffer.from(SECRET_KEY)]), 'sha256')
    .toString('hex');
}

describe('salts', () => {
  test('v2 salt is length-prefixed, counting code points', () => {
    expect(cookie_signer_salt('visits', '')).toBe('django.http.cookies.v2:0:visits');
    expect(cookie_signer_salt('basket', 'shop')).toBe('django.http.cookies.v2:4:shopbasket');
    expect(cookie_signer_salt('c', '😀')).toBe('django.http.cookies.v2:1:😀c');
    expect(legacy_cookie_signer_salt('basket', 'shop')).toBe('basketshop');
  });

  test('get_cookie_signer: a TimestampSigner keyed "django.http.cookies" + SECRET_KEY', () => {
    const signer = get_cookie_signer('x');
    expect(signer.salt).toBe('x');
    expect(Buffer.isBuffer(signer.key) && signer.key.toString()).toBe(`django.http.cookies${SECRET_KEY}`);
    expect(get_cookie_signer().salt).toBe('django.core.signing.get_cookie_signer');
  });
});

describe('Django vectors', () => {
  test('basket/shop, current and legacy', () => {
    expect(cookie_key_hex('django.http.cookies.v2:4:shopbasketsigner')).toBe(
      'c8a474d4e16f92fe77d1f336ee76944a26153a3981f253a0b450c914c920e458');
    expect(sign_cookie_value('basket', '3', 'shop')).toBe('3:1r31eq:nJwKzJM4LveRJzjFtT1PuUBue0W_91W8EqgQ3ey420A');
    expect(cookie_key_hex('basketshopsigner')).toBe('7f0fc75172a938a1491c42c84f90100fe7f130d2fcc418589f997b3164eaf47f');
    expect(legacy_signed('basket', '3', 'shop')).toBe('3:1r31eq:GGXqNEURqM74RTBT2848Fn-LHTCcIvKfG-WOUleFdiY');
  });

  test('c/hello, current and legacy', () => {
    expect(sign_cookie_value('c', 'hello')).toBe('hello:1r31eq:HFUfOKYeNcQC7QUu5Et0BkCP_BiSMVdi3Dflr3KlYoY');
    expect(legacy_signed('c', 'hello')).toBe('hello:1r31eq:MSXRzwQghgwVEky7-5XUShZnN7mMFoFiEdCIAKOpFWI');
  });

  test('the cookie key prefix separates cookie signatures from plain SECRET_KEY ones', () => {
    const plain = new Signer({ salt: cookie_signer_salt('c', '') }).sign('hello');
    expect(plain).not.toBe('hello:HFUfOKYeNcQC7QUu5Et0BkCP_BiSMVdi3Dflr3KlYoY');
    expect(() => unsign_cookie_value('c', plain, {})).toThrow(BadSignature);
  });
});

describe('get_signed_cookie behaviour', () => {
  test('116: the value starts with the plain value and round-trips', () => {
    const signed = sign_cookie_value('c', 'hello');
    expect(signed.startsWith('hello:')).toBe(true);
    expect(unsign_cookie_value('c', signed)).toBe('hello');
  });

  test('117: the salt must match', () => {
    const signed = sign_cookie_value('a', 'hello', 'one');
    expect(unsign_cookie_value('a', signed, { salt: 'one' })).toBe('hello');
    expect(() => unsign_cookie_value('a', signed, { salt: 'two' })).toThrow(BadSignature);
  });

  test('the cookie name is part of the salt', () => {
    const signed = sign_cookie_value('a', 'hello');
    expect(() => unsign_cookie_value('b', signed)).toThrow(BadSignature);
  });

  test('118: a v2 cookie "a"/"bc" cannot be replayed as "ab"/"c", fallback on or off', () => {
    const signed = sign_cookie_value('a', 'hello', 'bc');
    for (const fallback of [true, false]) {
      configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: fallback });
      expect(() => unsign_cookie_value('ab', signed, { salt: 'c' })).toThrow(BadSignature);
      expect(unsign_cookie_value('a', signed, { salt: 'bc' })).toBe('hello');
    }
  });

  test('119: with the fallback on, a legacy cookie is accepted (including the ambiguous pair)', () => {
    configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: true });
    const legacy = legacy_signed('a', 'hello', 'bc');
    expect(unsign_cookie_value('a', legacy, { salt: 'bc' })).toBe('hello');
    expect(unsign_cookie_value('ab', legacy, { salt: 'c' })).toBe('hello');
  });

  test('the fallback defaults to on (5.2.15+/6.0.6 default)', () => {
    expect(unsign_cookie_value('a', legacy_signed('a', 'hello', 'bc'), { salt: 'bc' })).toBe('hello');
  });

  test('120: with the fallback off (6.1 default), a legacy cookie is rejected', () => {
    configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: false });
    const legacy = legacy_signed('a', 'hello', 'bc');
    expect(() => unsign_cookie_value('a', legacy, { salt: 'bc' })).toThrow(BadSignature);
    expect(() => unsign_cookie_value('a', legacy, { salt: 'bc' })).toThrow(/^Signature ".*" does not match$/);
  });

  test('121: an expired legacy cookie → SignatureExpired from the retry', () => {
    configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: true });
    let legacy = '';
    at(123456789, () => { legacy = legacy_signed('c', 'hello'); });
    at(123456800, () => {
      expect(() => unsign_cookie_value('c', legacy, { max_age: 10 })).toThrow(SignatureExpired);
      expect(unsign_cookie_value('c', legacy, { max_age: 11 })).toBe('hello');
    });
  });

  test('122: an expired v2 cookie → SignatureExpired, without a legacy attempt', () => {
    configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: true });
    let signed = '';
    at(123456789, () => { signed = sign_cookie_value('c', 'hello'); });
    at(123456800, () => {
      // A legacy retry on a v2 cookie would fail as a mismatch, not as expired.
      expect(() => unsign_cookie_value('c', signed, { max_age: 10 })).toThrow(
        new SignatureExpired('Signature age 11.0 > 10 seconds'));
    });
  });

  test('123: a tampered signature → BadSignature, with the fallback on or off', () => {
    const signed = sign_cookie_value('c', 'hello');
    const tampered = `${signed.slice(0, -2)}$$`;
    for (const fallback of [true, false]) {
      configure({ SECRET_KEY, SIGNED_COOKIE_LEGACY_SALT_FALLBACK: fallback });
      expect(() => unsign_cookie_value('c', tampered)).toThrow(BadSignature);
    }
  });

  test('125: max_age boundary: age == max_age is accepted', () => {
    let signed = '';
    at(123456789, () => { signed = sign_cookie_value('c', 'hello'); });
    at(123456800, () => {
      expect(unsign_cookie_value('c', signed, { max_age: 12 })).toBe('hello');
      expect(unsign_cookie_value('c', signed, { max_age: 11 })).toBe('hello');
      expect(() => unsign_cookie_value('c', signed, { max_age: 10 })).toThrow(SignatureExpired);
    });
  });

  test('SECRET_KEY_FALLBACKS verify old cookies (with the cookie prefix) but new ones use SECRET_KEY', () => {
    configure({ SECRET_KEY: 'old-secret' });
    const old = sign_cookie_value('c', 'hello');
    configure({ SECRET_KEY, SECRET_KEY_FALLBACKS: ['old-secret'] });
    expect(unsign_cookie_value('c', old)).toBe('hello');
    expect(sign_cookie_value('c', 'hello')).toBe('hello:1r31eq:HFUfOKYeNcQC7QUu5Et0BkCP_BiSMVdi3Dflr3KlYoY');
    configure({ SECRET_KEY });
    expect(() => unsign_cookie_value('c', old)).toThrow(BadSignature);
  });

  test('127 (adapted): a bytes key round-trips; SECRET_KEY itself must be a str in Tango settings', () => {
    const signer = new Signer({ key: Buffer.concat([Buffer.from('django.http.cookies'), Buffer.from([0xe7])]) });
    expect(signer.unsign(signer.sign('hello'))).toBe('hello');
  });
});
