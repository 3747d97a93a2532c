/**
 * django.contrib.sessions.backends.cached_db: the db engine with a
 * write-through cache in front. Reads try the cache (key
 * 'django.contrib.sessions.cached_db' + session key, value = the data dict)
 * and fall back to the database, refilling the cache for the row's remaining
 * lifetime. Writes go to the database first; the cache is best effort: any
 * cache failure is logged at ERROR on 'tango.sessions' and never fails the
 * request (the database stays the truth).
 */
import { get_cache, type Cache } from '@tango/core/cache';
import { settings } from '@tango/core/conf';
import { get_logger } from '@tango/core/log';
import { type SessionDict } from '../base';
import { SessionStore as DBStore } from './db';

export const KEY_PREFIX = 'django.contrib.sessions.cached_db';

const logger = get_logger('tango.sessions');

export class SessionStore extends DBStore {
  readonly cache_key_prefix = KEY_PREFIX;
  protected readonly _cache_store: Cache;

  constructor(session_key: string | null = null) {
    super(session_key);
    // Resolved at construction, as Django does: an unknown alias fails here.
    this._cache_store = get_cache(settings.SESSION_CACHE_ALIAS);
  }

  get cache_key(): string {
    return this.cache_key_prefix + this.session_key;
  }

  private cache_error(what: string, err: unknown): void {
    // A driver's error may come from another realm (instanceof Error false there): keep its message.
    const message = (err as { message?: unknown } | null)?.message;
    const e = err instanceof Error ? err : new Error(typeof message === 'string' ? message : String(err), { cause: err });
    logger.error(`Error ${what} cache (${String(this._cache_store)})`, e);
  }

  /** Cache seconds → Keyv milliseconds. A lifetime <= 0 would mean "forever" to Keyv, so such data is not cached. */
  private async cache_set(key: string, data: SessionDict, age_s: number): Promise<void> {
    try {
      if (age_s > 0) await this.io(this._cache_store.set(key, data, age_s * 1000), 'cache set');
      else await this.io(this._cache_store.delete(key), 'cache delete');
    } catch (err) {
      this.cache_error('saving to', err);
    }
  }

  override async load(): Promise<SessionDict> {
    const key = this.cache_key;
    let data: SessionDict | undefined;
    try {
      data = (await this.io(this._cache_store.get(key), 'cache get')) as SessionDict | undefined;
    } catch {
      // Any cache failure (down, key too long for memcached) is a miss, as in Django.
      data = undefined;
    }
    if (data !== undefined && data !== null) return data;
    const row = await this._get_session_from_db();
    if (!row) return {};
    const decoded = this.decode(row.session_data);
    await this.cache_set(key, decoded, this.get_expiry_age({ expiry: row.expire_date }));
    return decoded;
  }

  override async exists(session_key: string): Promise<boolean> {
    try {
      if (await this.io(this._cache_store.has(this.cache_key_prefix + session_key), 'cache has')) return true;
    } catch {
      // Fall through to the database.
    }
    return super.exists(session_key);
  }

  override async save(must_create = false): Promise<void> {
    // create() comes back here with must_create, and that call writes the cache.
    if (this.session_key === null) return this.create();
    await super.save(must_create);
    await this.cache_set(this.cache_key, await this._aget_session(must_create), this.get_expiry_age());
  }

  override async delete_session(session_key: string | null = null): Promise<void> {
    const key = session_key ?? this.session_key;
    await super.delete_session(key);
    if (key === null) return;
    try {
      await this.io(this._cache_store.delete(this.cache_key_prefix + key), 'cache delete');
    } catch (err) {
      this.cache_error('deleting from', err);
    }
  }
}
