/**
 * django.contrib.sessions.backends.cache: the session dict is the cache
 * value under 'django.contrib.sessions.cache' + key, in the cache named by
 * SESSION_CACHE_ALIAS, with a timeout of get_expiry_age(). The cache expires
 * entries itself, so clear_expired() has nothing to do.
 *
 * The value is the dict as JSON (Keyv's serializer); Django pickles it, so
 * this store cannot be shared with a Django site (use the db engine for that).
 *
 * Two departures, both for failure modes Django leaves to chance:
 * - A key that no engine can have issued (not 8–40 characters of [a-z0-9],
 *   SessionBase._validate_session_key) is a miss without a round trip; Django
 *   sends it and swallows the error memcached raises for long or odd keys
 *   (its ticket #17810).
 * - A store error is StoreUnavailable (a 503), not a silent miss: a cache that
 *   is down must not log every user out and then fail their next write.
 *
 * Concurrent saves (see SessionBase) use the cache's compare-and-swap
 * (Cache.cas: a Lua script on Redis, memcached's CAS token, a synchronous
 * compare on locmem) on the entry as it was loaded, and Cache.replace for
 * the last-write-wins fallback, so a deleted entry is never re-created.
 */
import { get_cache, type Cache, type CacheVersion } from '@tango/core/cache';
import { settings } from '@tango/core/conf';
import { NotSerializable, StoreUnavailable } from '@tango/core/errors';
import { register_memo } from '@tango/core/memos';
import { SessionBase } from '../base';
import { is_plain_object, new_dict, type SessionDict } from '../session_dict';
import { reason_of, type CasResult, type StoreErrorMap, type StoredState } from '../store_io';
import { CreateError } from '../exceptions';

export const KEY_PREFIX = 'django.contrib.sessions.cache';

/** Every failure of a cache call is an outage of the session store; one map per cache, made once. */
let failures = new WeakMap<Cache, StoreErrorMap>();
register_memo('sessions.cache.failure_maps', () => {
  failures = new WeakMap();
});

function failure_of(cache: Cache): StoreErrorMap {
  let map = failures.get(cache);
  if (map === undefined) {
    // A value the cache cannot serialize is the view's bug (a 500), not an outage.
    map = (err, what) => err instanceof StoreUnavailable ? err : err instanceof NotSerializable ? NotSerializable.from(err, 'The session data') :
      new StoreUnavailable(`The session cache ${String(cache)} failed (${what}): ${reason_of(err)}`);
    failures.set(cache, map);
  }
  return map;
}

/**
 * A cache entry as a session's stored state: its version is what cas()
 * checks, its value (deserialized afresh) the data. cached_db reads its
 * cache entries this way too.
 */
export function cache_entry_state(cache: Cache, version: CacheVersion): StoredState {
  return { version, data: async () => new_dict((await cache.value_of(version)) as Record<string, unknown> | undefined) };
}

export class SessionStore extends SessionBase {
  // Resolved at construction, as Django does: an unknown alias fails here.
  protected _cache: Cache = get_cache(settings.SESSION_CACHE_ALIAS);
  #failure: StoreErrorMap = failure_of(this._cache);
  /** cache_key, and the session key it was built for. */
  #cache_key: string | undefined = undefined;
  #cache_key_for: string | undefined = undefined;

  get cache_key_prefix(): string {
    return KEY_PREFIX;
  }

  /**
   * Django's cache_key (without its create-a-key side effect: save() first).
   * One string per session key: a load and a save then hand the store the
   * same string, which is flattened and hashed once (see Cache.gets).
   */
  get cache_key(): string {
    const key = this.session_key;
    if (key === null) throw new Error('This session has no key yet; save() it first.');
    if (this.#cache_key_for !== key) {
      this.#cache_key = this.#cache_prefixed(key);
      this.#cache_key_for = key;
    }
    return this.#cache_key as string;
  }

  /** Runs one cache call under the store timeout; any failure is the store's. */
  #call<T>(op: () => Promise<T>, what: string): Promise<T> {
    let started: Promise<T>;
    try {
      started = op();
    } catch (err) {
      return Promise.reject(this.#failure(err, what));
    }
    return this.io(started, what, this.#failure);
  }

  async load(): Promise<SessionDict> {
    const key = this.session_key;
    const hit = key !== null
      ? await this.#call(() => this._cache.gets(this.cache_key), 'cache get')
      : undefined;
    const data = hit?.value;
    if (hit !== undefined && is_plain_object(data)) {
      this.set_stored_state(cache_entry_state(this._cache, hit.version));
      return new_dict(data);
    }
    this._session_key = null;
    return new_dict();
  }

  #cache_prefixed(key: string): string {
    return this.cache_key_prefix + key;
  }

  // Keyv reads a 0 ttl as "forever" and Redis refuses a negative one; Django's
  // timeout <= 0 means "already expired". Such an entry is not stored at all.
  protected override async insert_record(data: SessionDict): Promise<void> {
    const key = this.cache_key;
    const ttl_ms = this.get_expiry_age() * 1000;
    if (ttl_ms <= 0) {
      if (await this.#call(() => this._cache.has(key), 'cache has')) throw new CreateError();
      return;
    }
    const version = await this.#call(() => this._cache.add_versioned(key, data, ttl_ms), 'cache add');
    if (version === null) throw new CreateError();
    this.set_stored_state(cache_entry_state(this._cache, version));
  }

  protected override async read_stored_state(): Promise<StoredState | null> {
    const hit = await this.#call(() => this._cache.gets(this.cache_key), 'cache get');
    return hit === undefined ? null : cache_entry_state(this._cache, hit.version);
  }

  protected override async compare_and_swap(expected: StoredState | null, data: SessionDict): Promise<CasResult> {
    const key = this.cache_key;
    const ttl_ms = this.get_expiry_age() * 1000;
    if (ttl_ms <= 0) return (await this.#call(() => this._cache.delete(key), 'cache delete')) ? 'ok' : 'gone';
    const result = expected === null
      ? (await this.#call(() => this._cache.replace(key, data, ttl_ms), 'cache replace')) ?? 'gone'
      : await this.#call(() => this._cache.cas(key, expected.version as CacheVersion, data, ttl_ms), 'cache cas');
    if (typeof result === 'string') return result;
    this.set_stored_state(cache_entry_state(this._cache, result));
    return 'ok';
  }

  /** A cache can fail silently, so collisions and an absent cache look alike: give up after 10000 tries (Django's bound). */
  protected override get max_create_attempts(): number {
    return 10000;
  }

  async exists(session_key: string): Promise<boolean> {
    const key = this.key_if_valid(session_key);
    return key !== null && this.#call(() => this._cache.has(this.#cache_prefixed(key)), 'cache has');
  }

  async delete_session(session_key: string | null = null): Promise<void> {
    const key = this.key_if_valid(session_key ?? this.session_key);
    if (key === null) return;
    await this.#call(() => this._cache.delete(this.#cache_prefixed(key)), 'cache delete');
  }

  static override async clear_expired(): Promise<number> {
    return 0;
  }
}
