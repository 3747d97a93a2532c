/**
 * django/core/signing.py, byte-compatible with Django: a value
 * signed by Django verifies here and the other way round, given the same
 * SECRET_KEY and salt.
 *
 *   Signer:          <value>:<b64url HMAC>
 *   TimestampSigner: <value>:<base62 unix time>:<b64url HMAC>
 *   dumps():         [.]<b64url(json, zlib'd if '.')>:<base62 time>:<b64url HMAC>
 *
 * The HMAC is salted_hmac(salt + "signer", value, key, algorithm); the salt
 * namespaces signatures so a value signed for one purpose (a session) cannot
 * be replayed for another (a cookie).
 */
import { inflateSync } from 'node:zlib';
import { settings } from './conf';
import { register_memo } from './memos';
import { time } from './clock';
import { constant_time_compare, resolve_algorithm, salted_hmac_key } from './crypto';
import { HmacKey } from './hmac';
import { get_or_set_bounded } from './bounded_map';
import { BadSignature, SignatureExpired } from './errors';
import { py_float_repr, py_json_dumps, py_json_loads, py_str } from './py_json';
import { deflate_cannot_shorten } from './deflate_bound';
import { zlib_compress } from './zlib_compress';

/** A key as Django accepts it: str (UTF-8 encoded) or bytes. */
export type SigningKey = string | Buffer;

/** What Signer.sign formats with Python's str(), as Django does. */
export type SignableValue = string | number | bigint | boolean | null;

/** django.core.signing.b64_encode: URL-safe alphabet, padding stripped. */
export function b64_encode(buf: Buffer): string {
  return buf.toString('base64url');
}

const B64_CLEAN = /^[A-Za-z0-9_-]*$/;

/**
 * django.core.signing.b64_decode: re-pads to a multiple of 4 and decodes with
 * Python's non-strict binascii.a2b_base64, which skips bytes outside the
 * alphabet. Clean input takes Node's decoder; anything else goes through an
 * emulation of CPython's loop so padding errors match.
 */
export function b64_decode(s: string): Buffer {
  if (B64_CLEAN.test(s) && s.length % 4 !== 1) return Buffer.from(s, 'base64url');
  return lenient_base64_decode(Buffer.from(s, 'utf8'));
}

const B64_VALUES = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  // base64.urlsafe_b64decode translates -_ to +/ before decoding.
  table['-'.charCodeAt(0)] = 62;
  table['_'.charCodeAt(0)] = 63;
  return table;
})();

// Modules/binascii.c binascii_a2b_base64_impl with strict_mode=False.
function lenient_base64_decode(input: Buffer): Buffer {
  const pad = (4 - (input.length % 4)) % 4;
  const bytes = Buffer.concat([input, Buffer.from('='.repeat(pad))]);
  const out: number[] = [];
  let quad_pos = 0;
  let left_char = 0;
  let pads = 0;
  let data_chars = 0;
  for (const ch of bytes) {
    if (ch === 0x3d /* = */) {
      if (quad_pos >= 2 && quad_pos + ++pads >= 4) return Buffer.from(out);
      continue;
    }
    const v = B64_VALUES[ch];
    if (v < 0) continue;
    pads = 0;
    data_chars++;
    switch (quad_pos) {
      case 0:
        quad_pos = 1;
        left_char = v;
        break;
      case 1:
        quad_pos = 2;
        out.push((left_char << 2) | (v >> 4));
        left_char = v & 0x0f;
        break;
      case 2:
        quad_pos = 3;
        out.push((left_char << 4) | (v >> 2));
        left_char = v & 0x03;
        break;
      default:
        quad_pos = 0;
        out.push((left_char << 6) | v);
        left_char = 0;
    }
  }
  if (quad_pos === 1) {
    throw new Error(
      `Invalid base64-encoded string: number of data characters (${data_chars}) cannot be 1 more than a multiple of 4`);
  }
  if (quad_pos !== 0) throw new Error('Incorrect padding');
  return Buffer.from(out);
}

const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** django.core.signing.b62_encode: most significant digit first, '-' for negatives. */
export function base62_encode(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`base62_encode needs a safe integer, got ${n}`);
  if (n === 0) return '0';
  const sign = n < 0 ? '-' : '';
  let rest = Math.abs(n);
  let out = '';
  while (rest > 0) {
    out = BASE62_ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return sign + out;
}

/** django.core.signing.b62_decode. */
export function base62_decode(s: string): number {
  if (s === '0') return 0;
  const negative = s.startsWith('-');
  const digits = negative ? s.slice(1) : s;
  let n = 0;
  for (const ch of digits) {
    const v = BASE62_ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`Invalid base62 digit ${JSON.stringify(ch)} in ${JSON.stringify(s)}`);
    n = n * 62 + v;
  }
  return negative ? -n : n;
}

/** django.core.signing.JSONSerializer's contract: objects to bytes and back. */
export interface Serializer {
  dumps(obj: unknown): Buffer;
  loads(data: Buffer): unknown;
}

/**
 * django.core.signing.JSONSerializer: compact Python JSON, latin-1 encoded.
 * ensure_ascii makes the text ASCII, so latin-1 only matters when reading a
 * payload some other serializer wrote; decoding it as latin-1 mirrors Django.
 */
export const JSONSerializer: Serializer = {
  dumps: (obj) => Buffer.from(py_json_dumps(obj), 'latin1'),
  loads: (data) => py_json_loads(json_text(data)),
};

/** The JSON text in JSONSerializer bytes (what its loads() parses with py_json_loads). */
export function json_text(data: Buffer): string {
  return data.toString('latin1');
}

// Django's _SEP_UNSAFE = r"^[A-z0-9-_=]*$" used with re.match. A-z also spans
// [ \ ] ^ _ and the backtick, and Python's $ also matches before one trailing
// newline; both quirks are kept so the same separators are refused.
const SEP_UNSAFE = /^[A-z0-9\-_=]*\n?$/;

// Derived HMAC keys, H(salt + "signer" + secret), by secret, then salt, then
// algorithm. Sessions and signed cookies sign and verify on every request and
// the derivation is a full hash, so it is done once per combination. The
// secret is looked up by its value (a Buffer by its bytes, in a map of its own
// so str and bytes keys cannot be confused), never by the settings object, so
// a changed SECRET_KEY can never be served a key derived from the old one.
// Each level is keyed by a string the caller already holds (V8 has hashed it
// before): a composite key built per call was a new string to hash every
// time. Measured: bench/NOTES.md.
//
// Every level is FIFO-bounded: a process has a few secrets and salts, but a
// caller could build salts from input (cookie names), and that must not grow
// memory without limit.
const DERIVED_KEY_SECRETS = 16;
const DERIVED_KEY_SALTS = 256;
const DERIVED_KEY_ALGORITHMS = 16;
type BySalt = Map<string, Map<string, HmacKey>>;
const derived_by_string_secret = new Map<string, BySalt>();
const derived_by_bytes_secret = new Map<string, BySalt>();

/** The HMAC key of salted_hmac(salt + "signer", ·, secret, algorithm); validates the algorithm when it derives one. */
function derived_key(salt: string, secret: SigningKey, algorithm: string): HmacKey {
  const by_secret = typeof secret === 'string' ? derived_by_string_secret : derived_by_bytes_secret;
  const secret_id = typeof secret === 'string' ? secret : secret.toString('latin1');
  const by_salt: BySalt = get_or_set_bounded(by_secret, secret_id, DERIVED_KEY_SECRETS, () => new Map());
  const by_algorithm = get_or_set_bounded(by_salt, salt, DERIVED_KEY_SALTS, () => new Map<string, HmacKey>());
  return get_or_set_bounded(by_algorithm, algorithm, DERIVED_KEY_ALGORITHMS,
    () => new HmacKey(resolve_algorithm(algorithm), salted_hmac_key(`${salt}signer`, secret, algorithm)));
}

// Keys derived from secrets that are no longer configured have no use left;
// dropping them keeps old secrets' material out of memory. (Correctness does
// not depend on this: the cache is keyed by the secret's value.)
register_memo('signing.derived_keys', () => {
  derived_by_string_secret.clear();
  derived_by_bytes_secret.clear();
}, { settings: true });

function is_empty_key(key: SigningKey | undefined): boolean {
  return key === undefined || key.length === 0;
}

export interface SignerOptions {
  key?: SigningKey;
  sep?: string;
  salt?: string;
  algorithm?: string;
  fallback_keys?: SigningKey[];
}

export interface SignObjectOptions {
  compress?: boolean;
  serializer?: Serializer;
}

export interface UnsignObjectOptions {
  max_age?: number | null;
  serializer?: Serializer;
  /** Bytes the payload may inflate to (default SIGNING_MAX_DECOMPRESSED_SIZE; null: no limit). */
  max_decompressed_size?: number | null;
}

/**
 * What unsign() takes as its max_age: seconds, Django's keyword written as
 * an object (`unsign(v, { max_age: 10 })`), or null/undefined for no check.
 */
export type MaxAgeArgument = number | { max_age?: number | null } | null | undefined;

function describe(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return String(v);
  if (v === null || typeof v !== 'object') return typeof v;
  return v.constructor?.name ?? 'object';
}

/**
 * The max_age in seconds, or undefined for none. Anything that is not a
 * number (or NaN, which every comparison answers false to) throws: a
 * mistyped max_age must never quietly turn the expiry check off. Django
 * raises a TypeError for a str too (`age > "10"`); its timedelta is a number
 * of seconds here.
 */
export function max_age_seconds(arg: unknown, where = 'max_age'): number | undefined {
  if (arg === undefined || arg === null) return undefined;
  if (typeof arg === 'number') {
    if (Number.isNaN(arg)) throw new TypeError(`${where} must be a number of seconds, got NaN`);
    return arg;
  }
  if (typeof arg === 'object' && !Array.isArray(arg) && Object.getPrototypeOf(arg) === Object.prototype) {
    const keys = Object.keys(arg);
    if (keys.every((k) => k === 'max_age')) return max_age_seconds((arg as { max_age?: unknown }).max_age, where);
    throw new TypeError(`${where}: unexpected option ${JSON.stringify(keys.find((k) => k !== 'max_age'))} (only max_age is accepted)`);
  }
  throw new TypeError(`${where} must be a number of seconds (or { max_age: seconds }), got ${describe(arg)}`);
}

/**
 * The inflate limit in bytes: `given` if passed (null: none), else the
 * setting. A signed value passes the HMAC check before it is inflated, but a
 * holder of the key (or the app itself, storing repetitive data) can still
 * make a few KB of cookie that inflate to megabytes on every request.
 */
function inflate_limit(given: number | null | undefined): number | null {
  const limit = given === undefined ? settings.SIGNING_MAX_DECOMPRESSED_SIZE : given;
  if (limit !== null && !(typeof limit === 'number' && limit >= 1)) {
    throw new TypeError(`max_decompressed_size must be a number of bytes >= 1 or null, got ${describe(limit)}`);
  }
  return limit;
}

/** zlib-inflates verified data, refusing (BadSignature) output over `limit` bytes before it is built. */
function inflate_capped(data: Buffer, limit: number | null): Buffer {
  if (limit === null) return inflateSync(data);
  try {
    // Node stops inflating at maxOutputLength (ERR_BUFFER_TOO_LARGE): the output never grows past it.
    return inflateSync(data, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BadSignature(`Compressed data inflates to more than ${limit} bytes (SIGNING_MAX_DECOMPRESSED_SIZE)`);
    }
    throw err;
  }
}

/** django.core.signing.Signer */
/**
 * The part of sign_object()'s output before the signature (and timestamp):
 * serialized, maybe compressed, base64. The same object always gives the same
 * payload, so two signed values hold equal data exactly when their payloads match.
 */
export function object_payload(obj: unknown, opts: SignObjectOptions = {}): string {
  return data_payload((opts.serializer ?? JSONSerializer).dumps(obj), opts.compress ?? false);
}

/** object_payload() of bytes a serializer already produced. */
function data_payload(serialized: Buffer, compress: boolean): string {
  let data = serialized;
  let compressed = false;
  if (compress && !deflate_cannot_shorten(data)) {
    const z = zlib_compress(data);
    if (z.length < data.length - 1) {
      data = z;
      compressed = true;
    }
  }
  const b64 = b64_encode(data);
  return compressed ? `.${b64}` : b64;
}

export class Signer {
  /** Django derives this from the class's module and name ("<module>.<ClassName>"). */
  static default_salt = 'django.core.signing.Signer';

  readonly sep: string;
  readonly salt: string;
  readonly algorithm: string;
  readonly #explicit_key: SigningKey | undefined;
  readonly #explicit_fallbacks: SigningKey[] | undefined;

  constructor(opts: SignerOptions = {}) {
    const sep = opts.sep ?? ':';
    if (SEP_UNSAFE.test(sep)) {
      throw new Error(`Unsafe Signer separator: '${sep}' (cannot be empty or consist of only A-z0-9-_=)`);
    }
    this.sep = sep;
    // `salt or default` / `algorithm or "sha256"`: an empty string means the default, as in Django.
    this.salt = opts.salt || (new.target as typeof Signer).default_salt;
    this.algorithm = opts.algorithm || 'sha256';
    this.#explicit_key = is_empty_key(opts.key) ? undefined : opts.key;
    this.#explicit_fallbacks = opts.fallback_keys === undefined ? undefined : [...opts.fallback_keys];
  }

  // Django reads SECRET_KEY / SECRET_KEY_FALLBACKS when the Signer is built.
  // Reading them when used instead lets a long-lived signer follow
  // configure()/override_settings, and keeps import free of settings access.

  /** The signing key: the `key` option, else SECRET_KEY. */
  get key(): SigningKey {
    return this.#explicit_key ?? settings.SECRET_KEY;
  }

  /** Keys that verify but never sign: the option, else SECRET_KEY_FALLBACKS. */
  get fallback_keys(): readonly SigningKey[] {
    return this.#explicit_fallbacks ?? settings.SECRET_KEY_FALLBACKS;
  }

  signature(value: SignableValue, key?: SigningKey): string {
    const secret = is_empty_key(key) ? this.key : (key as SigningKey);
    return derived_key(this.salt, secret, this.algorithm).digest(py_str(value), 'base64url');
  }

  sign(value: SignableValue): string {
    const text = py_str(value);
    return `${text}${this.sep}${this.signature(text)}`;
  }

  /** A plain Signer has no timestamp: a max_age is refused (Django: TypeError), never ignored. */
  unsign(signed_value: string, max_age?: MaxAgeArgument): string {
    if (max_age !== undefined && max_age_seconds(max_age) !== undefined) {
      throw new TypeError(`${this.constructor.name}.unsign() does not take max_age; use a TimestampSigner`);
    }
    if (typeof signed_value !== 'string') throw new TypeError(`unsign() needs a string, got ${describe(signed_value)}`);
    const at = signed_value.lastIndexOf(this.sep);
    if (at < 0) throw new BadSignature(`No "${this.sep}" found in value`);
    const value = signed_value.slice(0, at);
    const sig = signed_value.slice(at + this.sep.length);
    for (const key of [this.key, ...this.fallback_keys]) {
      if (constant_time_compare(sig, this.signature(value, key))) return value;
    }
    throw new BadSignature(`Signature "${sig}" does not match`);
  }

  /**
   * Django's Signer.sign_object: serialize, optionally zlib-compress (kept
   * only when it saves more than one byte, since the '.' marker costs one),
   * base64, sign. pako's deflate at the default level reproduces CPython's
   * zlib.compress bytes, which node:zlib does not (see zlib_compress.ts).
   */
  sign_object(obj: unknown, opts: SignObjectOptions = {}): string {
    return this.sign(object_payload(obj, opts));
  }

  /** Django's Signer.unsign_object; a leading '.' (covered by the signature) marks zlib data. */
  unsign_object(signed_obj: string, opts: UnsignObjectOptions = {}): unknown {
    return (opts.serializer ?? JSONSerializer).loads(this.unsign_object_data(signed_obj, opts.max_age, opts.max_decompressed_size));
  }

  /**
   * unsign_object() up to the serializer: the verified, decompressed bytes.
   * Inflating stops at `max_decompressed_size` bytes (default the
   * SIGNING_MAX_DECOMPRESSED_SIZE setting, null for none): more is a
   * BadSignature. Django has no such limit.
   */
  unsign_object_data(signed_obj: string, max_age?: MaxAgeArgument, max_decompressed_size?: number | null): Buffer {
    const limit = inflate_limit(max_decompressed_size);
    let b64 = this.unsign_with_max_age(signed_obj, max_age_seconds(max_age));
    const decompress = b64.startsWith('.');
    if (decompress) b64 = b64.slice(1);
    const data = b64_decode(b64);
    return decompress ? inflate_capped(data, limit) : data;
  }

  /**
   * Django forwards unsign_object's keyword arguments to unsign(), where a
   * plain Signer rejects max_age with a TypeError; refusing it here keeps an
   * expiry check from being dropped silently.
   */
  protected unsign_with_max_age(signed_value: string, max_age: number | undefined): string {
    if (max_age !== undefined) {
      throw new TypeError(`${this.constructor.name}.unsign() does not take max_age; use a TimestampSigner`);
    }
    return this.unsign(signed_value);
  }
}

/** django.core.signing.TimestampSigner: appends the signing time so unsign can enforce a max_age. */
export class TimestampSigner extends Signer {
  static override default_salt = 'django.core.signing.TimestampSigner';

  timestamp(): string {
    return base62_encode(Math.trunc(time()));
  }

  override sign(value: SignableValue): string {
    return super.sign(`${py_str(value)}${this.sep}${this.timestamp()}`);
  }

  /** An age exactly equal to max_age is accepted, as in Django (`age > max_age` fails). */
  override unsign(value: string, max_age_arg?: MaxAgeArgument): string {
    const max_age = max_age_seconds(max_age_arg);
    const result = super.unsign(value);
    const at = result.lastIndexOf(this.sep);
    // Python's rsplit unpacking would raise ValueError here; the value is
    // authentic but was signed without a timestamp, so call it a bad signature.
    if (at < 0) throw new BadSignature(`No "${this.sep}" found in value`);
    const timestamp = base62_decode(result.slice(at + this.sep.length));
    if (max_age !== undefined) {
      const age = time() - timestamp;
      if (age > max_age) {
        // Python formats a float age and an int max_age: "Signature age 11.0 > 10 seconds".
        const max_age_text = Number.isInteger(max_age) ? String(max_age) : py_float_repr(max_age);
        throw new SignatureExpired(`Signature age ${py_float_repr(age)} > ${max_age_text} seconds`);
      }
    }
    return result.slice(0, at);
  }

  protected override unsign_with_max_age(signed_value: string, max_age: number | undefined): string {
    return this.unsign(signed_value, max_age);
  }
}

export interface DumpsOptions {
  key?: SigningKey;
  salt?: string;
  compress?: boolean;
  serializer?: Serializer;
}

export interface LoadsOptions {
  key?: SigningKey;
  salt?: string;
  max_age?: number | null;
  fallback_keys?: SigningKey[];
  serializer?: Serializer;
  /** Bytes the payload may inflate to (default SIGNING_MAX_DECOMPRESSED_SIZE; null: no limit). */
  max_decompressed_size?: number | null;
}

/** django.core.signing.dumps: a URL-safe, signed, timestamped serialization of `obj`. */
export function dumps(obj: unknown, opts: DumpsOptions = {}): string {
  return dumps_with_data(obj, opts).value;
}

/** dumps(), also giving the serialized bytes the value carries (what loads_data() returns for it). */
export function dumps_with_data(obj: unknown, opts: DumpsOptions = {}): { value: string; data: Buffer } {
  const signer = new TimestampSigner({ key: opts.key, salt: opts.salt ?? 'django.core.signing' });
  const data = (opts.serializer ?? JSONSerializer).dumps(obj);
  return { value: signer.sign(data_payload(data, opts.compress ?? false)), data };
}

/** django.core.signing.loads: the inverse of dumps(); throws BadSignature / SignatureExpired. */
export function loads(s: string, opts: LoadsOptions = {}): unknown {
  return (opts.serializer ?? JSONSerializer).loads(loads_data(s, opts));
}

/** loads() up to the serializer: the verified, decompressed bytes of `s`. */
export function loads_data(s: string, opts: Omit<LoadsOptions, 'serializer'> = {}): Buffer {
  const signer = new TimestampSigner({
    key: opts.key,
    salt: opts.salt ?? 'django.core.signing',
    fallback_keys: opts.fallback_keys,
  });
  return signer.unsign_object_data(s, opts.max_age, opts.max_decompressed_size);
}
