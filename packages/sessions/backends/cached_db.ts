/**
 * django.contrib.sessions.backends.cached_db: the db engine with a
 * write-through cache in front. Reads try the cache (key
 * 'django.contrib.sessions.cached_db' + session key, value = the data dict)
 * and fall back to the database, refilling the cache for the row's remaining
 * lifetime. Writes go to the database first; the cache is best effort: any
 * cache failure is logged at ERROR on 'tango.sessions' and never fails the
 * request (the database stays the truth).
 *
 * Concurrent saves (see SessionBase): the compare-and-swap is the db
 * engine's, on the row (for a session read from the cache, on the data the
 * row holds rather than its exact value, so no extra read is needed). Then the cache is written only over the entry this
 * request saw (the cache's own cas, or add for a new session): a slower
 * request cannot put an older version back, nor re-create an entry a logout
 * deleted. When the entry moved on meanwhile, it is dropped instead, and the
 * next read refills it from the database. Refills use add, never overwrite.
 */
import { set_bounded } from '@tango/core/bounded_map';
import { CacheVersion, get_cache, type Cache } from '@tango/core/cache';
import { on_settings_changed, settings } from '@tango/core/conf';
import { get_logger } from '@tango/core/log';
import { new_dict, unproxied, type CasResult, type SessionDict, type StoredState } from '../base';
import { SessionStore as DBStore } from './db';

export const KEY_PREFIX = 'django.contrib.sessions.cached_db';

const logger = get_logger('tango.sessions');

/**
 * Per session key, the cache entry this process last wrote for it and the
 * payload part of the row written in the same save (session_data up to its
 * first ':'). A session read from that very entry saves with that prefix as
 * the row's compare-and-swap instead of decoding the entry and encoding the
 * data again to find it, which cost more than the rest of the save. Keyed by
 * session key (32 characters to hash), with the entry compared in full. An
 * entry another process wrote is not here: its prefix is computed. Should a
 * prefix ever not match, the UPDATE finds a conflict, and the save merges
 * from the row: nothing is lost.
 */
const written = new Map<string, { entry: string; prefix: string }>();
export const MAX_REMEMBERED_ENTRIES = 4096;
const MAX_ENTRY_LENGTH = 16 * 1024;
on_settings_changed(() => written.clear());

function written_prefix(session_key: string | null, entry: string): string | undefined {
  const hit = session_key === null ? undefined : written.get(session_key);
  return hit !== undefined && hit.entry === entry ? hit.prefix : undefined;
}

export class SessionStore extends DBStore {
  declare protected _cache_store: Cache;
  /** The cache entry as this session last read or wrote it: null for none, undefined when unknown (never set). */
  declare private _cache_version: CacheVersion | null | undefined;

  constructor(session_key: string | null = null) {
    super(session_key);
    // Set on the session itself: `this` is the bracket-access proxy here, and
    // defining properties through it costs more than the rest of construction.
    // Resolved at construction, as Django does: an unknown alias fails here.
    unproxied(this)._cache_store = get_cache(settings.SESSION_CACHE_ALIAS);
  }

  get cache_key_prefix(): string {
    return KEY_PREFIX;
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

  override async load(): Promise<SessionDict> {
    // No key (or one _validate_session_key refused): nothing to ask either store.
    if (this.session_key === null) return new_dict();
    const key = this.cache_key;
    let hit: { value: unknown; version: CacheVersion } | undefined;
    try {
      hit = await this.io(this._cache_store.gets(key), 'cache get');
    } catch {
      // Any cache failure (down, key too long for memcached) is a miss, as in Django.
      hit = undefined;
    }
    if (hit !== undefined && typeof hit.value === 'object' && hit.value !== null) {
      const version = hit.version;
      this._cache_version = version;
      // The row's session_data is not known from here; _compare_and_swap finds it when a save needs it.
      this._set_stored({ version, data: async () => new_dict((await this._cache_store.value_of(version)) as Record<string, unknown>) });
      return hit.value as SessionDict;
    }
    const row = await this._get_session_from_db();
    if (!row) return {};
    const decoded = this.decode(row.session_data);
    // Cache seconds → Keyv milliseconds; a lifetime <= 0 would mean "forever" to Keyv, so such data is not cached.
    const age_s = this.get_expiry_age({ expiry: row.expire_date });
    this._cache_version = undefined;
    if (age_s > 0) {
      try {
        // add, not set: a save that raced this read may have cached newer data already.
        this._cache_version = (await this.io(this._cache_store.add_versioned(key, decoded, age_s * 1000), 'cache add')) ?? undefined;
      } catch (err) {
        this.cache_error('saving to', err);
      }
    }
    return decoded;
  }

  /**
   * A session loaded from the cache has no row value to compare with, only
   * its data: the row is written if it still holds that data (one UPDATE);
   * otherwise someone saved meanwhile (or the cache was stale): a conflict,
   * which SessionBase merges from the row.
   */
  protected override async _compare_and_swap(expected: StoredState | null, data: SessionDict): Promise<CasResult> {
    if (expected !== null && expected.version instanceof CacheVersion) {
      const prefix = written_prefix(this.session_key, expected.version.serialized);
      return prefix !== undefined
        ? this._compare_payload_and_swap(prefix, data)
        : this._compare_data_and_swap(await expected.data(), data);
    }
    return super._compare_and_swap(expected, data);
  }

  override async exists(session_key: string): Promise<boolean> {
    if (this._checked_key(session_key) === null) return false;
    try {
      if (await this.io(this._cache_store.has(this.cache_key_prefix + session_key), 'cache has')) return true;
    } catch {
      // Fall through to the database.
    }
    return super.exists(session_key);
  }

  override async save(must_create = false): Promise<void> {
    // create() comes back here with must_create, and that call writes the cache.
    if (this.session_key === null) return await this.create();
    await super.save(must_create);
    // A new row has no cache entry yet (add); otherwise only over the entry this session saw (cas).
    if (must_create) this._cache_version = null;
    await this._write_cache(this._loaded_session(must_create) ?? (await this._aget_session()));
  }

  private async _write_cache(data: SessionDict): Promise<void> {
    const session_key = this.session_key as string;
    const key = this.cache_key;
    const age_s = this.get_expiry_age();
    const seen = this._cache_version;
    this._cache_version = undefined;
    try {
      let result: CacheVersion | 'conflict' | 'gone' = 'conflict';
      if (age_s > 0 && seen !== undefined) {
        result = seen === null
          ? (await this.io(this._cache_store.add_versioned(key, data, age_s * 1000), 'cache add')) ?? 'conflict'
          : await this.io(this._cache_store.cas(key, seen, data, age_s * 1000), 'cache cas');
      }
      // Moved on, unknown, or nothing to cache: drop the entry (the database has the data).
      if (result === 'conflict') await this.io(this._cache_store.delete(key), 'cache delete');
      // 'gone': deleted meanwhile (a logout, an eviction): it stays deleted.
      else if (result !== 'gone') {
        this._cache_version = result;
        // The row the save just wrote: the db engine's stored version is its session_data.
        const row = this._get_stored()?.version;
        if (typeof row === 'string' && result.serialized.length <= MAX_ENTRY_LENGTH) {
          set_bounded(written, session_key, { entry: result.serialized, prefix: row.slice(0, row.indexOf(':') + 1) }, MAX_REMEMBERED_ENTRIES);
        }
      }
    } catch (err) {
      this.cache_error('saving to', err);
    }
  }

  override async delete_session(session_key: string | null = null): Promise<void> {
    const key = this._checked_key(session_key ?? this.session_key);
    if (key === null) return;
    await super.delete_session(key);
    try {
      await this.io(this._cache_store.delete(this.cache_key_prefix + key), 'cache delete');
    } catch (err) {
      this.cache_error('deleting from', err);
    }
  }
}
