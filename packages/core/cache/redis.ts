/**
 * The Redis store: @keyv/redis, LOCATION 'redis://host:port[/db]', with
 * Django's add (SET NX PX), a compare-and-swap run by the server as a Lua
 * script, and replace (SET XX).
 *
 * @keyv/redis is required inside make_redis, so an app that never configures
 * Redis never loads its client. The connect is bounded (OPTIONS.CONNECT_TIMEOUT,
 * milliseconds, default 2000) so a dead server fails fast instead of queueing;
 * commands only when COMMAND_TIMEOUT is set, because @redis/client arms an
 * AbortSignal.timeout() per command, which costs more than the command itself
 * and holds native memory while load lasts. Session operations are bounded by
 * SESSION_STORE_TIMEOUT either way. The client connects once for all callers
 * (see RedisStore.getClient).
 */
import { createHash } from 'node:crypto';
import type KeyvRedisType from '@keyv/redis';
import type { CacheSettings } from '../conf';
import { ImproperlyConfigured } from '../errors';
import { CacheVersion, type AtomicOps, type CasFailure, type Store } from './base';
import { DEFAULT_IO_TIMEOUT_MS, locations, num, options } from './entry';

export function make_redis(alias: string, entry: CacheSettings): Store {
  const url = locations(entry)[0];
  if (!url) throw new ImproperlyConfigured(`CACHES['${alias}'] uses the redis backend but has no LOCATION (e.g. 'redis://127.0.0.1:6379').`);
  const o = options(entry);
  const connect_ms = num(o.CONNECT_TIMEOUT, DEFAULT_IO_TIMEOUT_MS);
  const command_ms = num(o.COMMAND_TIMEOUT, 0);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const KeyvRedis = (require('@keyv/redis') as { default: typeof KeyvRedisType }).default;

  class RedisStore extends KeyvRedis<string> implements AtomicOps {
    #connecting: ReturnType<KeyvRedisType<string>['getClient']> | null = null;

    /**
     * One connection attempt, shared by every caller while it runs. @keyv/redis
     * hands out the client as soon as it `isOpen`, which node-redis sets when
     * connect() starts: with no offline queue, a burst of first requests had
     * their commands refused ("The client is offline") although Redis was up.
     * A client reconnecting on its own (open, not ready) still fails fast.
     */
    override getClient(): ReturnType<KeyvRedisType<string>['getClient']> {
      // Connected: the client itself, without the connect attempt's promise chain (every command asks).
      if (this.#ready_client()) return Promise.resolve(this.client) as ReturnType<KeyvRedisType<string>['getClient']>;
      this.#connecting ??= super.getClient().finally(() => {
        this.#connecting = null;
      });
      return this.#connecting;
    }

    /**
     * The client if it is connected and ready. Callers take it without an
     * await: awaiting (or resolving a promise with) the client makes V8 look
     * for a `then` along its whole prototype chain, per command.
     */
    #ready_client(): RedisCommands | undefined {
      return (this.client as { isReady?: boolean }).isReady ? (this.client as unknown as RedisCommands) : undefined;
    }

    async #connected(): Promise<RedisCommands> {
      return (await this.getClient()) as unknown as RedisCommands;
    }

    async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
      const k = this.createKeyPrefix(key, this.namespace);
      const reply = await (this.#ready_client() ?? (await this.#connected())).set(k, serialized, ttl_ms ? { NX: true, PX: Math.ceil(ttl_ms) } : { NX: true });
      return reply === 'OK';
    }

    async gets(key: string): Promise<CacheVersion | undefined> {
      const value = await (this.#ready_client() ?? (await this.#connected())).get(this.createKeyPrefix(key, this.namespace));
      return value === null ? undefined : new CacheVersion(value);
    }

    async cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure> {
      const redis = this.#ready_client() ?? (await this.#connected());
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
      const reply = await (this.#ready_client() ?? (await this.#connected())).set(k, serialized, ttl_ms ? { XX: true, PX: Math.ceil(ttl_ms) } : { XX: true });
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
