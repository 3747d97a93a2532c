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
 * short connect and command timeouts (OPTIONS.CONNECT_TIMEOUT / COMMAND_TIMEOUT,
 * milliseconds, default 2000) so a dead server fails fast instead of queueing.
 *
 * Keyv has no atomic "add"; Cache.add() provides Django's cache.add with each
 * store's own primitive: SET NX PX on Redis, memcached's ADD command (memjs
 * `add`), and a synchronous check-and-set for locmem (no await between the
 * check and the write, so no other request can interleave).
 *
 * Values are serialized by Keyv as JSON. Django pickles cache values, so a
 * Tango cache cannot be shared with a Django site (the db engine can).
 */
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import type KeyvRedisType from '@keyv/redis';
import type { KeyvMemcache as KeyvMemcacheType } from '@keyv/memcache';
import { settings, on_settings_changed, type CacheSettings } from './conf';
import { cache_backend_kind } from './conf/schema';
import { ImproperlyConfigured } from './errors';
import { get_logger } from './log';

const log = get_logger('tango.cache');

/** Django's InvalidCacheBackendError: the alias is not in settings.CACHES. */
export class InvalidCacheBackendError extends ImproperlyConfigured {}

/** The store-side half of Cache.add(): store `serialized` under `key` only if no live entry is there. */
interface AtomicAdd {
  add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean>;
}

type Store = KeyvStoreAdapter & AtomicAdd;

const DEFAULT_TIMEOUT_S = 300; // Django's default cache TIMEOUT
const DEFAULT_IO_TIMEOUT_MS = 2000;
const MEMCACHED_MAX_RELATIVE_S = 60 * 60 * 24 * 30; // longer expiries are read by memcached as a Unix time

/** A Keyv with Django's `add`. Get one from get_cache(). */
export class Cache extends Keyv<unknown> {
  constructor(
    readonly alias: string,
    readonly backend: string,
    private readonly atomic: Store,
    opts: { default_ttl_ms?: number; key_prefix?: string },
  ) {
    // useKeyPrefix false: the store applies the namespace (KEY_PREFIX) itself, once.
    super(atomic, { ttl: opts.default_ttl_ms, namespace: opts.key_prefix, useKeyPrefix: false, throwOnErrors: true });
  }

  /**
   * Django's cache.add: true if stored, false if a live entry already had the
   * key. `ttl_ms` as for set(): undefined is the default TIMEOUT, 0 is no expiry.
   */
  async add(key: string, value: unknown, ttl_ms?: number): Promise<boolean> {
    if (ttl_ms !== undefined && !(ttl_ms >= 0)) throw new RangeError(`Cache.add needs a ttl >= 0 ms, got ${ttl_ms}`);
    const ttl = ttl_ms ?? this.ttl;
    const expires = typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl : undefined;
    const serialized = await this.serializeData({ value, expires });
    return this.atomic.add(key, String(serialized), expires === undefined ? undefined : ttl);
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

  async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
    const k = this.k(key);
    if (this.live(k)) return false;
    this.put(k, serialized, ttl_ms);
    return true;
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
  const command_ms = num(o.COMMAND_TIMEOUT, DEFAULT_IO_TIMEOUT_MS);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const KeyvRedis = (require('@keyv/redis') as { default: typeof KeyvRedisType }).default;

  class RedisStore extends KeyvRedis<string> implements AtomicAdd {
    async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
      const client = await this.getClient();
      const k = this.createKeyPrefix(key, this.namespace);
      const reply = await (client as unknown as RedisSetNx).set(k, serialized, ttl_ms ? { NX: true, PX: Math.ceil(ttl_ms) } : { NX: true });
      return reply === 'OK';
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
      commandOptions: { timeout: command_ms },
    },
    // No connectionTimeout here: KeyvRedis races it with a timer it never clears; socket.connectTimeout bounds the connect.
    { throwOnErrors: true, throwOnConnectError: true },
  ) as unknown as Store;
}

interface RedisSetNx {
  set(key: string, value: string, options: { NX: true; PX?: number }): Promise<string | null>;
}

interface MemjsClient {
  get(key: string): Promise<{ value: Buffer | null }>;
  set(key: string, value: string, options: { expires?: number }): Promise<boolean>;
  add(key: string, value: string, options: { expires?: number }): Promise<boolean>;
  close(): void;
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
  const o = options(entry);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KeyvMemcache } = require('@keyv/memcache') as { KeyvMemcache: typeof KeyvMemcacheType };

  class MemcacheStore extends KeyvMemcache implements AtomicAdd {
    private get mc(): MemjsClient {
      return this.client as unknown as MemjsClient;
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
    }
  }

  const seconds = (ms: number) => ms / 1000;
  return new MemcacheStore(servers.join(','), {
    timeout: seconds(num(o.COMMAND_TIMEOUT, DEFAULT_IO_TIMEOUT_MS)),
    conntimeout: seconds(num(o.CONNECT_TIMEOUT, DEFAULT_IO_TIMEOUT_MS)),
    retries: 1,
    logger: { log: (...args: unknown[]) => log.debug(args.map(String).join(' ')) },
  }) as unknown as Store;
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
