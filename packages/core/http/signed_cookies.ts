/**
 * The signing half of HttpResponse.set_signed_cookie and
 * HttpRequest.get_signed_cookie (django/http/response.py, django/http/request.py,
 * django/core/signing.py get_cookie_signer), kept apart from cookie rendering
 * so both the request and the response side share one salt rule.
 */
import { set_bounded } from '../bounded_map';
import { settings } from '../conf';
import { BadSignature, SignatureExpired } from '../errors';
import { register_memo } from '../memos';
import { TimestampSigner, type SignableValue, type SigningKey } from '../signing';

const COOKIE_KEY_PREFIX_TEXT = 'django.http.cookies';
const COOKIE_KEY_PREFIX = Buffer.from(COOKIE_KEY_PREFIX_TEXT, 'utf8');

/**
 * The salt since Django 5.2.15 / 6.0.6 (CVE-2026-6873). The length prefix
 * makes (name, salt) pairs unambiguous: with the legacy `name + salt`, cookie
 * "a" salted "bc" and cookie "ab" salted "c" shared a signature. Python's
 * len() counts code points, hence the spread rather than .length.
 */
export function cookie_signer_salt(name: string, salt: string): string {
  return `django.http.cookies.v2:${[...salt].length}:${salt}${name}`;
}

/** The ambiguous pre-CVE-2026-6873 salt, still verified while SIGNED_COOKIE_LEGACY_SALT_FALLBACK is on. */
export function legacy_cookie_signer_salt(name: string, salt: string): string {
  return name + salt;
}

// django.core.signing._cookie_signer_key: the prefix keeps cookie signatures
// from being valid as signatures of anything else made with SECRET_KEY.
function cookie_signer_key(key: SigningKey): Buffer {
  return Buffer.concat([COOKIE_KEY_PREFIX, typeof key === 'string' ? Buffer.from(key, 'utf8') : key]);
}

/** django.core.signing.get_cookie_signer (settings read per call). */
export function get_cookie_signer(salt = 'django.core.signing.get_cookie_signer'): TimestampSigner {
  return new TimestampSigner({
    key: cookie_signer_key(settings.SECRET_KEY),
    fallback_keys: settings.SECRET_KEY_FALLBACKS.map(cookie_signer_key),
    salt,
  });
}

/**
 * The signer sign_cookie_value and unsign_cookie_value use: get_cookie_signer's
 * keys as strings. `'django.http.cookies' + key` encodes to the same bytes as
 * the prefix Buffer joined to the UTF-8 key (the prefix is ASCII, so no
 * surrogate can pair across the join), so signatures are unchanged, while the
 * per-request path skips a Buffer.concat per key and the signer's derived-key
 * cache can find the key by a string it has already hashed.
 */
function request_cookie_signer(salt: string): TimestampSigner {
  return new TimestampSigner({
    key: prefixed_cookie_key(settings.SECRET_KEY),
    fallback_keys: settings.SECRET_KEY_FALLBACKS.map(prefixed_cookie_key),
    salt,
  });
}

// The prefixed keys, by secret value. Returning the same string object each
// time matters: V8 caches a string's hash on the string, so the derived-key
// lookup that follows does not rehash ~70 characters per request. Bounded
// because settings can be reconfigured any number of times.
const PREFIXED_KEYS_LIMIT = 16;
const prefixed_keys = new Map<string, string>();
register_memo('http.signed_cookies.prefixed_keys', () => prefixed_keys.clear());

function prefixed_cookie_key(secret: string): string {
  let key = prefixed_keys.get(secret);
  if (key === undefined) {
    key = COOKIE_KEY_PREFIX_TEXT + secret;
    set_bounded(prefixed_keys, secret, key, PREFIXED_KEYS_LIMIT);
  }
  return key;
}

/** The value set_signed_cookie stores: always signed with the current (v2) salt. */
export function sign_cookie_value(name: string, value: SignableValue, salt = ''): string {
  return request_cookie_signer(cookie_signer_salt(name, salt)).sign(value);
}

/**
 * get_signed_cookie's verification. An expired v2 cookie is authentic, so it
 * is reported as expired rather than retried under the legacy salt; any other
 * failure gets one legacy attempt when the transitional setting allows it, and
 * that attempt's error is the one that surfaces.
 */
export function unsign_cookie_value(name: string, signed: string, opts: { salt?: string; max_age?: number } = {}): string {
  const salt = opts.salt ?? '';
  try {
    return request_cookie_signer(cookie_signer_salt(name, salt)).unsign(signed, opts.max_age);
  } catch (err) {
    if (!(err instanceof BadSignature) || err instanceof SignatureExpired) throw err;
    if (!settings.SIGNED_COOKIE_LEGACY_SALT_FALLBACK) throw err;
    return request_cookie_signer(legacy_cookie_signer_salt(name, salt)).unsign(signed, opts.max_age);
  }
}
