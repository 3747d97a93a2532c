/**
 * django.utils.crypto: the keyed-hash and randomness primitives that signing,
 * sessions and CSRF build on.
 */
import * as nodeCrypto from 'node:crypto';
import { InvalidAlgorithm } from './errors';
import { settings } from './conf';
import { register_memo } from './memos';

/** Django's alphabet for session keys (django.contrib.sessions.backends.base). */
export const VALID_KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** django.utils.crypto.RANDOM_STRING_CHARS: the default alphabet of get_random_string (and of password salts). */
export const RANDOM_STRING_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

// Python spells some hashlib constructors differently from OpenSSL; accept the
// Python names so settings written for Django keep working.
const PYTHON_HASH_NAMES: Record<string, string> = {
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

let known_hashes: Set<string> | undefined;
register_memo('crypto.known_hashes', () => {
  known_hashes = undefined;
});

/**
 * Maps an algorithm name to node:crypto's, or throws Django's InvalidAlgorithm
 * (salted_hmac raises it when hashlib has no such constructor).
 */
export function resolve_algorithm(algorithm: string): string {
  known_hashes ??= new Set(nodeCrypto.getHashes());
  const name = PYTHON_HASH_NAMES[algorithm] ?? algorithm;
  if (!known_hashes.has(name)) {
    throw new InvalidAlgorithm(`'${algorithm}' is not an algorithm accepted by the hashlib module.`);
  }
  return name;
}

function to_bytes(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/**
 * The key half of salted_hmac: `H(utf8(key_salt) + secret)`. Split out so a
 * caller that signs often (Signer) can derive it once per (salt, secret).
 */
export function salted_hmac_key(key_salt: string, secret: string | Buffer, algorithm = 'sha1'): Buffer {
  const name = resolve_algorithm(algorithm);
  return nodeCrypto.createHash(name).update(Buffer.from(key_salt, 'utf8')).update(to_bytes(secret)).digest();
}

/**
 * django.utils.crypto.salted_hmac: HMAC-H(H(key_salt + secret), value). The
 * salt keeps an HMAC made for one purpose from being valid for another.
 * `secret` defaults to SECRET_KEY, read at call time.
 */
export function salted_hmac(
  key_salt: string,
  value: string | Buffer,
  secret?: string | Buffer,
  algorithm = 'sha1',
): Buffer {
  const key = salted_hmac_key(key_salt, secret ?? settings.SECRET_KEY, algorithm);
  return nodeCrypto.createHmac(resolve_algorithm(algorithm), key).update(to_bytes(value)).digest();
}

/**
 * django.utils.crypto.constant_time_compare (secrets.compare_digest): the time
 * taken must not reveal how long a prefix of a guessed signature was right.
 * Unequal lengths still spend one full-length comparison before answering.
 */
export function constant_time_compare(a: string | Buffer, b: string | Buffer): boolean {
  const x = to_bytes(a);
  const y = to_bytes(b);
  if (x.length !== y.length) {
    nodeCrypto.timingSafeEqual(x, x);
    return false;
  }
  return nodeCrypto.timingSafeEqual(x, y);
}

// CSPRNG bytes drawn in bulk: one randomFillSync per 4 KB instead of one
// randomInt call (with its own checks) per character.
const POOL = Buffer.alloc(4096);
let pool_used = POOL.length;

function random_byte(): number {
  if (pool_used === POOL.length) {
    nodeCrypto.randomFillSync(POOL);
    pool_used = 0;
  }
  return POOL[pool_used++];
}

/**
 * django.utils.crypto.get_random_string: `length` characters drawn uniformly
 * from `allowed_chars` (code points) with a CSPRNG. Bytes at or above the
 * largest multiple of the alphabet size are skipped, so no character is more
 * likely than another.
 */
export function get_random_string(length: number, allowed_chars: string = RANDOM_STRING_CHARS): string {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`get_random_string length must be a non-negative integer, got ${length}`);
  }
  const chars = [...allowed_chars];
  const n = chars.length;
  if (n === 0 && length > 0) throw new RangeError('Cannot choose from an empty sequence');
  let out = '';
  if (n > 256) {
    for (let i = 0; i < length; i++) out += chars[nodeCrypto.randomInt(n)];
    return out;
  }
  const limit = 256 - (256 % n);
  for (let i = 0; i < length; ) {
    const b = random_byte();
    if (b >= limit) continue;
    out += chars[b % n];
    i++;
  }
  return out;
}
