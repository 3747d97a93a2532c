/**
 * django.contrib.sessions.backends.cached_db: the db engine with a cache in
 * front. Reads try the cache (key 'django.contrib.sessions.cached_db' +
 * session key, value = the data dict) and fall back to the database,
 * refilling the cache for the row's remaining lifetime.
 *
 * Coherence (issue 19). The database is the truth; a cache entry may only
 * ever hold what the row holds. Django writes the row, then the cache, and a
 * failed cache write leaves the old entry to be served once the cache is
 * back: increments went backwards and logouts were undone. Here a row is
 * never changed while a data entry could outlive the change:
 *
 *   1. mark: before touching the row (save over it, or delete it), the entry
 *      is replaced by a pending mark naming this writer (with a deadline).
 *      If the cache cannot be reached, the request fails (503) with the row
 *      untouched: nothing is acknowledged that could be lost.
 *   2. the row is written (the db engine's compare-and-swap).
 *   3. publish: the new data goes in only over this writer's own mark, and
 *      only if no other writer was marked in it (another write in flight may
 *      land after this one). Otherwise this writer takes itself off the mark
 *      and the entry stays a mark. If the cache is gone by now the mark stays:
 *      the response is still right, and the entry holds no data.
 *
 * A reader treats a mark with a live writer as a miss and does not refill.
 * It refills only where it saw no entry (add) or a mark without live writers
 * (a compare-and-swap over that very mark), so a writer that marks after the
 * reader looked defeats a refill carrying the old row. A new session (a
 * fresh random key nobody else can have read) is inserted, then added.
 *
 * So after any failure the entry is a mark or the row's data, in every
 * process, and after a cache restart that brings back what it had
 * acknowledged (Redis with appendonly). docs/sessions.md states the limits.
 *
 * Concurrent saves (see SessionBase): the compare-and-swap is the db
 * engine's, on the row (for a session read from the cache, on the data the
 * row holds rather than its exact value, so no extra read is needed).
 */
import { set_bounded } from '@tango/core/bounded_map';
import { CacheVersion, get_cache, type Cache } from '@tango/core/cache';
import { settings } from '@tango/core/conf';
import { get_random_string, VALID_KEY_CHARS } from '@tango/core/crypto';
import { StoreUnavailable } from '@tango/core/errors';
import { get_logger } from '@tango/core/log';
import { register_memo } from '@tango/core/memos';
import { new_dict, type SessionDict } from '../session_dict';
import { reason_of, type CasResult, type StoredState } from '../store_io';
import { cache_entry_state } from './cache';
import { SessionStore as DBStore } from './db';

export const KEY_PREFIX = 'django.contrib.sessions.cached_db';

/** The value of an entry that holds no session: the writers in flight follow, as ` id@deadline_ms`. Not an object, so never read as data. */
export const PENDING = 'tango.cached_db.pending';

/** How often a mark is tried again when another request changed the entry meanwhile. */
const MARK_ATTEMPTS = 8;

const logger = get_logger('tango.sessions');

/**
 * How long a mark protects a writer, from the moment it marks (ms): past it,
 * readers take the writer for dead and may refill. Far above
 * SESSION_STORE_TIMEOUT, which bounds each of the writer's database calls; a
 * writer that finishes later marks again before answering (see save()).
 */
export function pending_ms(): number {
  return Math.max(30_000, 10 * settings.SESSION_STORE_TIMEOUT);
}

interface Writer {
  id: string;
  /** Date.now() past which this writer is taken for dead. */
  until: number;
}

/** An entry as read: its version, and the writers its mark names (null: it holds session data). */
interface Seen {
  version: CacheVersion;
  pending: Writer[] | null;
}

/** This request's mark, as it wrote it. */
interface Marked {
  key: string;
  version: CacheVersion;
  me: Writer;
  /** Other live writers the mark named when this one joined it. */
  others: number;
}

function mark_text(writers: Writer[]): string {
  return PENDING + writers.map((w) => ` ${w.id}@${w.until}`).join('');
}

/** The entry `value` as Seen: data, a mark, or (anything else) a mark without writers, which a reader may refill over. */
function seen_of(value: unknown, version: CacheVersion): Seen {
  if (typeof value === 'object' && value !== null) return { version, pending: null };
  const writers: Writer[] = [];
  if (typeof value === 'string' && value.startsWith(PENDING)) {
    for (const part of value.slice(PENDING.length).split(' ')) {
      const at = part.indexOf('@');
      const until = Number(part.slice(at + 1));
      if (at > 0 && Number.isFinite(until)) writers.push({ id: part.slice(0, at), until });
    }
  }
  return { version, pending: writers };
}

function live(writers: Writer[], now: number): Writer[] {
  return writers.filter((w) => w.until > now);
}

/** A cache failure in the write path: the row is left as it was, and the request answers 503. */
function unreachable(what: string, err: unknown): StoreUnavailable {
  if (err instanceof StoreUnavailable) return err;
  return new StoreUnavailable(`The session cache is unreachable (${what}): ${reason_of(err)}`);
}

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
register_memo('sessions.cached_db.written', () => written.clear(), { settings: true });

function written_prefix(session_key: string | null, entry: string): string | undefined {
  const hit = session_key === null ? undefined : written.get(session_key);
  return hit !== undefined && hit.entry === entry ? hit.prefix : undefined;
}

export class SessionStore extends DBStore {
  // Resolved at construction, as Django does: an unknown alias fails here.
  protected _cache: Cache = get_cache(settings.SESSION_CACHE_ALIAS);
  /** The entry as this session last read or wrote it: null for none, undefined when unknown. */
  #cache_seen: Seen | null | undefined = undefined;
  /** The cache error load() met, if any: a save in the same request does not wait for the cache a second time. */
  #cache_failure: unknown = undefined;

  get cache_key_prefix(): string {
    return KEY_PREFIX;
  }

  get cache_key(): string {
    return this.cache_key_prefix + this.session_key;
  }

  #cache_error(what: string, err: unknown): void {
    // A driver's error may come from another realm (instanceof Error false there): keep its message.
    const message = (err as { message?: unknown } | null)?.message;
    const e = err instanceof Error ? err : new Error(typeof message === 'string' ? message : String(err), { cause: err });
    logger.error(`Error ${what} cache (${String(this._cache)})`, e);
  }

  override async load(): Promise<SessionDict> {
    // No key (or one _validate_session_key refused): nothing to ask either store.
    if (this.session_key === null) return new_dict();
    const key = this.cache_key;
    let seen: Seen | null | undefined;
    try {
      const hit = await this.io(this._cache.gets(key), 'cache get');
      seen = hit === undefined ? null : seen_of(hit.value, hit.version);
      if (seen !== null && seen.pending === null) {
        const version = seen.version;
        this.#cache_seen = seen;
        // The row's session_data is not known from here; compare_and_swap finds it when a save needs it.
        this.set_stored_state(cache_entry_state(this._cache, version));
        return (hit as { value: unknown }).value as SessionDict;
      }
    } catch (err) {
      // Any cache failure (down, key too long for memcached) is a miss, as in Django; nothing is refilled.
      seen = undefined;
      this.#cache_failure = err;
    }
    this.#cache_seen = seen;
    const row = await this._get_session_from_db();
    if (!row) return {};
    const decoded = row.data;
    // Cache seconds → Keyv milliseconds; a lifetime <= 0 would mean "forever" to Keyv, so such data is not cached.
    const age_s = this.get_expiry_age({ expiry: row.expire_date });
    // Refill only where no writer can be in flight: no entry (add), or a mark without live writers (cas over it).
    if (age_s > 0 && seen !== undefined && (seen === null || live(seen.pending as Writer[], Date.now()).length === 0)) {
      try {
        const result = seen === null
          ? await this.io(this._cache.add_versioned(key, decoded, age_s * 1000), 'cache add')
          : await this.io(this._cache.cas(key, seen.version, decoded, age_s * 1000), 'cache cas');
        this.#cache_seen = result instanceof CacheVersion ? { version: result, pending: null } : undefined;
      } catch (err) {
        this.#cache_seen = undefined;
        this.#cache_error('saving to', err);
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
  protected override async compare_and_swap(expected: StoredState | null, data: SessionDict): Promise<CasResult> {
    if (expected !== null && expected.version instanceof CacheVersion) {
      const prefix = written_prefix(this.session_key, expected.version.serialized);
      return prefix !== undefined
        ? this.compare_payload_and_swap(prefix, data)
        : this.compare_data_and_swap(await expected.data(), data);
    }
    return super.compare_and_swap(expected, data);
  }

  /** A data entry answers; a mark, a miss or a cache failure asks the database. */
  override async exists(session_key: string): Promise<boolean> {
    if (this.key_if_valid(session_key) === null) return false;
    try {
      const hit = await this.io(this._cache.gets(this.cache_key_prefix + session_key), 'cache get');
      if (hit !== undefined && typeof hit.value === 'object' && hit.value !== null) return true;
    } catch {
      // Fall through to the database.
    }
    return super.exists(session_key);
  }

  /**
   * Puts this writer's mark on the entry of `session_key` before its row
   * changes (step 1 in the header), starting from the entry as this session
   * saw it when that is known. Any cache failure is StoreUnavailable (503).
   */
  async #mark(session_key: string): Promise<Marked> {
    const key = this.cache_key_prefix + session_key;
    // This request already waited for the cache once (load): a 503 now rather than a second SESSION_STORE_TIMEOUT.
    if (this.#cache_failure !== undefined && session_key === this.session_key) throw unreachable('mark before writing the row', this.#cache_failure);
    const me: Writer = { id: get_random_string(8, VALID_KEY_CHARS), until: 0 };
    let current = session_key === this.session_key ? this.#cache_seen : undefined;
    this.#cache_seen = undefined;
    try {
      for (let attempt = 0; attempt < MARK_ATTEMPTS; attempt++) {
        if (current === undefined) {
          const hit = await this.io(this._cache.gets(key), 'cache get');
          current = hit === undefined ? null : seen_of(hit.value, hit.version);
        }
        const now = Date.now();
        me.until = now + pending_ms();
        const others = current === null || current.pending === null ? [] : live(current.pending, now);
        const text = mark_text([...others, me]);
        const ttl_ms = pending_ms() + 1000;
        const result = current === null
          ? await this.io(this._cache.add_versioned(key, text, ttl_ms), 'cache add')
          : await this.io(this._cache.cas(key, current.version, text, ttl_ms), 'cache cas');
        if (result instanceof CacheVersion) return { key, version: result, me, others: others.length };
        current = undefined; // changed or gone meanwhile: read it again
      }
    } catch (err) {
      throw unreachable('mark before writing the row', err);
    }
    throw new StoreUnavailable(`The session cache entry kept changing; the session was not saved (${MARK_ATTEMPTS} attempts).`);
  }

  /**
   * Takes this writer off its mark (the entry stays a mark, perhaps of no
   * one, so that a reader which looked before the row changed cannot add
   * the old data). If the cache fails now, the mark lapses at its deadline.
   */
  async #unmark(marked: Marked): Promise<void> {
    try {
      for (let attempt = 0; attempt < MARK_ATTEMPTS; attempt++) {
        const hit = await this.io(this._cache.gets(marked.key), 'cache get');
        const current = hit === undefined ? null : seen_of(hit.value, hit.version);
        // Gone (expired) or data published after this writer's deadline (see save()): nothing of this writer's is left.
        if (current === null || current.pending === null) return;
        const now = Date.now();
        const rest = live(current.pending, now).filter((w) => w.id !== marked.me.id);
        const result = await this.io(this._cache.cas(marked.key, current.version, mark_text(rest), pending_ms() + 1000), 'cache cas');
        if (result !== 'conflict') return;
      }
    } catch (err) {
      this.#cache_error('saving to', err);
    }
  }

  override async save(must_create = false): Promise<void> {
    // create() comes back here with must_create, and that call writes the cache.
    if (this.session_key === null) return await this.create();
    if (must_create) {
      await super.save(true);
      await this.#add_new(this._get_session(true));
      return;
    }
    // Mark, write and publish in the key's save turn: run together, this
    // process's saves of one key would only contend for the mark and run out of attempts.
    const session_key = this.session_key;
    // This request cannot mark (its load found the cache failing): a 503 now, as #mark() would give,
    // rather than in the turn, where it would lead the saves queued with it into the same 503.
    if (this.#cache_failure !== undefined) throw unreachable('mark before writing the row', this.#cache_failure);
    await this.run_in_save_turn(async () => {
      const marked = await this.#mark(session_key);
      await super.save(false);
      await this.#publish(marked, this._get_session());
    });
  }

  /** A new key: nobody can have read or cached it, so a failed add leaves nothing stale (and is only logged). */
  async #add_new(data: SessionDict): Promise<void> {
    const age_s = this.get_expiry_age();
    this.#cache_seen = undefined;
    if (age_s <= 0) return;
    try {
      const version = await this.io(this._cache.add_versioned(this.cache_key, data, age_s * 1000), 'cache add');
      if (version !== null) this.#published(version);
    } catch (err) {
      this.#cache_error('saving to', err);
    }
  }

  /** Step 3 of the header: the new data over this writer's own mark, if it was the only writer in it; else off the mark. */
  async #publish(marked: Marked, data: SessionDict): Promise<void> {
    if (Date.now() >= marked.me.until) {
      // Slower than its deadline: a reader may have taken it for dead and refilled the old row. Mark again (503 if the cache is gone).
      await this.#unmark(await this.#mark(this.session_key as string));
      return;
    }
    const age_s = this.get_expiry_age();
    if (marked.others === 0 && age_s > 0) {
      let result: CacheVersion | 'conflict' | 'gone';
      try {
        result = await this.io(this._cache.cas(marked.key, marked.version, data, age_s * 1000), 'cache cas');
      } catch (err) {
        // The mark stays until its deadline: the entry holds no data, and the row has the save.
        this.#cache_error('saving to', err);
        return;
      }
      if (result instanceof CacheVersion) return this.#published(result);
      if (result === 'gone') return; // the mark expired or was evicted: no entry
    }
    await this.#unmark(marked);
  }

  /** Records the data entry a save just wrote, and the row written with it (see `written`). */
  #published(version: CacheVersion): void {
    this.#cache_seen = { version, pending: null };
    // The row the save just wrote: the db engine's stored version is its session_data.
    const row = this.get_stored_state()?.version;
    if (typeof row === 'string' && version.serialized.length <= MAX_ENTRY_LENGTH) {
      set_bounded(written, this.session_key as string, { entry: version.serialized, prefix: row.slice(0, row.indexOf(':') + 1) }, MAX_REMEMBERED_ENTRIES);
    }
  }

  /** Marked first, as a save is: a logout that could not mark its entry is a 503 and leaves the row, so it can never be undone later. */
  override async delete_session(session_key: string | null = null): Promise<void> {
    const key = this.key_if_valid(session_key ?? this.session_key);
    if (key === null) return;
    const marked = await this.#mark(key);
    await super.delete_session(key);
    await this.#unmark(marked);
  }
}
