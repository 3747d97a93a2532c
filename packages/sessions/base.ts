/**
 * SessionBase: django/contrib/sessions/backends/base.py. The base thinks (the
 * data, the accessed/modified flags, expiry arithmetic, cycle_key, flush,
 * encode/decode, and how a save survives a concurrent one); an engine only
 * moves bytes: load(), exists(key), delete_session(key), the three storage
 * primitives of save() (insert_record, read_stored_state, compare_and_swap)
 * and, when it can, the static clear_expired(). The dict itself is
 * session_dict.ts; the timeout and error mapping of store calls are store_io.ts.
 *
 * Concurrent requests on one session (better than Django, which lets the last
 * save overwrite the whole session): the base records what this request
 * changed (keys set or deleted, clear()), and save() writes with a
 * compare-and-swap on the record as it was loaded. If another request saved
 * in between, the base re-reads the record, applies this request's changes
 * on top and tries again (a few times, then last write wins, with a warning).
 * Inside one process, saves of one key wait for each other and build on what
 * the write before wrote, and those that queued up together go in one write
 * (save_queue.ts), so only other processes conflict.
 * So two requests that change different keys both keep their changes; on the
 * same key the later save wins; a record deleted meanwhile (logout) is
 * UpdateError, never re-created. docs/reliability.md states the guarantee.
 *
 * Loading. Django loads lazily, on the first data access, which may block in
 * Python; here the data API is synchronous and storage is async, so the data
 * is loaded once, by preload(), before it is read (SessionMiddleware awaits
 * it before the view; save() and cycle_key() await it themselves). What the
 * engine's load() does to the key and the flags (drop an unknown key, create
 * a new one) is that load's outcome, and takes effect at the first data
 * access, where Django's lazy load would run: an unknown key the view never
 * reads gives no deletion cookie, one it reads does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { settings } from '@tango/core/conf';
import { clock } from '@tango/core/clock';
import { get_random_string, VALID_KEY_CHARS } from '@tango/core/crypto';
import { BadSignature, KeyError, StoreUnavailable } from '@tango/core/errors';
import type { SessionApi, SessionData, SessionValue, SessionValueOf } from '@tango/core/http/session_api';
import { get_logger } from '@tango/core/log';
import { register_memo } from '@tango/core/memos';
import { py_json_loads } from '@tango/core/py_json';
import { dumps_with_data, json_text, loads_data } from '@tango/core/signing';
import { fromisoformat, isoformat } from '@tango/core/timezone';
import { checked_session_data } from './data_schema';
import { CreateError, NotImplementedError, UpdateError } from './exceptions';
import { save_queue, type QueuedSave } from './save_queue';
import { apply_changes, is_dict, is_plain_object, new_dict, same_value, type SessionChanges, type SessionDict } from './session_dict';
import { serialize_session, with_store_timeout, type CasResult, type StoreErrorMap, type StoredState } from './store_io';
import { recall_record, remember } from './verified_records';

export { VALID_KEY_CHARS };

/** What `_session_expiry` or the `expiry` option can hold (Django: int, ISO string, datetime or None). */
export type ExpiryValue = number | string | Date | null;

export interface ExpiryOptions {
  /** The instant the expiry counts from; default now. */
  modification?: Date;
  /** Use this instead of reading `_session_expiry` (so no load); passing `null` is not the same as omitting it. */
  expiry?: ExpiryValue;
}

/** A session engine class, as SESSION_ENGINE modules export it under the name `SessionStore`. */
export interface SessionStoreClass {
  new (session_key?: string | null): SessionBase;
  clear_expired(on_progress?: (removed: number) => void): Promise<number>;
}

/** Retries of a conflicting save before it falls back to last write wins. */
export const MAX_SAVE_RETRIES = 5;

const security_log = get_logger('tango.security.SuspiciousSession');
const log = get_logger('tango.sessions');

/** key_salt per engine class (see the getter). */
let key_salts = new WeakMap<object, string>();
register_memo('sessions.base.key_salts', () => {
  key_salts = new WeakMap();
});

/** The lengths a session key may have: Django's minimum (8), and django_session.session_key's varchar(40). */
const MIN_KEY_LENGTH = 8;
const MAX_KEY_LENGTH = 40;

/** VALID_KEY_CHARS as a character class. */
const KEY_TEXT = /^[a-z0-9]+$/;

/**
 * Whether `key` is `min` to `max` characters of [a-z0-9] (VALID_KEY_CHARS),
 * the only characters a session key is made of.
 */
export function is_key_text(key: string, min = 1, max = Infinity): boolean {
  return key.length >= min && key.length <= max && KEY_TEXT.test(key);
}

/** The key, the data and the flags: what a session is at one moment. */
interface SessionState {
  key: string | null;
  /** Django's _session_cache: null until loaded (or known empty). */
  cache: SessionDict | null;
  accessed: boolean;
  modified: boolean;
}

/** What preload()'s load() returned and left the key and `modified` as, waiting for the first data access. */
interface LoadOutcome {
  /** The key the load ran for: taken up only while the session still has it. */
  for_key: string;
  data: SessionDict;
  key: string | null;
  modified: boolean;
}

/** A save in its key's turn: what the write before it left, and the saves its write carries too (save_queue.ts). */
interface SaveTurn {
  previous: StoredState | null;
  riders: readonly QueuedSave[];
  /** The write succeeded with the riders' changes in it. */
  carried: boolean;
  /** This session's own data when its write began, to go back to if the riders must go alone. */
  own?: SessionDict | null;
}

/** A save as SessionBase queues it: what the leader of a shared write asks of the others. */
interface Ride extends QueuedSave {
  /** What this save changed since it loaded. */
  changes(): Promise<SessionChanges>;
  /** Another save's write carried this one's changes: `written` is the record, `data` what it holds. */
  carry(written: StoredState | null, data: SessionDict): void;
}

export abstract class SessionBase implements SessionApi {
  static readonly TEST_COOKIE_NAME = 'testcookie';
  static readonly TEST_COOKIE_VALUE = 'worked';

  /** The state the session's methods and properties read and write; a scratch copy while load() runs (see preload()). */
  #state: SessionState = { key: null, cache: null, accessed: false, modified: false };
  #outcome: LoadOutcome | null = null;
  #loading: Promise<void> | null = null;
  /** Keys set or deleted through the data API since the last load or save. */
  #changed = new Set<string>();
  /** The record as last read or written, for the key it belongs to. */
  #stored: { key: string; state: StoredState } | null = null;
  /** Set while this session holds its key's save turn. */
  #turn: SaveTurn | undefined = undefined;

  constructor(session_key: string | null = null) {
    this._session_key = session_key;
  }

  get accessed(): boolean {
    return this.#state.accessed;
  }

  set accessed(value: boolean) {
    this.#state.accessed = value;
  }

  get modified(): boolean {
    return this.#state.modified;
  }

  /** Django's documented way to save a value changed in place: `session.get('cart').push(x); session.modified = true`. */
  set modified(value: boolean) {
    this.#state.modified = value;
  }

  // --- the key -------------------------------------------------------------

  /** Read-only, as in Django: assigning to it throws. */
  get session_key(): string | null {
    return this.#state.key;
  }

  /** The validating setter engines use: a key that fails validation becomes null. */
  protected get _session_key(): string | null {
    return this.#state.key;
  }

  protected set _session_key(value: string | null | undefined) {
    this.#state.key = this.key_if_valid(value);
  }

  /**
   * Whether `key` can be a key of this engine: 8 to 40 characters of [a-z0-9]
   * (VALID_KEY_CHARS). Every key is 32 of them; Django's own rule
   * (`key and len(key) >= 8`) also lets a client's '../../etc/passwd' or an
   * 8,000-character cookie through to the store's query. Anything else is no
   * key at all: the session loads empty without asking the store. An engine
   * whose keys look different (signed_cookies: the key is the signed data)
   * overrides this.
   */
  protected _validate_session_key(key: string): boolean {
    return is_key_text(key, MIN_KEY_LENGTH, MAX_KEY_LENGTH);
  }

  /** `key` (given to exists() or delete_session()) when it is a valid key of this engine, else null: no store sees it. */
  protected key_if_valid(key: string | null | undefined): string | null {
    return typeof key === 'string' && this._validate_session_key(key) ? key : null;
  }

  /** Django's key_salt: the class's name namespaces the signature, so renaming the class invalidates stored data. */
  get key_salt(): string {
    // One string per class: a new one per call would be hashed again by every Map it keys.
    let salt = key_salts.get(this.constructor);
    if (salt === undefined) key_salts.set(this.constructor, (salt = `django.contrib.sessions.${this.constructor.name}`));
    return salt;
  }

  // --- loading -------------------------------------------------------------

  /** Django's _session_cache; always a new_dict(). */
  protected get _session_cache(): SessionDict | null {
    return this.#state.cache;
  }

  protected set _session_cache(value: SessionDict | null) {
    this.#state.cache = value === null || is_dict(value) ? value : new_dict(value);
    if (value !== null) this.#outcome = null;
  }

  /**
   * Loads the data from the store, once, so that the synchronous data API
   * can read it (SessionMiddleware awaits this before the view). Nothing to
   * do without a key or once the data is there. The engine's load() runs on
   * a scratch copy of the key and flags; what it leaves there (and the data
   * it returns, checked against SESSION_DATA_SCHEMA) is taken up by the first
   * data access, as Django's lazy load would do it then. A failed load
   * leaves the session as it was, and rejects (a 5xx).
   */
  preload(): Promise<void> {
    const live = this.#state;
    if (live.cache !== null || this.#outcome !== null || live.key === null) return Promise.resolve();
    return (this.#loading ??= this.#load(live));
  }

  async #load(live: SessionState): Promise<void> {
    const for_key = live.key as string;
    const scratch: SessionState = { ...live, cache: null };
    this.#state = scratch;
    try {
      const data = await this.load();
      const own = is_dict(data) ? data : is_plain_object(data) ? new_dict(data) : new_dict();
      this.#outcome = { for_key, data: checked_session_data(own), key: scratch.key, modified: scratch.modified };
    } finally {
      this.#state = live;
      this.#loading = null;
    }
  }

  /** Django's `_get_session`: every data access goes through here and marks the session accessed. */
  protected _get_session(no_load = false): SessionDict {
    const state = this.#state;
    state.accessed = true;
    if (state.cache !== null) return state.cache;
    const outcome = this.#outcome;
    if (outcome !== null && outcome.for_key === state.key) {
      state.key = outcome.key;
      if (outcome.modified) state.modified = true;
      this._session_cache = outcome.data;
      return outcome.data;
    }
    if (state.key !== null && !no_load) {
      throw new Error(
        `The session for key ${state.key.slice(0, 4)}… has not been loaded: await session.preload() ` +
        'before reading it synchronously. SessionMiddleware does this for request.session.');
    }
    const data = new_dict();
    this._session_cache = data;
    return data;
  }

  // --- the data API (synchronous) --------------------------------------------

  get<K extends keyof SessionData & string>(key: K, fallback?: SessionData[K]): SessionData[K] | undefined;
  get<T = SessionValue>(key: string, fallback?: T): T | undefined;
  get(key: string, fallback?: unknown): unknown {
    const d = this._get_session();
    return key in d ? d[key] : fallback;
  }

  /** `session[key] = value` */
  set<K extends string>(key: K, value: SessionValueOf<K>): void {
    this._get_session()[key] = value;
    this.#changed.add(key);
    this.modified = true;
  }

  /** `del session[key]`: KeyError when absent. */
  delete(key: string): void {
    const d = this._get_session();
    if (!(key in d)) throw new KeyError(key);
    delete d[key];
    this.#changed.add(key);
    this.modified = true;
  }

  /** `key in session` */
  has(key: string): boolean {
    return key in this._get_session();
  }

  /** Without a fallback, a missing key throws KeyError (pass `undefined` explicitly to get undefined). */
  pop<K extends keyof SessionData & string>(key: K, fallback?: SessionData[K]): SessionData[K] | undefined;
  pop<T = SessionValue>(key: string, fallback?: T): T | undefined;
  pop(key: string, ...fallback: [fallback?: unknown]): unknown {
    const d = this._get_session();
    const present = key in d;
    this.modified = this.modified || present;
    if (present) {
      const v = d[key];
      delete d[key];
      this.#changed.add(key);
      return v;
    }
    if (fallback.length > 0) return fallback[0];
    throw new KeyError(key);
  }

  setdefault<K extends keyof SessionData & string>(key: K, value: SessionData[K]): SessionData[K];
  setdefault<T = SessionValue>(key: string, value: T): T;
  setdefault(key: string, value: unknown): unknown {
    const d = this._get_session();
    if (key in d) return d[key];
    this.modified = true;
    d[key] = value;
    this.#changed.add(key);
    return value;
  }

  /** Sets modified even for an empty object, as Django does. */
  update(values: Partial<SessionData> & Record<string, SessionValue>): void {
    Object.assign(this._get_session(), values);
    for (const k of Object.keys(values)) this.#changed.add(k);
    this.modified = true;
  }

  keys(): string[] {
    return Object.keys(this._get_session());
  }

  values(): SessionValue[] {
    return Object.values(this._get_session());
  }

  items(): Array<[string, SessionValue]> {
    return Object.entries(this._get_session());
  }

  /** Empties the data without loading it; the key stays. */
  clear(): void {
    // A merge then deletes the keys this request had (changes_since), not keys another request added meanwhile.
    this._session_cache = new_dict();
    this.accessed = true;
    this.modified = true;
  }

  /** No key and no data. A session with a key is never empty, loaded or not (Django short-circuits the same way). */
  is_empty(): boolean {
    const { key, cache } = this.#state;
    return !key && (cache === null || Object.keys(cache).length === 0);
  }

  // --- test cookie -----------------------------------------------------------

  set_test_cookie(): void {
    this.set(SessionBase.TEST_COOKIE_NAME, SessionBase.TEST_COOKIE_VALUE);
  }

  test_cookie_worked(): boolean {
    return this.get(SessionBase.TEST_COOKIE_NAME) === SessionBase.TEST_COOKIE_VALUE;
  }

  delete_test_cookie(): void {
    this.delete(SessionBase.TEST_COOKIE_NAME);
  }

  // --- expiry ----------------------------------------------------------------

  /** The hook for the default age (SESSION_COOKIE_AGE); an engine may override it. */
  get_session_cookie_age(): number {
    return settings.SESSION_COOKIE_AGE;
  }

  #expiry_from(opts: ExpiryOptions): unknown {
    // Django tells "expiry=None passed" from "not passed", so that passing it never loads the session.
    return 'expiry' in opts ? opts.expiry : this.get('_session_expiry');
  }

  /**
   * Seconds until expiry: a stored number is returned unchanged (it counts from
   * the last modification); a datetime gives floor(expiry - modification),
   * which can be negative; nothing (or 0) gives the cookie age.
   */
  get_expiry_age(opts: ExpiryOptions = {}): number {
    const modification = opts.modification ?? new Date(clock.now());
    const expiry = this.#expiry_from(opts);
    if (!expiry) return this.get_session_cookie_age();
    if (typeof expiry !== 'string' && !(expiry instanceof Date)) return Number(expiry);
    let date: Date;
    if (typeof expiry === 'string') {
      const parsed = fromisoformat(expiry, settings.TIME_ZONE);
      if (parsed.aware !== settings.USE_TZ) {
        // Python cannot subtract a naive datetime from an aware now (or the reverse); nor does Django.
        throw new TypeError("can't subtract offset-naive and offset-aware datetimes");
      }
      date = parsed.date;
    } else {
      date = expiry;
    }
    // timedelta.days * 86400 + timedelta.seconds: whole seconds, rounded down.
    return Math.floor((date.getTime() - modification.getTime()) / 1000);
  }

  get_expiry_date(opts: ExpiryOptions = {}): Date {
    const modification = opts.modification ?? new Date(clock.now());
    const expiry = this.#expiry_from(opts);
    if (expiry instanceof Date) return expiry;
    if (typeof expiry === 'string') return fromisoformat(expiry, settings.TIME_ZONE).date;
    const seconds = Number(expiry) || this.get_session_cookie_age();
    return new Date(modification.getTime() + seconds * 1000);
  }

  /**
   * A number is seconds of inactivity (0: until the browser closes), a Date an
   * instant (stored as its ISO string, as current Django stores it), null
   * returns to the global policy.
   */
  set_expiry(value: number | Date | null): void {
    if (value === null || value === undefined) {
      if (this.has('_session_expiry')) this.delete('_session_expiry');
      return;
    }
    // A string, NaN or an invalid Date would be stored and then read as "no
    // expiry set" (or fail on every later request): refused here, as Python
    // refuses such arithmetic.
    const bad = value instanceof Date ? Number.isNaN(value.getTime()) : typeof value !== 'number' || !Number.isFinite(value);
    if (bad) {
      const got = typeof value === 'string' ? `the string ${JSON.stringify(value)}` : value instanceof Date ? 'an invalid Date' : String(value);
      throw new TypeError(`set_expiry() takes a number of seconds, a Date or null, got ${got}`);
    }
    const stored = value instanceof Date ? isoformat(value, { use_tz: settings.USE_TZ, tz: settings.TIME_ZONE }) : value;
    this.set('_session_expiry', stored);
  }

  get_expire_at_browser_close(): boolean {
    const expiry = this.get('_session_expiry');
    if (expiry === undefined || expiry === null) return settings.SESSION_EXPIRE_AT_BROWSER_CLOSE;
    // Python's `expiry == 0` is also true for 0.0 and False.
    return expiry === 0 || expiry === false;
  }

  // --- encoding --------------------------------------------------------------

  /** signing.dumps with the class's key_salt, compressed: the format Django's db/file engines store. */
  encode(session_dict: SessionDict): string {
    const { value, data } = serialize_session(() => dumps_with_data(session_dict, { salt: this.key_salt, compress: true }));
    // The next request of this session most likely reads back what was just written.
    remember(this.key_salt, value, json_text(data), session_dict);
    return value;
  }

  /**
   * Tampered data logs a warning on tango.security.SuspiciousSession and reads
   * as an empty session; any other failure (bad base64, zlib, JSON) is silent.
   * Django returns a correctly signed non-dict as is; here it counts as corrupt.
   */
  decode(session_data: string): SessionDict {
    try {
      const salt = this.key_salt;
      const known = recall_record(salt, session_data);
      if (known?.parsed !== undefined) return new_dict(known.parsed);
      // JSONSerializer.loads in its two steps, so that the verified text can be kept.
      // No inflate limit (SIGNING_MAX_DECOMPRESSED_SIZE): a server-side store holds only what
      // encode() wrote, as large as the store took it; a limit would lose large sessions.
      const text = known?.text ?? json_text(loads_data(session_data, { salt, max_decompressed_size: null }));
      const data = py_json_loads(text);
      if (known === undefined) remember(salt, session_data, text, data);
      if (is_plain_object(data)) return new_dict(data);
      security_log.warn('Session data corrupted');
    } catch (err) {
      if (err instanceof BadSignature) security_log.warn('Session data corrupted');
    }
    return new_dict();
  }

  // --- storage (asynchronous) ------------------------------------------------

  /** Wraps one store round trip in the SESSION_STORE_TIMEOUT guard. */
  protected io<T>(op: Promise<T>, what: string, map_error?: StoreErrorMap): Promise<T> {
    return with_store_timeout(op, what, undefined, map_error);
  }

  /**
   * A fresh random key. Django first asks the store whether it exists; Tango
   * saves every new key with must_create, which never writes over an existing
   * record and sends create() round again with another key, so that extra
   * round trip would buy nothing.
   */
  protected async _get_new_session_key(): Promise<string> {
    return get_random_string(32, VALID_KEY_CHARS);
  }

  protected async _get_or_create_session_key(): Promise<string> {
    if (this.#state.key === null) this.#state.key = await this._get_new_session_key();
    return this.#state.key;
  }

  /** How many keys create() tries before giving up (Django: forever for db/file, 10000 for cache). */
  protected get max_create_attempts(): number {
    return Infinity;
  }

  /**
   * A new unique key, saved once with must_create (a collision retries). This
   * loop is written out in each of Django's engines; it lives here once.
   */
  async create(): Promise<void> {
    for (let attempt = 0; attempt < this.max_create_attempts; attempt++) {
      this._session_key = await this._get_new_session_key();
      try {
        await this.save(true);
      } catch (err) {
        if (err instanceof CreateError) continue;
        throw err;
      }
      this.modified = true;
      return;
    }
    throw new Error('Unable to create a new session key. It is likely that the cache is unavailable.');
  }

  /** Empties the session, deletes its record and drops the key (logout). */
  async flush(): Promise<void> {
    this.clear();
    await this.delete_session();
    this._session_key = null;
  }

  /** Same data under a new key; the old record is deleted (login, against session fixation). */
  async cycle_key(): Promise<void> {
    await this.preload();
    const data = this._get_session();
    const key = this.session_key;
    await this.create();
    this._session_cache = data;
    if (key) await this.delete_session(key);
  }

  /** Does the store hold this key? */
  abstract exists(session_key: string): Promise<boolean>;

  /**
   * Persists the data; no key → create(). must_create inserts, never over an
   * existing record (CreateError: create() retries with another key), and
   * does not load. Otherwise the record must still exist (UpdateError, which
   * the middleware turns into a 400) and is written by a compare-and-swap on
   * what this session loaded, merging with a concurrent save (see #save_over).
   * Engines with no server-side record (signed_cookies) override this whole.
   */
  async save(must_create = false): Promise<void> {
    if (this.session_key === null) return await this.create();
    if (!must_create) await this.preload();
    const data = this._get_session(must_create);
    if (must_create) await this.insert_record(data);
    else await this.#save_over(data);
    this.#changed.clear();
  }

  /** One write of a key at a time in this process (save_queue.ts says why); other processes meet the compare-and-swap. */
  #save_over(data: SessionDict): Promise<void> {
    const key = this.session_key as string;
    // Already in turn: an engine's save() wrapped its own steps around this one (cached_db).
    if (this.#turn !== undefined) return this.#save_in_turn(key, data, this.#turn);
    return this.run_in_save_turn(() => this.#save_in_turn(key, data, this.#turn as SaveTurn));
  }

  /**
   * Runs `steps` in this session key's turn (save_queue.ts), for an engine
   * whose save() does more around the record's write (cached_db's cache
   * mark): the write inside then takes that same turn instead of queueing
   * again. When saves queued behind another share one write, only the first
   * one's steps run, and its write carries the others' changes: the steps
   * are those of one class's save(), the same for each of them.
   */
  protected run_in_save_turn(steps: () => Promise<void>): Promise<void> {
    const key = this.session_key as string;
    const take_turn = async (turn: SaveTurn): Promise<void> => {
      this.#turn = turn;
      try {
        await steps();
      } finally {
        this.#turn = undefined;
      }
    };
    const ride: Ride = {
      // A save that would have to read the record to know its own changes writes alone (clear() on a session never loaded).
      coalesce: this.get_stored_state() !== null && (this.#state.cache !== null || this.#outcome?.for_key === key),
      alone: async (previous) => {
        await take_turn({ previous, riders: [], carried: false });
        return this.get_stored_state();
      },
      together: async (previous, riders) => {
        const turn: SaveTurn = { previous, riders, carried: false };
        try {
          await take_turn(turn);
        } catch (err) {
          // Its data again, without the others' changes, which were not written.
          if (turn.own !== undefined) this._session_cache = turn.own;
          // What the store did fails every save of the write; what one save's own data did (not serializable, say) is for that save alone.
          if (err instanceof StoreUnavailable || err instanceof UpdateError) throw err;
          return { last: previous, apart: [ride, ...riders] };
        }
        // Steps that never reached the write (an engine's own save()) left the others unwritten: they go alone.
        return { last: this.get_stored_state(), apart: turn.carried ? [] : riders };
      },
      changes: async () => {
        const loaded = await (this.get_stored_state() as StoredState).data();
        // Takes up what preload() loaded, if nothing read the data yet (cached_db's save() gets here before its own save does).
        this._get_session();
        return this.changes_since(loaded);
      },
      carry: (written, data) => {
        this.set_stored_state(written);
        this._session_cache = new_dict(data);
      },
    };
    return save_queue(this.constructor).run(key, settings.SESSION_STORE_TIMEOUT, ride);
  }

  async #save_in_turn(key: string, data: SessionDict, turn: SaveTurn): Promise<void> {
    const { previous } = turn;
    const riders = turn.riders as readonly Ride[];
    turn.own = this.#state.cache;
    // Normally what load() read. Unknown after clear() on a session never loaded: read it now.
    let expected = this.get_stored_state() ?? await this.read_stored_state();
    if (expected === null) throw new UpdateError();
    let changes: SessionChanges | null = null;
    // The save before this one in the queue wrote `previous`, most likely after this session loaded:
    // our changes go on top of it and compare against it, instead of meeting a certain conflict.
    if (previous !== null && previous !== expected && previous.version !== expected.version) {
      changes = this.changes_since(await expected.data());
      data = apply_changes(await previous.data(), changes);
      this._session_cache = data;
      expected = previous;
    }
    // The saves queued with this one: their changes on top, in the order they came, in this one write.
    let theirs: SessionChanges[] = [];
    if (riders.length > 0) {
      changes ??= this.changes_since(await expected.data());
      theirs = await Promise.all(riders.map((r) => r.changes()));
      for (const c of theirs) data = apply_changes(data, c);
      this._session_cache = data;
    }
    for (let attempt = 0; ; attempt++) {
      // Out of retries: merge once more onto the latest read, then write without comparing.
      const last_write_wins = attempt > MAX_SAVE_RETRIES;
      if (last_write_wins) {
        log.warn(`A session save still conflicted after ${MAX_SAVE_RETRIES} retries; writing its last merge without comparing (last write wins)`,
          { key_prefix: key.slice(0, 4) });
      }
      const result = await this.compare_and_swap(last_write_wins ? null : expected, data);
      if (result === 'ok') break;
      // Deleted meanwhile (a logout in another request): writing would bring it back.
      if (result === 'gone') throw new UpdateError();
      // Another request saved since this one loaded: put our changes on top of what it saved.
      changes ??= this.changes_since(await expected.data());
      // A tiny jittered pause, so that writers colliding again do not stay in step.
      await sleep(Math.random() * 2 ** attempt);
      const fresh = await this.read_stored_state();
      if (fresh === null) throw new UpdateError();
      data = apply_changes(await fresh.data(), changes);
      for (const c of theirs) data = apply_changes(data, c);
      this._session_cache = data;
      expected = fresh;
    }
    if (riders.length === 0) return;
    const written = this.get_stored_state();
    for (const r of riders) r.carry(written, data);
    turn.carried = true;
  }

  /**
   * What this session changed since `baseline` (the record it loaded): keys
   * set or deleted through the API, plus values changed in place, as in
   * Django's documented `session['cart'].push(x); session.modified = true`,
   * found by comparing with the baseline. A key this request set wins even
   * when it set the value it had loaded (the later save wins).
   */
  protected changes_since(baseline: SessionDict): SessionChanges {
    const mine = this.#state.cache ?? new_dict();
    const set = new_dict();
    const deleted: string[] = [];
    for (const k of new Set([...this.#changed, ...Object.keys(baseline), ...Object.keys(mine)])) {
      const had = k in baseline;
      const has = k in mine;
      if (!this.#changed.has(k) && had === has && (!has || same_value(baseline[k], mine[k]))) continue;
      if (has) set[k] = mine[k];
      else deleted.push(k);
    }
    return { set, deleted };
  }

  /** Engines call this with what they have just read or written, so that the next save compares against it. */
  protected set_stored_state(state: StoredState | null): void {
    const key = this.#state.key;
    this.#stored = state !== null && key !== null ? { key, state } : null;
  }

  /** What set_stored_state() last got for the current key, or null. */
  protected get_stored_state(): StoredState | null {
    return this.#stored !== null && this.#stored.key === this.#state.key ? this.#stored.state : null;
  }

  // The storage primitives of save(). Not abstract, so that an engine which
  // overrides save() whole (signed_cookies, or one written against Django's
  // shape) needs none of them.

  /** must_create: store `data` as a new record, never over an existing one (CreateError); then set_stored_state(). */
  protected insert_record(_data: SessionDict): Promise<void> {
    return Promise.reject(new NotImplementedError(`${this.constructor.name} does not implement insert_record() or save().`));
  }

  /** The record for the current key as the store holds it now, or null if there is none. */
  protected read_stored_state(): Promise<StoredState | null> {
    return Promise.reject(new NotImplementedError(`${this.constructor.name} does not implement read_stored_state() or save().`));
  }

  /**
   * Atomically: if the record is still `expected`, write `data` over it (and
   * set_stored_state() the result) → 'ok'; if it changed → 'conflict'; if there
   * is none → 'gone', writing nothing. `expected` null: write over whatever
   * is there, but still never re-create a missing record.
   */
  protected compare_and_swap(_expected: StoredState | null, _data: SessionDict): Promise<CasResult> {
    return Promise.reject(new NotImplementedError(`${this.constructor.name} does not implement compare_and_swap() or save().`));
  }

  /** Django's `delete(session_key=None)`: the given key or the current one; missing records are ignored. */
  abstract delete_session(session_key?: string | null): Promise<void>;

  /**
   * The stored data. A missing, expired or corrupt record gives {} and, as a
   * rule, a null key, so a client-chosen key is never revived by a later save.
   */
  abstract load(): Promise<SessionDict>;

  /** Removes expired records; returns how many (Django returns nothing); `on_progress` hears a running count on long purges. */
  static clear_expired(_on_progress?: (removed: number) => void): Promise<number> {
    return Promise.reject(new NotImplementedError('This backend does not support clear_expired().'));
  }
}
