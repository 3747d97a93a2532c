/**
 * Password hashing as django/contrib/auth/hashers.py (5.2) does it, so a hash
 * written by either side verifies on the other:
 *
 *   pbkdf2_sha256$<iterations>$<salt>$<base64 of PBKDF2-HMAC-SHA256, 32 bytes>
 *
 * PBKDF2 runs on libuv's thread pool (crypto.pbkdf2), never on the event loop.
 * PASSWORD_HASHERS picks the hashers; the first one hashes new passwords and
 * any stored hash it would write differently (fewer iterations, another
 * algorithm, a short salt) is flagged for upgrade on the next correct check.
 */
import * as nodeCrypto from 'node:crypto';
import { promisify } from 'node:util';
import { settings } from '@tango/core/conf';
import { constant_time_compare, get_random_string, RANDOM_STRING_CHARS } from '@tango/core/crypto';
import { ImproperlyConfigured } from '@tango/core/errors';
import { get_logger } from '@tango/core/log';

const pbkdf2 = promisify(nodeCrypto.pbkdf2);
const scrypt = promisify(nodeCrypto.scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: nodeCrypto.ScryptOptions) => Promise<Buffer>;
const log = get_logger('tango.auth');

/** django.contrib.auth.hashers.UNUSABLE_PASSWORD_PREFIX and the length of the random tail after it. */
export const UNUSABLE_PASSWORD_PREFIX = '!';
export const UNUSABLE_PASSWORD_SUFFIX_LENGTH = 40;

export interface DecodedHash {
  algorithm: string;
  salt: string;
  hash: string;
  iterations?: number;
}

export abstract class BasePasswordHasher {
  abstract readonly algorithm: string;
  /** Bits of entropy a salt must carry (Django 3.2+); shorter salts are upgraded. */
  readonly salt_entropy: number = 128;

  /** 22 characters of [a-zA-Z0-9]: ceil(128 / log2(62)), as Django's salt(). */
  salt(): string {
    const count = Math.ceil(this.salt_entropy / Math.log2(RANDOM_STRING_CHARS.length));
    return get_random_string(count);
  }

  /** `iterations`: the work factor for hashers that have one (verify passes the stored one). */
  abstract encode(password: string, salt: string, iterations?: number): Promise<string>;
  abstract decode(encoded: string): DecodedHash;

  async verify(password: string, encoded: string): Promise<boolean> {
    const decoded = this.decode(encoded);
    const again = await this.encode(password, decoded.salt, decoded.iterations);
    return constant_time_compare(encoded, again);
  }

  must_update(encoded: string): boolean {
    return must_update_salt(this.decode(encoded).salt, this.salt_entropy);
  }

  /** Spends the time a correct check of an up-to-date hash would (Django's harden_runtime). */
  async harden_runtime(_password: string, _encoded: string): Promise<void> {}

  protected check_salt(salt: string): void {
    if (salt.includes('$')) throw new Error("A salt must not contain '$'.");
  }
}

/** Django's must_update_salt: a salt whose length carries fewer bits than asked. */
function must_update_salt(salt: string, expected_entropy: number): boolean {
  return salt.length * Math.log2(RANDOM_STRING_CHARS.length) < expected_entropy;
}

abstract class Pbkdf2Hasher extends BasePasswordHasher {
  protected abstract readonly digest: 'sha256' | 'sha1';
  abstract readonly iterations: number;

  override async encode(password: string, salt: string, iterations: number = this.iterations): Promise<string> {
    this.check_salt(salt);
    // hashlib.pbkdf2_hmac with dklen=None: the digest's own size.
    const key = await pbkdf2(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations,
      this.digest === 'sha256' ? 32 : 20, this.digest);
    return `${this.algorithm}$${iterations}$${salt}$${key.toString('base64')}`;
  }

  override decode(encoded: string): DecodedHash {
    const parts = encoded.split('$');
    if (parts.length !== 4 || parts[0] !== this.algorithm || !/^[1-9]\d*$/.test(parts[1])) {
      throw new Error(`not a ${this.algorithm} hash`);
    }
    return { algorithm: parts[0], iterations: Number(parts[1]), salt: parts[2], hash: parts[3] };
  }

  override must_update(encoded: string): boolean {
    const decoded = this.decode(encoded);
    return decoded.iterations !== this.iterations || must_update_salt(decoded.salt, this.salt_entropy);
  }

  override async harden_runtime(password: string, encoded: string): Promise<void> {
    const extra = this.iterations - (this.decode(encoded).iterations ?? 0);
    if (extra > 0) await this.encode(password, this.decode(encoded).salt, extra);
  }
}

/** django.contrib.auth.hashers.PBKDF2PasswordHasher (5.2: 1,000,000 iterations; 3.2 wrote 260,000). */
export class PBKDF2PasswordHasher extends Pbkdf2Hasher {
  readonly algorithm: string = 'pbkdf2_sha256';
  readonly iterations: number = 1_000_000;
  protected readonly digest = 'sha256';
}

/** django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher. */
export class PBKDF2SHA1PasswordHasher extends Pbkdf2Hasher {
  readonly algorithm: string = 'pbkdf2_sha1';
  readonly iterations: number = 1_000_000;
  protected readonly digest = 'sha1';
}

/**
 * django.contrib.auth.hashers.ScryptPasswordHasher (Django 4.0+):
 * `scrypt$<n>$<salt>$<r>$<p>$<base64 of 64 bytes>`, n = 2^14, r = 8, p = 1.
 */
export class ScryptPasswordHasher extends BasePasswordHasher {
  readonly algorithm = 'scrypt';
  readonly work_factor: number = 2 ** 14;
  readonly block_size: number = 8;
  readonly parallelism: number = 1;

  override async encode(password: string, salt: string, n: number = this.work_factor, r = this.block_size, p = this.parallelism): Promise<string> {
    this.check_salt(salt);
    // Python's hashlib.scrypt with maxmem=0 allows OpenSSL's default of 32 MiB; 128 * n * r bytes is what it needs.
    const key = await scrypt(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), 64, { N: n, r, p, maxmem: 2 * 128 * n * r * p + 1024 * 1024 });
    return `${this.algorithm}$${n}$${salt}$${r}$${p}$${key.toString('base64')}`;
  }

  override decode(encoded: string): DecodedHash & { block_size: number; parallelism: number } {
    const parts = encoded.split('$');
    if (parts.length !== 6 || parts[0] !== this.algorithm || !parts.slice(1, 2).concat(parts.slice(3, 5)).every((x) => /^[1-9]\d*$/.test(x))) {
      throw new Error('not a scrypt hash');
    }
    return { algorithm: parts[0], iterations: Number(parts[1]), salt: parts[2], block_size: Number(parts[3]), parallelism: Number(parts[4]), hash: parts[5] };
  }

  override async verify(password: string, encoded: string): Promise<boolean> {
    const d = this.decode(encoded);
    return constant_time_compare(encoded, await this.encode(password, d.salt, d.iterations, d.block_size, d.parallelism));
  }

  override must_update(encoded: string): boolean {
    const d = this.decode(encoded);
    return d.iterations !== this.work_factor || d.block_size !== this.block_size || d.parallelism !== this.parallelism;
  }
}

/**
 * django.contrib.auth.hashers.MD5PasswordHasher: `md5$<salt>$<hex md5(salt + password)>`.
 * Fast and weak: Django's own test suites use it to keep tests quick; never in production.
 */
export class MD5PasswordHasher extends BasePasswordHasher {
  readonly algorithm = 'md5';

  override async encode(password: string, salt: string): Promise<string> {
    this.check_salt(salt);
    const hash = nodeCrypto.createHash('md5').update(salt + password, 'utf8').digest('hex');
    return `${this.algorithm}$${salt}$${hash}`;
  }

  override decode(encoded: string): DecodedHash {
    const parts = encoded.split('$');
    if (parts.length !== 3 || parts[0] !== this.algorithm) throw new Error('not an md5 hash');
    return { algorithm: parts[0], salt: parts[1], hash: parts[2] };
  }
}

export type HasherClass = new () => BasePasswordHasher;

/** Django's dotted names for the hashers Tango implements; PASSWORD_HASHERS may use these or a class. */
export const HASHER_NAMES: Readonly<Record<string, HasherClass>> = {
  'django.contrib.auth.hashers.PBKDF2PasswordHasher': PBKDF2PasswordHasher,
  'django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher': PBKDF2SHA1PasswordHasher,
  'django.contrib.auth.hashers.ScryptPasswordHasher': ScryptPasswordHasher,
  'django.contrib.auth.hashers.MD5PasswordHasher': MD5PasswordHasher,
};


let cached: { from: unknown; hashers: BasePasswordHasher[] } | undefined;

/** The configured hashers, preferred first (django.contrib.auth.hashers.get_hashers). */
export function get_hashers(): BasePasswordHasher[] {
  const list: unknown = settings.PASSWORD_HASHERS;
  if (cached !== undefined && cached.from === list) return cached.hashers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ImproperlyConfigured('Invalid setting PASSWORD_HASHERS: expected a non-empty list of hasher names or classes.');
  }
  const hashers = list.map((entry: unknown) => {
    const cls = typeof entry === 'function' ? entry as HasherClass : HASHER_NAMES[String(entry)];
    if (!cls) {
      throw new ImproperlyConfigured(`Invalid setting PASSWORD_HASHERS entry '${String(entry)}': expected one of ${Object.keys(HASHER_NAMES).join(', ')} or a hasher class.`);
    }
    return new cls();
  });
  cached = { from: list, hashers };
  return hashers;
}

/** get_hasher('default') is the preferred one; otherwise the hasher for that algorithm. */
export function get_hasher(algorithm = 'default'): BasePasswordHasher {
  const hashers = get_hashers();
  if (algorithm === 'default') return hashers[0];
  const found = hashers.find((h) => h.algorithm === algorithm);
  if (!found) throw new UnknownHasher(`Unknown password hashing algorithm '${algorithm}'. Did you specify it in the PASSWORD_HASHERS setting?`);
  return found;
}

/** The stored hash names no configured hasher (Django: ValueError from identify_hasher). */
export class UnknownHasher extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownHasher';
  }
}

/** django.contrib.auth.hashers.identify_hasher: the algorithm is what precedes the first '$'. */
export function identify_hasher(encoded: string): BasePasswordHasher {
  if ((encoded.length === 32 && !encoded.includes('$')) || (encoded.length === 37 && encoded.startsWith('md5$$'))) {
    return get_hasher('unsalted_md5');
  }
  if (encoded.length === 46 && encoded.startsWith('sha1$$')) return get_hasher('unsalted_sha1');
  const dollar = encoded.indexOf('$');
  if (dollar < 1) throw new UnknownHasher('The stored password is not in a recognised hash format.');
  return get_hasher(encoded.slice(0, dollar));
}

export function is_password_usable(encoded: string | null | undefined): boolean {
  return encoded == null || !encoded.startsWith(UNUSABLE_PASSWORD_PREFIX);
}

/**
 * django.contrib.auth.hashers.make_password. `null` gives an unusable password
 * ('!' and 40 random characters), which no password matches.
 */
export async function make_password(password: string | null, salt?: string, hasher: string | BasePasswordHasher = 'default'): Promise<string> {
  if (password === null) return UNUSABLE_PASSWORD_PREFIX + get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH);
  if (typeof password !== 'string') throw new TypeError(`Password must be a string, not ${typeof password}.`);
  const h = typeof hasher === 'string' ? get_hasher(hasher) : hasher;
  return h.encode(password, salt ?? h.salt());
}

/**
 * django.contrib.auth.hashers.verify_password: [is_correct, must_update].
 * A hash in no known format is a failed check with the reason logged, never
 * an exception; the preferred hasher still runs once so the answer takes as
 * long as a real check (Django: the same, against user enumeration).
 */
export async function verify_password(password: string | null, encoded: string | null | undefined, preferred = 'default'): Promise<[boolean, boolean]> {
  let fake_runtime = password === null || encoded == null || !is_password_usable(encoded);
  const pref = get_hasher(preferred);
  let hasher: BasePasswordHasher | undefined;
  if (!fake_runtime) {
    try {
      hasher = identify_hasher(encoded as string);
    } catch (err) {
      log.warn(`Password check failed: ${(err as Error).message}`, { reason: 'unknown_hasher' });
      fake_runtime = true;
    }
  }
  if (fake_runtime || hasher === undefined) {
    await make_password(get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH));
    return [false, false];
  }
  const stored = encoded as string;
  const hasher_changed = hasher.algorithm !== pref.algorithm;
  let must_update: boolean;
  let is_correct: boolean;
  try {
    must_update = hasher_changed || pref.must_update(stored);
    is_correct = await hasher.verify(password as string, stored);
  } catch (err) {
    // The algorithm is known but the rest is malformed (a missing field, iterations that are no number).
    log.warn(`Password check failed: the stored ${hasher.algorithm} hash is malformed (${(err as Error).message}).`, { reason: 'malformed_hash' });
    await make_password(get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH));
    return [false, false];
  }
  // Close the timing gap between an old hash's work factor and the current one.
  if (!is_correct && !hasher_changed && must_update) await hasher.harden_runtime(password as string, stored);
  return [is_correct, must_update];
}

/**
 * django.contrib.auth.hashers.check_password: whether `password` matches
 * `encoded`; when it does and the hash is out of date, `setter(password)`
 * stores a fresh one (User.check_password passes one that saves the user).
 */
export async function check_password(
  password: string | null,
  encoded: string | null | undefined,
  setter?: (password: string) => Promise<void> | void,
  preferred = 'default',
): Promise<boolean> {
  const [is_correct, must_update] = await verify_password(password, encoded, preferred);
  if (setter && is_correct && must_update) await setter(password as string);
  return is_correct;
}
