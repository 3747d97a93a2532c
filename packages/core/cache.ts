/**
 * django.core.cache.caches for Tango: `get_cache(alias)` builds a Keyv from
 * settings.CACHES[alias] once per alias (dropped when settings change).
 *
 *   BACKEND 'locmem'     an in-process LRU map with TTLs, shared per LOCATION
 *                        (Django's LocMemCache: MAX_ENTRIES 300, CULL_FREQUENCY 3)
 *   BACKEND 'redis'      @keyv/redis, LOCATION 'redis://host:port[/db]'
 *   BACKEND 'memcached'  @keyv/memcache (memjs), LOCATION 'host:port' (or a list)
 *
 * Drivers are required lazily inside the factory, so an app that never
 * configures Redis or Memcached never loads their clients. Network stores get
 * a short connect timeout (OPTIONS.CONNECT_TIMEOUT, milliseconds, default 2000)
 * so a dead server fails fast instead of queueing. Memcached also bounds each
 * command (COMMAND_TIMEOUT, default 2000); Redis only when COMMAND_TIMEOUT is
 * set, because @redis/client arms an AbortSignal.timeout() per command, which
 * costs more than the command itself and holds native memory while load lasts.
 * Session operations are bounded by SESSION_STORE_TIMEOUT either way.
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
 * (@tango/core/memcached_binary), since memjs offers no gets/cas; locmem: a synchronous compare), and replace() writes
 * only over a live entry (SET XX, memcached REPLACE).
 *
 * The Redis client connects once for all callers (see RedisStore.getClient).
 *
 * Values are serialized by Keyv as JSON. Django pickles cache values, so a
 * Tango cache cannot be shared with a Django site (the db engine can).
 */
import { createHash } from 'node:crypto';
import { set_bounded } from './bounded_map';
import { deserialize, serialize, serialize_entry } from './cache_serialize';
import { flat_snapshot, thaw, type FlatSnapshot } from './json_snapshot';
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import type KeyvRedisType from '@keyv/redis';
import type { KeyvMemcache as KeyvMemcacheType } from '@keyv/memcache';
import { settings, on_settings_changed, type CacheSettings } from './conf';
import { cache_backend_kind } from './conf/schema';
import { ImproperlyConfigured, NotSerializable } from './errors';
import { get_logger } from './log';
import { MC_GET, MC_KEY_EEXISTS, MC_KEY_ENOENT, MC_OK, MC_REPLACE, MemcachedBinary, server_index, type McResponse } from './memcached_binary';
import { on_shutdown } from './shutdown';

const log = get_logger('tango.cache');

/** Django's InvalidCacheBackendError: the alias is not in settings.CACHES. */
export class InvalidCacheBackendError extends ImproperlyConfigured {}

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
interface AtomicOps {
  /** Stores only if no live entry has the key. */
  add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean>;
  gets(key: string): Promise<CacheVersion | undefined>;
  /** Stores only if the entry still is `expected`. */
  cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure>;
  /** Stores only over a live entry; null when there is none. */
  replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null>;
}

type Store = KeyvStoreAdapter & AtomicOps;

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

const DEFAULT_TIMEOUT_S = 300; // Django's default cache TIMEOUT
const DEFAULT_IO_TIMEOUT_MS = 2000;
const MEMCACHED_MAX_RELATIVE_S = 60 * 60 * 24 * 30; // longer expiries are read by memcached as a Unix time

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
  private readonly parsed = new Map<string, Parsed>();

  constructor(
    readonly alias: string,
    readonly backend: string,
    private readonly atomic: Store,
    opts: { default_ttl_ms?: number; key_prefix?: string },
  ) {
    // useKeyPrefix false: the store applies the namespace (KEY_PREFIX) itself, once.
    super(atomic, { ttl: opts.default_ttl_ms, namespace: opts.key_prefix, useKeyPrefix: false, throwOnErrors: true, serialize, deserialize });
  }

  /**
   * Keyv's stored form of `value`, and the store TTL. `ttl_ms` as for set():
   * undefined is the default TIMEOUT, 0 is no expiry. Keyv's serializeData
   * and deserializeData are async only for compression, which these caches
   * never configure; calling the serializer directly spares each session
   * load and save a few promise turns.
   */
  private stored_form(what: string, value: unknown, ttl_ms: number | undefined): { serialized: string; ttl: number | undefined; parsed: Parsed | undefined } {
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
  private keep_parsed(key: string, parsed: Parsed | undefined): void {
    if (parsed !== undefined) set_bounded(this.parsed, key, parsed, MAX_PARSED);
  }

  /** Django's cache.add: true if stored, false if a live entry already had the key. */
  async add(key: string, value: unknown, ttl_ms?: number): Promise<boolean> {
    return (await this.add_versioned(key, value, ttl_ms)) !== null;
  }

  /** add(), returning the version it stored (for a later cas()), or null. */
  async add_versioned(key: string, value: unknown, ttl_ms?: number): Promise<CacheVersion | null> {
    const { serialized, ttl, parsed } = this.stored_form('add', value, ttl_ms);
    if (!(await this.atomic.add(key, serialized, ttl))) return null;
    this.keep_parsed(key, parsed);
    return new CacheVersion(serialized);
  }

  /** The live entry and its version, or undefined. */
  async gets(key: string): Promise<{ value: unknown; version: CacheVersion } | undefined> {
    const version = await this.atomic.gets(key);
    const value = version && this.value_now(version, key);
    return value === undefined ? undefined : { value, version: version as CacheVersion };
  }

  /** The value a version holds, a copy of its own (nobody else has it to mutate); undefined once expired. */
  async value_of(version: CacheVersion): Promise<unknown> {
    return this.value_now(version);
  }

  private value_now(version: CacheVersion, key?: string): unknown {
    const text = version.serialized;
    const kept = key === undefined ? undefined : this.parsed.get(key);
    let value: unknown;
    let expires: unknown;
    if (kept !== undefined && kept.serialized === text) {
      value = thaw(kept.value);
      expires = kept.expires;
    } else {
      const data = deserialize<{ value?: unknown; expires?: number } | undefined>(text);
      if (data === undefined || data === null) return undefined;
      ({ value, expires } = data);
      if (key !== undefined && text.length <= MAX_PARSED_LENGTH) this.keep_parsed(key, parsed_form(text, flat_snapshot(value), expires));
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
    const { serialized, ttl, parsed } = this.stored_form('cas', value, ttl_ms);
    const result = await this.atomic.cas(key, expected, serialized, ttl);
    if (typeof result !== 'string') this.keep_parsed(key, parsed);
    return result;
  }

  /** Stores `value` only over a live entry (never re-creates a deleted one); null when there is none. */
  async replace(key: string, value: unknown, ttl_ms?: number): Promise<CacheVersion | null> {
    const { serialized, ttl, parsed } = this.stored_form('replace', value, ttl_ms);
    const result = await this.atomic.replace(key, serialized, ttl);
    if (result !== null) this.keep_parsed(key, parsed);
    return result;
  }

  /** Closes the connection: gracefully if the store answers within a second, else by force. */
  async close(): Promise<void> {
    const store = this.atomic as { disconnect?: (force?: boolean) => Promise<void> };
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

interface LocMemEntry {
  value: string;
  expires_at: number | null;
}

/** django.core.cache.backends.locmem.LocMemCache as a Keyv store: LRU order, TTLs, culling. */
class LocMemStore implements Store {
  readonly opts = { dialect: 'locmem' };
  namespace?: string;
  private readonly entries = new Map<string, LocMemEntry>();

  constructor(private readonly max_entries: number, private readonly cull_frequency: number) {}

  // Keyv subscribes to store errors; an in-process map has none to report.
  on(): this {
    return this;
  }

  private k(key: string): string {
    return this.namespace ? `${this.namespace}:${key}` : key;
  }

  private live(k: string): LocMemEntry | undefined {
    const e = this.entries.get(k);
    if (e && e.expires_at !== null && e.expires_at <= Date.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return e;
  }

  private put(k: string, value: string, ttl_ms: number | undefined): void {
    this.entries.delete(k);
    if (this.entries.size >= this.max_entries) this.cull();
    this.entries.set(k, { value, expires_at: ttl_ms ? Date.now() + ttl_ms : null });
  }

  // Django's _cull: drop the least recently used 1/CULL_FREQUENCY (all of it for 0).
  private cull(): void {
    if (this.cull_frequency === 0) {
      this.entries.clear();
      return;
    }
    let count = Math.floor(this.entries.size / this.cull_frequency);
    for (const k of this.entries.keys()) {
      if (count-- <= 0) break;
      this.entries.delete(k);
    }
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const k = this.k(key);
    const e = this.live(k);
    if (!e) return undefined;
    this.entries.delete(k);
    this.entries.set(k, e);
    return e.value as Value;
  }

  async set(key: string, value: string, ttl?: number): Promise<void> {
    this.put(this.k(key), value, ttl);
  }

  // add, gets, cas and replace never await between looking and writing: on one
  // event loop, that makes each of them atomic.
  async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
    const k = this.k(key);
    if (this.live(k)) return false;
    this.put(k, serialized, ttl_ms);
    return true;
  }

  async gets(key: string): Promise<CacheVersion | undefined> {
    const value = await this.get<string>(key);
    return value === undefined ? undefined : new CacheVersion(value);
  }

  async cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure> {
    const k = this.k(key);
    const e = this.live(k);
    if (!e) return 'gone';
    if (e.value !== expected.serialized) return 'conflict';
    this.put(k, serialized, ttl_ms);
    return new CacheVersion(serialized);
  }

  async replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null> {
    const k = this.k(key);
    if (!this.live(k)) return null;
    this.put(k, serialized, ttl_ms);
    return new CacheVersion(serialized);
  }

  async delete(key: string): Promise<boolean> {
    return this.entries.delete(this.k(key));
  }

  async has(key: string): Promise<boolean> {
    return this.live(this.k(key)) !== undefined;
  }

  async clear(): Promise<void> {
    if (!this.namespace) {
      this.entries.clear();
      return;
    }
    for (const k of [...this.entries.keys()]) if (k.startsWith(`${this.namespace}:`)) this.entries.delete(k);
  }
}

// Django shares a LocMemCache between instances with the same LOCATION.
const locmemStores = new Map<string, LocMemStore>();

function options(entry: CacheSettings): Record<string, unknown> {
  const o = (entry as Record<string, unknown>).OPTIONS;
  return o && typeof o === 'object' ? (o as Record<string, unknown>) : {};
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
}

function locations(entry: CacheSettings): string[] {
  const loc = entry.LOCATION;
  return loc === undefined ? [] : Array.isArray(loc) ? loc : [loc];
}

function make_locmem(entry: CacheSettings): Store {
  const name = locations(entry)[0] ?? '';
  let store = locmemStores.get(name);
  if (!store) {
    const o = options(entry);
    store = new LocMemStore(num(o.MAX_ENTRIES, 300), num(o.CULL_FREQUENCY, 3));
    locmemStores.set(name, store);
  }
  return store;
}

function make_redis(alias: string, entry: CacheSettings): Store {
  const url = locations(entry)[0];
  if (!url) throw new ImproperlyConfigured(`CACHES['${alias}'] uses the redis backend but has no LOCATION (e.g. 'redis://127.0.0.1:6379').`);
  const o = options(entry);
  const connect_ms = num(o.CONNECT_TIMEOUT, DEFAULT_IO_TIMEOUT_MS);
  const command_ms = num(o.COMMAND_TIMEOUT, 0);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const KeyvRedis = (require('@keyv/redis') as { default: typeof KeyvRedisType }).default;

  class RedisStore extends KeyvRedis<string> implements AtomicOps {
    private connecting: ReturnType<KeyvRedisType<string>['getClient']> | null = null;

    /**
     * One connection attempt, shared by every caller while it runs. @keyv/redis
     * hands out the client as soon as it `isOpen`, which node-redis sets when
     * connect() starts: with no offline queue, a burst of first requests had
     * their commands refused ("The client is offline") although Redis was up.
     * A client reconnecting on its own (open, not ready) still fails fast.
     */
    override getClient(): ReturnType<KeyvRedisType<string>['getClient']> {
      // Connected: the client itself, without the connect attempt's promise chain (every command asks).
      if (this.ready_client()) return Promise.resolve(this.client) as ReturnType<KeyvRedisType<string>['getClient']>;
      this.connecting ??= super.getClient().finally(() => {
        this.connecting = null;
      });
      return this.connecting;
    }

    /**
     * The client if it is connected and ready. Callers take it without an
     * await: awaiting (or resolving a promise with) the client makes V8 look
     * for a `then` along its whole prototype chain, per command.
     */
    private ready_client(): RedisCommands | undefined {
      return (this.client as { isReady?: boolean }).isReady ? (this.client as unknown as RedisCommands) : undefined;
    }

    private async connected(): Promise<RedisCommands> {
      return (await this.getClient()) as unknown as RedisCommands;
    }

    async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
      const k = this.createKeyPrefix(key, this.namespace);
      const reply = await (this.ready_client() ?? (await this.connected())).set(k, serialized, ttl_ms ? { NX: true, PX: Math.ceil(ttl_ms) } : { NX: true });
      return reply === 'OK';
    }

    async gets(key: string): Promise<CacheVersion | undefined> {
      const value = await (this.ready_client() ?? (await this.connected())).get(this.createKeyPrefix(key, this.namespace));
      return value === null ? undefined : new CacheVersion(value);
    }

    async cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure> {
      const redis = this.ready_client() ?? (await this.connected());
      const args = {
        keys: [this.createKeyPrefix(key, this.namespace)],
        arguments: [expected.serialized, serialized, ttl_ms ? String(Math.ceil(ttl_ms)) : ''],
      };
      // EVALSHA sends 40 bytes instead of the script; a server that has not
      // seen it yet (or was restarted) answers NOSCRIPT, and EVAL loads it.
      let reply: unknown;
      try {
        reply = await redis.evalSha(REDIS_CAS_SHA1, args);
      } catch (err) {
        if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
        reply = await redis.eval(REDIS_CAS, args);
      }
      return reply === 2 ? new CacheVersion(serialized) : reply === 1 ? 'conflict' : 'gone';
    }

    async replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null> {
      const k = this.createKeyPrefix(key, this.namespace);
      const reply = await (this.ready_client() ?? (await this.connected())).set(k, serialized, ttl_ms ? { XX: true, PX: Math.ceil(ttl_ms) } : { XX: true });
      return reply === 'OK' ? new CacheVersion(serialized) : null;
    }
  }

  return new RedisStore(
    {
      url,
      // No offline queue and a bounded reconnect: commands sent while Redis is down fail at once.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: connect_ms,
        // A fresh Error, not `cause`: the client tests `instanceof Error`, which fails for
        // errors from another realm (node's net errors under jest's vm contexts).
        reconnectStrategy: (retries: number, cause: Error) =>
          retries >= 2 ? new Error(`Redis at ${url} is unreachable: ${cause.message}`) : 100 * (retries + 1),
      },
      ...(command_ms > 0 ? { commandOptions: { timeout: command_ms } } : {}),
    },
    // No connectionTimeout here: KeyvRedis races it with a timer it never clears; socket.connectTimeout bounds the connect.
    { throwOnErrors: true, throwOnConnectError: true },
  ) as unknown as Store;
}

/** The @redis/client calls used here (its generated types are too deep to name). */
interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { NX?: true; XX?: true; PX?: number }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/**
 * Redis compare-and-swap, run atomically by the server: 0 = no entry, 1 = the
 * entry is not the expected string, 2 = written. ARGV: expected, new value,
 * TTL in ms ('' = none). Comparing the whole string (not a version counter)
 * keeps the stored value exactly what Keyv writes.
 */
const REDIS_CAS = `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return 1 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 2`;
const REDIS_CAS_SHA1 = createHash('sha1').update(REDIS_CAS).digest('hex');

interface MemjsClient {
  get(key: string): Promise<{ value: Buffer | null }>;
  set(key: string, value: string, options: { expires?: number }): Promise<boolean>;
  add(key: string, value: string, options: { expires?: number }): Promise<boolean>;
  close(): void;
  /** memjs's documented hook for choosing a key's server (an index into its server list). */
  getServer(key: string): number;
}

/** memcached's status names (protocol_binary.h), for errors that say what went wrong. */
const MC_STATUS: Record<number, string> = {
  0x0003: 'Value too large', 0x0004: 'Invalid arguments', 0x0005: 'Item not stored',
  0x0081: 'Unknown command', 0x0082: 'Out of memory', 0x0085: 'Busy', 0x0086: 'Temporary failure',
};

function memcached_error(command: string, status: number): Error {
  return new Error(`memcached ${command} failed: ${MC_STATUS[status] ?? 'error'} (status ${status})`);
}

/** The extras of SET/ADD/REPLACE: 4 bytes of flags (0, as memjs writes them) and the expiry. */
function memcached_store_extras(ttl_ms: number | undefined): Buffer {
  const extras = Buffer.alloc(8);
  extras.writeUInt32BE(memcached_expires(ttl_ms), 4);
  return extras;
}

/** memcached reads an expiry over 30 days as a Unix time (Django's memcached backend converts the same way). */
function memcached_expires(ttl_ms: number | undefined): number {
  if (!ttl_ms || ttl_ms <= 0) return 0;
  const seconds = Math.ceil(ttl_ms / 1000);
  return seconds > MEMCACHED_MAX_RELATIVE_S ? Math.floor(Date.now() / 1000) + seconds : seconds;
}

function make_memcached(alias: string, entry: CacheSettings): Store {
  const servers = locations(entry);
  if (servers.length === 0) throw new ImproperlyConfigured(`CACHES['${alias}'] uses the memcached backend but has no LOCATION (e.g. '127.0.0.1:11211').`);
  if (servers.some((s) => s.includes('@'))) {
    throw new ImproperlyConfigured(`CACHES['${alias}']: memcached LOCATION with credentials (user:pass@host) is not supported; the compare-and-swap connection does not speak SASL.`);
  }
  const o = options(entry);
  const command_ms = num(o.COMMAND_TIMEOUT, DEFAULT_IO_TIMEOUT_MS);
  const connect_ms = num(o.CONNECT_TIMEOUT, DEFAULT_IO_TIMEOUT_MS);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KeyvMemcache } = require('@keyv/memcache') as { KeyvMemcache: typeof KeyvMemcacheType };

  class MemcacheStore extends KeyvMemcache implements AtomicOps {
    private get mc(): MemjsClient {
      return this.client as unknown as MemjsClient;
    }

    /** The connections for gets/cas/replace (memjs has no gets/cas: see @tango/core/memcached_binary). */
    readonly binary = new MemcachedBinary(servers, { connect_ms, command_ms });

    private send(key: string, opcode: number, extras: Buffer, value: Buffer, cas: Buffer | null): Promise<McResponse> {
      return this.binary.request(key, opcode, extras, value, cas);
    }

    async gets(key: string): Promise<CacheVersion | undefined> {
      const res = await this.send(this.formatKey(key), MC_GET, Buffer.alloc(0), Buffer.alloc(0), null);
      if (res.status === MC_KEY_ENOENT) return undefined;
      if (res.status !== MC_OK) throw memcached_error('GET', res.status);
      return new CacheVersion(res.value.toString('utf8'), res.cas);
    }

    async cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure> {
      const k = this.formatKey(key);
      let token = expected.token;
      if (!token) {
        // Written by ADD (memjs does not return its token): compare the string, then CAS on the token read now.
        const current = await this.gets(key);
        if (!current) return 'gone';
        if (current.serialized !== expected.serialized) return 'conflict';
        token = current.token;
      }
      // REPLACE with a CAS token is memcached's CAS, as SET with one is; but a SET that fails (a value
      // too large) also unlinks the old item (memcached's process_bin_update), and a REPLACE does not.
      const res = await this.send(k, MC_REPLACE, memcached_store_extras(ttl_ms), Buffer.from(serialized), token);
      if (res.status === MC_OK) return new CacheVersion(serialized, res.cas);
      if (res.status === MC_KEY_EEXISTS) return 'conflict';
      if (res.status === MC_KEY_ENOENT) return 'gone';
      throw memcached_error('CAS', res.status);
    }

    async replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null> {
      const res = await this.send(this.formatKey(key), MC_REPLACE, memcached_store_extras(ttl_ms), Buffer.from(serialized), null);
      if (res.status === MC_OK) return new CacheVersion(serialized, res.cas);
      if (res.status === MC_KEY_ENOENT) return null;
      throw memcached_error('REPLACE', res.status);
    }

    // A miss is undefined (the stock adapter returns an expired placeholder, which costs Keyv a delete).
    override async get<Value>(key: string): Promise<Value | undefined> {
      const { value } = await this.mc.get(this.formatKey(key));
      return value === null ? undefined : (value.toString('utf8') as Value);
    }

    override async set(key: string, value: string, ttl?: number): Promise<void> {
      await this.mc.set(this.formatKey(key), value, { expires: memcached_expires(ttl) });
    }

    override async has(key: string): Promise<boolean> {
      return (await this.get(key)) !== undefined;
    }

    async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
      return this.mc.add(this.formatKey(key), serialized, { expires: memcached_expires(ttl_ms) });
    }

    async disconnect(): Promise<void> {
      this.mc.close();
      this.binary.close();
    }
  }

  const seconds = (ms: number) => ms / 1000;
  const store = new MemcacheStore(servers.join(','), {
    timeout: seconds(command_ms),
    conntimeout: seconds(connect_ms),
    retries: 1,
    logger: { log: (...args: unknown[]) => log.debug(args.map(String).join(' ')) },
  });
  // memjs and the binary client must send a key to the same server (memjs only asks when it has several).
  (store.client as unknown as MemjsClient).getServer = (key: string) => server_index(key, servers.length);
  return store as unknown as Store;
}

function build(alias: string): Cache {
  const entry = settings.CACHES[alias];
  if (!entry) throw new InvalidCacheBackendError(`The connection '${alias}' doesn't exist.`);
  const backend = cache_backend_kind(entry.BACKEND) ?? entry.BACKEND;
  const store = backend === 'redis' ? make_redis(alias, entry) : backend === 'memcached' ? make_memcached(alias, entry) : make_locmem(entry);
  const timeout_s = entry.TIMEOUT ?? DEFAULT_TIMEOUT_S;
  return new Cache(alias, backend, store, { default_ttl_ms: timeout_s * 1000, key_prefix: entry.KEY_PREFIX || undefined });
}

const instances = new Map<string, Cache>();

on_settings_changed(() => {
  const old = [...instances.values()];
  instances.clear();
  for (const c of old) void c.close().catch(() => undefined);
});

/** The cache for `alias` from settings.CACHES, built on first use. */
export function get_cache(alias = 'default'): Cache {
  let cache = instances.get(alias);
  if (!cache) {
    cache = build(alias);
    instances.set(alias, cache);
  }
  return cache;
}

/** Disconnects every cache built so far (end of tests, server shutdown). */
export async function close_caches(): Promise<void> {
  const all = [...instances.values()];
  instances.clear();
  await Promise.all(all.map((c) => c.close().catch(() => undefined)));
}

// A graceful stop (serve, runserver) closes the cache clients.
on_shutdown(close_caches);
