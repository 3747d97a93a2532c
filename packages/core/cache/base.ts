/**
 * The half of django.core.cache.backends.base.BaseCache that every store
 * shares: Cache is a Keyv with Django's `add`, and the atomic operations that
 * sessions need and Keyv lacks (gets/cas/replace), each delegated to the
 * store's own primitive (the store modules beside this file).
 *
 * Keyv has no atomic "add"; Cache.add() provides Django's cache.add with each
 * store's own primitive: SET NX PX on Redis, memcached's ADD command (memjs
 * `add`), and a synchronous check-and-set for locmem (no await between the
 * check and the write, so no other request can interleave).
 *
 * Nor has Keyv a compare-and-swap, which sessions need so that two
 * overlapping requests do not overwrite each other: gets() reads an entry with
 * its version, cas() writes only if the entry still has that version (Redis:
 * a Lua script compares the stored string, atomically; memcached: its own CAS
 * token, sent with the binary protocol on a connection of its own
 * (@tango/core/memcached_binary), since memjs offers no gets/cas; locmem: a
 * synchronous compare), and replace() writes only over a live entry (SET XX,
 * memcached REPLACE).
 *
 * Values are serialized by Keyv as JSON. Django pickles cache values, so a
 * Tango cache cannot be shared with a Django site (the db engine can).
 */
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import { set_bounded } from '../bounded_map';
import { deserialize, serialize, serialize_entry } from '../cache_serialize';
import { flat_snapshot, thaw, type FlatSnapshot } from '../json_snapshot';
import { NotSerializable } from '../errors';

/** Why a cas() did not write: the entry changed since it was read, or there is no live entry. */
export type CasFailure = 'conflict' | 'gone';

/**
 * An entry's version, as gets() read it or a write left it: the stored
 * (serialized) string and, on memcached, the server's CAS token. cas() checks it.
 */
export class CacheVersion {
  constructor(readonly serialized: string, readonly token: Buffer | null = null) {}
}

/** The store-side halves of Cache's atomic operations; `serialized` is Keyv's stored form. */
export interface AtomicOps {
  /** Stores only if no live entry has the key. */
  add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean>;
  gets(key: string): Promise<CacheVersion | undefined>;
  /** Stores only if the entry still is `expected`. */
  cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure>;
  /** Stores only over a live entry; null when there is none. */
  replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null>;
}

export type Store = KeyvStoreAdapter & AtomicOps;

/** An entry kept parsed: its stored text (compared in full on a hit), its value and its expiry. */
interface Parsed {
  serialized: string;
  value: FlatSnapshot;
  expires: number | undefined;
}

/** Entries kept parsed per cache (a session's entry is read by every request of that session). */
const MAX_PARSED = 4096;
/** Longer entries are parsed on every read. */
const MAX_PARSED_LENGTH = 16 * 1024;

/** The entry `serialized` (holding a value whose snapshot is `snapshot`, expiring at `expires`) as kept parsed, or undefined when it is not kept. */
function parsed_form(serialized: string, snapshot: FlatSnapshot | undefined, expires: unknown): Parsed | undefined {
  if (snapshot === undefined || snapshot === null || serialized.length > MAX_PARSED_LENGTH) return undefined;
  return { serialized, value: snapshot, expires: typeof expires === 'number' ? expires : undefined };
}


/** A Keyv with Django's `add`. Get one from get_cache(). */
export class Cache extends Keyv<unknown> {
  /**
   * Entries that gets() read or a write stored, by key, kept parsed (see
   * json_snapshot): the next gets() that reads the same text copies the
   * value instead of parsing it, and so gets exactly what parsing would.
   * Keyed by the cache key, which the store's client flattens for the wire
   * anyway (a caller that passes the same key string to gets() and cas()
   * has it hashed once); keying by the text cost a hash of each new text.
   */
  readonly #parsed = new Map<string, Parsed>();

  readonly #atomic: Store;

  constructor(
    readonly alias: string,
    readonly backend: string,
    atomic: Store,
    opts: { default_ttl_ms?: number; key_prefix?: string },
  ) {
    // useKeyPrefix false: the store applies the namespace (KEY_PREFIX) itself, once.
    super(atomic, { ttl: opts.default_ttl_ms, namespace: opts.key_prefix, useKeyPrefix: false, throwOnErrors: true, serialize, deserialize });
    this.#atomic = atomic;
  }

  /**
   * Keyv's stored form of `value`, and the store TTL. `ttl_ms` as for set():
   * undefined is the default TIMEOUT, 0 is no expiry. Keyv's serializeData
   * and deserializeData are async only for compression, which these caches
   * never configure; calling the serializer directly spares each session
   * load and save a few promise turns.
   */
  #stored_form(what: string, value: unknown, ttl_ms: number | undefined): { serialized: string; ttl: number | undefined; parsed: Parsed | undefined } {
    if (ttl_ms !== undefined && !(ttl_ms >= 0)) throw new RangeError(`Cache.${what} needs a ttl >= 0 ms, got ${ttl_ms}`);
    const ttl = ttl_ms ?? this.ttl;
    const expires = typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl : undefined;
    // The snapshot is taken with the text, before any await: the caller may change `value` while the write is under way.
    let entry: ReturnType<typeof serialize_entry>;
    try {
      entry = serialize_entry(value, expires);
    } catch (err) {
      throw NotSerializable.from(err, `The value for cache.${what}()`);
    }
    const { serialized, snapshot } = entry;
    return { serialized, ttl: expires === undefined ? undefined : ttl, parsed: parsed_form(serialized, snapshot, expires) };
  }

  /** Keeps `parsed` (see parsed_form) as the entry under `key`. */
  #keep_parsed(key: string, parsed: Parsed | undefined): void {
    if (parsed !== undefined) set_bounded(this.#parsed, key, parsed, MAX_PARSED);
  }

  /** Django's cache.add: true if stored, false if a live entry already had the key. */
  async add(key: string, value: unknown, ttl_ms?: number): Promise<boolean> {
    return (await this.add_versioned(key, value, ttl_ms)) !== null;
  }

  /** add(), returning the version it stored (for a later cas()), or null. */
  async add_versioned(key: string, value: unknown, ttl_ms?: number): Promise<CacheVersion | null> {
    const { serialized, ttl, parsed } = this.#stored_form('add', value, ttl_ms);
    if (!(await this.#atomic.add(key, serialized, ttl))) return null;
    this.#keep_parsed(key, parsed);
    return new CacheVersion(serialized);
  }

  /** The live entry and its version, or undefined. */
  async gets(key: string): Promise<{ value: unknown; version: CacheVersion } | undefined> {
    const version = await this.#atomic.gets(key);
    const value = version && this.#value_now(version, key);
    return value === undefined ? undefined : { value, version: version as CacheVersion };
  }

  /** The value a version holds, a copy of its own (nobody else has it to mutate); undefined once expired. */
  async value_of(version: CacheVersion): Promise<unknown> {
    return this.#value_now(version);
  }

  #value_now(version: CacheVersion, key?: string): unknown {
    const text = version.serialized;
    const kept = key === undefined ? undefined : this.#parsed.get(key);
    let value: unknown;
    let expires: unknown;
    if (kept !== undefined && kept.serialized === text) {
      value = thaw(kept.value);
      expires = kept.expires;
    } else {
      const data = deserialize<{ value?: unknown; expires?: number } | undefined>(text);
      if (data === undefined || data === null) return undefined;
      ({ value, expires } = data);
      if (key !== undefined && text.length <= MAX_PARSED_LENGTH) this.#keep_parsed(key, parsed_form(text, flat_snapshot(value), expires));
    }
    if (value === undefined || value === null) return undefined;
    // Keyv keeps the expiry in the payload too and treats a past one as a miss (its get() does the same).
    if (typeof expires === 'number' && Date.now() > expires) return undefined;
    return value;
  }

  /**
   * Compare-and-swap: stores `value` only if the entry is still at `expected`
   * (from gets(), add_versioned() or an earlier cas()), atomically in the
   * store. Returns the new version, 'conflict' if the entry has changed, or
   * 'gone' if there is no live entry (nothing is written then).
   */
  async cas(key: string, expected: CacheVersion, value: unknown, ttl_ms?: number): Promise<CacheVersion | CasFailure> {
    const { serialized, ttl, parsed } = this.#stored_form('cas', value, ttl_ms);
    const result = await this.#atomic.cas(key, expected, serialized, ttl);
    if (typeof result !== 'string') this.#keep_parsed(key, parsed);
    return result;
  }

  /** Stores `value` only over a live entry (never re-creates a deleted one); null when there is none. */
  async replace(key: string, value: unknown, ttl_ms?: number): Promise<CacheVersion | null> {
    const { serialized, ttl, parsed } = this.#stored_form('replace', value, ttl_ms);
    const result = await this.#atomic.replace(key, serialized, ttl);
    if (result !== null) this.#keep_parsed(key, parsed);
    return result;
  }

  /** Closes the connection: gracefully if the store answers within a second, else by force. */
  async close(): Promise<void> {
    const store = this.#atomic as { disconnect?: (force?: boolean) => Promise<void> };
    if (typeof store.disconnect !== 'function') return;
    let timer: NodeJS.Timeout | undefined;
    const graceful = store.disconnect().then(() => true, () => false);
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 1000);
      timer.unref();
    });
    const closed = await Promise.race([graceful, late]);
    clearTimeout(timer);
    if (!closed) await store.disconnect(true).catch(() => undefined);
  }

  override toString(): string {
    return `<Cache '${this.alias}' (${this.backend})>`;
  }
}
