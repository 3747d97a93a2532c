/**
 * The Memcached store: @keyv/memcache (memjs), LOCATION 'host:port' (or a
 * list), with memcached's own ADD, and gets/cas/replace sent with the binary
 * protocol on a connection of its own (@tango/core/memcached_binary), since
 * memjs offers no gets/cas.
 *
 * memjs is required inside make_memcached, so an app that never configures
 * Memcached never loads it. Connects and commands are bounded
 * (OPTIONS.CONNECT_TIMEOUT and COMMAND_TIMEOUT, milliseconds, default 2000).
 */
import type { KeyvMemcache as KeyvMemcacheType } from '@keyv/memcache';
import type { CacheSettings } from '../conf';
import { ImproperlyConfigured } from '../errors';
import { get_logger } from '../log';
import { MC_GET, MC_KEY_EEXISTS, MC_KEY_ENOENT, MC_OK, MC_REPLACE, MemcachedBinary, server_index, type McResponse } from '../memcached_binary';
import { CacheVersion, type AtomicOps, type CasFailure, type Store } from './base';
import { DEFAULT_IO_TIMEOUT_MS, locations, num, options } from './entry';

const log = get_logger('tango.cache');

const MEMCACHED_MAX_RELATIVE_S = 60 * 60 * 24 * 30; // longer expiries are read by memcached as a Unix time

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

export function make_memcached(alias: string, entry: CacheSettings): Store {
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
    get #mc(): MemjsClient {
      return this.client as unknown as MemjsClient;
    }

    /** The connections for gets/cas/replace (memjs has no gets/cas: see @tango/core/memcached_binary). */
    readonly binary = new MemcachedBinary(servers, { connect_ms, command_ms });

    #send(key: string, opcode: number, extras: Buffer, value: Buffer, cas: Buffer | null): Promise<McResponse> {
      return this.binary.request(key, opcode, extras, value, cas);
    }

    async gets(key: string): Promise<CacheVersion | undefined> {
      const res = await this.#send(this.formatKey(key), MC_GET, Buffer.alloc(0), Buffer.alloc(0), null);
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
      const res = await this.#send(k, MC_REPLACE, memcached_store_extras(ttl_ms), Buffer.from(serialized), token);
      if (res.status === MC_OK) return new CacheVersion(serialized, res.cas);
      if (res.status === MC_KEY_EEXISTS) return 'conflict';
      if (res.status === MC_KEY_ENOENT) return 'gone';
      throw memcached_error('CAS', res.status);
    }

    async replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null> {
      const res = await this.#send(this.formatKey(key), MC_REPLACE, memcached_store_extras(ttl_ms), Buffer.from(serialized), null);
      if (res.status === MC_OK) return new CacheVersion(serialized, res.cas);
      if (res.status === MC_KEY_ENOENT) return null;
      throw memcached_error('REPLACE', res.status);
    }

    // A miss is undefined (the stock adapter returns an expired placeholder, which costs Keyv a delete).
    override async get<Value>(key: string): Promise<Value | undefined> {
      const { value } = await this.#mc.get(this.formatKey(key));
      return value === null ? undefined : (value.toString('utf8') as Value);
    }

    override async set(key: string, value: string, ttl?: number): Promise<void> {
      await this.#mc.set(this.formatKey(key), value, { expires: memcached_expires(ttl) });
    }

    override async has(key: string): Promise<boolean> {
      return (await this.get(key)) !== undefined;
    }

    async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
      return this.#mc.add(this.formatKey(key), serialized, { expires: memcached_expires(ttl_ms) });
    }

    async disconnect(): Promise<void> {
      this.#mc.close();
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
