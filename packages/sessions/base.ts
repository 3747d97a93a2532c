/**
 * SessionBase: django.contrib.sessions.backends.base.SessionBase. The base
 * thinks (the data map, the accessed/modified flags, expiry arithmetic,
 * cycle_key, flush, encode/decode, and how a save survives a concurrent one);
 * an engine only moves bytes: load(), exists(key), delete_session(key), the
 * three storage primitives of save() (_insert, _read_stored,
 * _compare_and_swap) and, when it can, the static clear_expired().
 *
 * Concurrent requests on one session (better than Django, which lets the last
 * save overwrite the whole session): the base records what this request
 * changed (keys set or deleted, clear()), and save() writes with a
 * compare-and-swap on the record as it was loaded. If another request saved
 * in between, the base re-reads the record, applies this request's changes
 * on top and tries again (a few times, then last write wins, with a warning).
 * Inside one process, saves of one key wait for each other and build on what
 * the one before wrote (save_queue.ts), so only other processes conflict.
 * So two requests that change different keys both keep their changes; on the
 * same key the later save wins; a record deleted meanwhile (logout) is
 * UpdateError, never re-created. docs/reliability.md states the guarantee.
 *
 * One departure from Django's shape, forced by the platform: Django loads the
 * data lazily on the first dict access, which can block in Python. Here the
 * data API is synchronous and storage is async, so the middleware awaits
 * preload() before the view runs. preload() runs the engine's load() but keeps
 * its side effects on the key and flags aside until the first synchronous data
 * access adopts them, so every observable effect happens when it would in
 * Django (an unknown key the view never reads gives no deletion cookie; one
 * the view reads does).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { settings } from '@tango/core/conf';
import { clock } from '@tango/core/clock';
import { get_random_string, VALID_KEY_CHARS } from '@tango/core/crypto';
import { BadSignature, KeyError, NotSerializable, StoreUnavailable } from '@tango/core/errors';
import type { SessionData, SessionValue } from '@tango/core/http/session_api';
import { set_bounded } from '@tango/core/bounded_map';
import { get_logger } from '@tango/core/log';
import { py_json_loads } from '@tango/core/py_json';
import { dumps_with_data, json_text, loads_data } from '@tango/core/signing';
import { is_connection_error } from '@tango/core/db';
import { fromisoformat, isoformat } from '@tango/core/timezone';
import { CreateError, NotImplementedError, UpdateError } from './exceptions';
import { recall_record, remember } from './verified_records';
import { save_queue } from './save_queue';

export { VALID_KEY_CHARS };

/** The session's contents: an object without Object.prototype in its chain (new_dict()), so any string (even `__proto__`) is just a key. */
export type SessionDict = Record<string, unknown>;

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

/**
 * The record as one read (or write) of the store left it. `version` is what
 * the engine's compare-and-swap checks (the stored string, or a store's CAS
 * token); the base never looks inside it. `data()` decodes that record afresh,
 * and is only called when a save meets a conflict.
 */
export interface StoredState {
  readonly version: unknown;
  data(): Promise<SessionDict>;
}

/** What an engine's compare-and-swap did: wrote, found the record changed, or found no record. */
export type CasResult = 'ok' | 'conflict' | 'gone';

/** What this session changed since it was loaded or last saved (only a conflicting save asks). */
export interface SessionChanges {
  /** Keys set, with their current values. */
  set: SessionDict;
  /** Keys deleted (pop, delete, and every loaded key clear() removed). */
  deleted: string[];
  /** clear() was called. */
  cleared: boolean;
}

const key_salts = new WeakMap<object, string>();

/** Retries of a conflicting save before it falls back to last write wins. */
export const MAX_SAVE_RETRIES = 5;

const securityLog = get_logger('tango.security.SuspiciousSession');
const log = get_logger('tango.sessions');

const LOADED: Promise<void> = Promise.resolve();

/**
 * The prototype of every session dict: empty, frozen, and itself without a
 * prototype, so Object.prototype is not in a dict's chain. An object made by
 * Object.create(null) works as well for that, but V8 keeps it in dictionary
 * mode, and every get, set, key listing and JSON.stringify of it took the slow
 * path (about three times the time, measured on a session-sized dict).
 */
const DICT_PROTO: object = Object.freeze(Object.create(null) as object);

/** The lengths a session key may have: Django's minimum (8), and django_session.session_key's varchar(40). */
export const MIN_KEY_LENGTH = 8;
export const MAX_KEY_LENGTH = 40;

/** 1 at the char code of each of VALID_KEY_CHARS (all ASCII); reads past the end are undefined. */
const KEY_CHAR = Uint8Array.from({ length: 128 }, (_, c) => (VALID_KEY_CHARS.includes(String.fromCharCode(c)) ? 1 : 0));

/**
 * Whether `key` is `min` to `max` characters of [a-z0-9] (VALID_KEY_CHARS),
 * the only characters a session key is made of. A loop rather than a regular
 * expression, which costs more on every request that carries a key.
 * Measured: bench/NOTES.md.
 */
export function is_key_text(key: string, min = 1, max = Infinity): boolean {
  if (key.length < min || key.length > max) return false;
  for (let i = 0; i < key.length; i++) {
    if (KEY_CHAR[key.charCodeAt(i)] !== 1) return false;
  }
  return true;
}

export function new_dict(source?: Record<string, unknown>): SessionDict {
  const d = Object.create(DICT_PROTO) as SessionDict;
  // Object.assign defines '__proto__' as an own key here: the chain has no prototype setter.
  return source ? Object.assign(d, source) : d;
}

/** Whether `v` came from new_dict() (and so needs no copy to become a session dict). */
export function is_dict(v: unknown): v is SessionDict {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === DICT_PROTO;
}

/** Session values are JSON (every store serializes them so): equal serializations, equal values. */
function same_value(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** `changes` applied on top of `fresh`: the result of a merge after a conflict. */
export function apply_changes(fresh: SessionDict, changes: SessionChanges): SessionDict {
  const out = new_dict(fresh);
  for (const k of changes.deleted) delete out[k];
  return Object.assign(out, changes.set);
}

function is_plain_object(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null || proto === DICT_PROTO;
}

/**
 * Runs a serializer of session data: what it cannot write (nested deeper than
 * MAX_JSON_DEPTH, a cycle, a function) is a NotSerializable, a 500 with the
 * reason logged, the same on every engine and before anything is written.
 */
export function serialize_session<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw NotSerializable.from(err, 'The session data');
  }
}

/** What a failed store operation rejects with: by default a connection failure becomes StoreUnavailable (as_unavailable). */
export type StoreErrorMap = (err: unknown, what: string) => unknown;

/**
 * Races a store operation against settings.SESSION_STORE_TIMEOUT (ms; 0 turns
 * it off), so a dead store gives a prompt 503 instead of a hung request. Its
 * failure goes through `map_error` either way (an engine's own wording, say),
 * so that the engine needs no wrapper of its own, which would cost another
 * promise per operation.
 */
export function with_store_timeout<T>(
  op: Promise<T>, what: string, ms: number = settings.SESSION_STORE_TIMEOUT, map_error: StoreErrorMap = as_unavailable,
): Promise<T> {
  if (!ms) return op.catch((e: unknown) => { throw map_error(e, what); });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreUnavailable(
      `The session store did not answer within ${ms} ms (${what}). Check that it is running, or raise SESSION_STORE_TIMEOUT.`)), ms);
    timer.unref();
    op.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(map_error(e, what)); });
  });
}

/** A store that refuses or drops the connection is an outage (503), not a bug in the view (500). */
function as_unavailable(err: unknown, what: string): unknown {
  if (err instanceof StoreUnavailable || !is_connection_error(err)) return err;
  const reason = err instanceof Error || typeof (err as Error)?.message === 'string' ? (err as Error).message : String(err);
  return new StoreUnavailable(`The session store is unreachable (${what}): ${reason}`);
}

// Names that runtimes and test tools probe on any object (thenables, JSON,
// jest's matchers and printers). They must not read as session keys, or
// `await store` or a failing expect() would touch the session.
const PROBED = new Set(['then', 'toJSON', 'asymmetricMatch', 'nodeType', 'tagName', 'inspect', '_isMockFunction', 'getMockName']);

// Methods reached through the proxy run on the target: called with the proxy
// as `this`, every `this.field` inside them would go through these traps,
// which cost more than the data access itself. One shared wrapper per method
// (so `session.get === session.get` still holds, and no session allocates
// anything for it); own properties (a test's spy) are returned as they are.
const on_target = new WeakMap<(...args: never[]) => unknown, unknown>();

function target_method(fn: (...args: never[]) => unknown): unknown {
  let wrapper = on_target.get(fn);
  if (wrapper === undefined) {
    wrapper = function (this: unknown, ...args: never[]): unknown {
      return fn.apply(unproxied(this), args);
    };
    on_target.set(fn, wrapper);
  }
  return wrapper;
}

/** The session object behind the bracket-access proxy (see unproxied()). */
const TARGET = Symbol('tango.sessions.target');

/**
 * The session itself rather than its bracket-access proxy, for framework code
 * (the middleware) that calls many methods and never uses brackets. Anything
 * else is returned unchanged.
 */
export function unproxied<T>(session: T): T {
  const target = (session as { [TARGET]?: T } | null | undefined)?.[TARGET];
  return target ?? session;
}

// The shared wrapper of a method on a session's prototype chain, as read
// through the proxy. Views call the same few methods on every request; this
// spares each call the `in`, Reflect.get and hasOwnProperty walks. Own
// properties still come first, and a method replaced on the prototype (a
// test's spy) is seen: the entry holds the function it wraps.
interface CachedMethod { fn: unknown; wrapper: unknown }
// Keyed by the class: reading `constructor` is an ordinary cached load, where
// Object.getPrototypeOf is a runtime call.
const methods_by_class = new WeakMap<object, Map<string, CachedMethod | null>>();

function method_through_proxy(target: SessionBase, prop: string): unknown {
  const cls = target.constructor;
  let methods = methods_by_class.get(cls);
  if (methods === undefined) methods_by_class.set(cls, (methods = new Map()));
  const cached = methods.get(prop);
  if (cached === null) return undefined; // not a plain method: the general path decides
  // The caller checked that prop is not an own property: this reads the prototype chain.
  if (cached !== undefined && target[prop] === cached.fn) return cached.wrapper;
  const d = method_descriptor(Object.getPrototypeOf(target) as object, prop);
  // Only plain methods: an accessor's value may change from one read to the next.
  const entry = d && typeof d.value === 'function' && prop !== 'constructor'
    ? { fn: d.value as unknown, wrapper: target_method(d.value as (...args: never[]) => unknown) }
    : null;
  set_bounded(methods, prop, entry, 512);
  return entry?.wrapper;
}

function method_descriptor(proto: object | null, prop: string): PropertyDescriptor | undefined {
  for (let o = proto; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, prop);
    if (d) return d;
  }
  return undefined;
}

// `session['user_id'] = 'x'` and `session['user_id']` read and write the data;
// anything the object itself has (methods, fields, accessors) stays direct.
const bracketAccess: ProxyHandler<SessionBase> = {
  get(target, prop) {
    if (prop === TARGET) return target;
    const own = Object.prototype.hasOwnProperty.call(target, prop);
    if (typeof prop === 'string' && !own) {
      const method = method_through_proxy(target, prop);
      if (method !== undefined) return method;
    }
    if (typeof prop === 'symbol' || prop in target || PROBED.has(prop) || prop.startsWith('@@') || prop.startsWith('$$')) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value === 'function' && prop !== 'constructor' && !own) {
        return target_method(value as (...args: never[]) => unknown);
      }
      return value;
    }
    return target.get(prop);
  },
  set(target, prop, value) {
    if (typeof prop === 'symbol') return Reflect.set(target, prop, value, target);
    if (prop in target) {
      // `session['items'] = x` would silently replace a method and store nothing
      // (replacing a method with another function, as tests and mocks do, is fine).
      if (typeof Reflect.get(target, prop, target) === 'function' && typeof value !== 'function') {
        throw new TypeError(`'${prop}' is a session method, not a key: use session.set('${prop}', value).`);
      }
      return Reflect.set(target, prop, value, target);
    }
    target.set(prop, value);
    return true;
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'symbol' || prop in target) return Reflect.deleteProperty(target, prop);
    target.delete(prop);
    return true;
  },
};

interface Preloaded {
  /** The key load() ran for: adopt only if the session still has it. */
  for_key: string;
  data: SessionDict;
  key: string | null;
  modified: boolean;
}

export abstract class SessionBase implements SessionData {
  /** Bracket access to the data (see bracketAccess). */
  [key: string]: unknown;

  /** Read through the proxy, this is the object behind it (unproxied()). */
  get [TARGET](): this {
    return this;
  }

  static readonly TEST_COOKIE_NAME = 'testcookie';
  static readonly TEST_COOKIE_VALUE = 'worked';

  accessed = false;
  modified = false;
  private __key: string | null = null;
  private __cache: SessionDict | null = null;
  private __preloaded: Preloaded | null = null;
  private __preloading: Promise<void> | null = null;
  /** Keys set or deleted through the data API since the last load or save. */
  private __changed = new Set<string>();
  private __cleared = false;
  /** The record as last read or written, for the key it belongs to. */
  private __stored: { key: string; state: StoredState } | null = null;
  /** Set while this session holds its key's save turn: what the save before it wrote. */
  private __turn: { previous: StoredState | null } | undefined = undefined;

  constructor(session_key: string | null = null) {
    this._session_key = session_key;
    return new Proxy(this, bracketAccess);
  }

  // --- the key -------------------------------------------------------------

  /** Read-only, as in Django: assigning to it throws. */
  get session_key(): string | null {
    return this.__key;
  }

  /** The validating setter engines use: a key that fails validation becomes null. */
  protected get _session_key(): string | null {
    return this.__key;
  }

  protected set _session_key(value: string | null | undefined) {
    this.__key = value && this._validate_session_key(value) ? value : null;
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
  protected _checked_key(key: string | null | undefined): string | null {
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
    return this.__cache;
  }

  protected set _session_cache(value: SessionDict | null) {
    this.__cache = value === null || is_dict(value) ? value : new_dict(value);
    if (value !== null) this.__preloaded = null;
  }

  /** Whether the data can be read synchronously now (loaded, preloaded, or nothing to load). */
  private get __loaded(): boolean {
    return this.__cache !== null || this.__preloaded !== null || this.__key === null;
  }

  /**
   * Runs the engine's load() ahead of the first synchronous access (the
   * middleware awaits this when the request carries a session cookie). The
   * key, the data and the flags are put back as they were: load's effects on
   * them are applied by the first data access, as Django's lazy load would.
   */
  preload(): Promise<void> {
    if (this.__loaded) return LOADED;
    // __run_preload clears this when it ends: it always awaits load() first, so that comes after this assignment.
    return (this.__preloading ??= this.__run_preload());
  }

  /**
   * preload() without waiting, when the engine can answer at once (_load_now):
   * true when the data can be read now, false when preload() is still needed.
   * The middleware tries this first: an SQLite row or a signed cookie then
   * costs no promise turns.
   */
  preload_now(): boolean {
    if (this.__loaded) return true;
    if (this.__preloading !== null) return false;
    const key = this.__key as string;
    const modified = this.modified;
    const accessed = this.accessed;
    let data: SessionDict | undefined;
    try {
      data = this.__load_now_is_load() ? this._load_now() : undefined;
      if (data !== undefined) this.__set_preloaded(key, data);
    } finally {
      this.__unwind_load(key, modified, accessed);
    }
    return data !== undefined;
  }

  private async __run_preload(): Promise<void> {
    const key = this.__key as string;
    const modified = this.modified;
    const accessed = this.accessed;
    try {
      this.__set_preloaded(key, await this.load());
    } finally {
      this.__preloading = null;
      this.__unwind_load(key, modified, accessed);
    }
  }

  private __set_preloaded(for_key: string, data: unknown): void {
    // The built-in engines return a fresh new_dict(): no need to copy it again.
    const own = is_dict(data) ? data : is_plain_object(data) ? new_dict(data) : new_dict();
    this.__preloaded = { for_key, data: own, key: this.__key, modified: this.modified };
  }

  /** Whatever a load did to the session (a new key and a save from create(), say) waits for the first access. */
  private __unwind_load(key: string, modified: boolean, accessed: boolean): void {
    this.__key = key;
    this.__cache = null;
    this.modified = modified;
    this.accessed = accessed;
  }

  /**
   * What load() would return, when the store can give it without waiting
   * (an idle SQLite connection, a signed cookie); undefined sends the caller
   * to load(). An engine implements it only where it is load() run
   * synchronously. It is not called for a subclass that has a load() of its
   * own (see __load_now_is_load).
   */
  protected _load_now(): SessionDict | undefined {
    return undefined;
  }

  /** Whether load() is the one written beside the _load_now() in force: a subclass's own load() is never bypassed. */
  private __load_now_is_load(): boolean {
    let owner = Object.getPrototypeOf(this) as { load: unknown } | null;
    while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, '_load_now')) owner = Object.getPrototypeOf(owner) as { load: unknown } | null;
    return owner !== null && owner !== SessionBase.prototype && owner.load === this.load;
  }

  /** Django's `_get_session`: every data access goes through here and marks the session accessed. */
  protected _get_session(no_load = false): SessionDict {
    this.accessed = true;
    const cached = this.__cache;
    if (cached !== null) return cached;
    let data: SessionDict;
    if (this.__key === null || no_load) {
      data = new_dict();
    } else if (this.__preloaded !== null && this.__preloaded.for_key === this.__key) {
      const p = this.__preloaded;
      data = p.data;
      this.__key = p.key;
      if (p.modified) this.modified = true;
    } else {
      throw new Error(
        `The session for key ${this.__key.slice(0, 4)}… has not been loaded: await session.preload() (or load()) ` +
        'before reading it synchronously. SessionMiddleware does this for request.session.');
    }
    this._session_cache = data;
    return data;
  }

  /**
   * The data when it can be read synchronously now (the middleware preloads
   * it), else undefined: saves take it without an await, which would cost a
   * promise resolved with the dict and a turn of the microtask queue.
   */
  protected _loaded_session(no_load = false): SessionDict | undefined {
    return no_load || this.__loaded ? this._get_session(no_load) : undefined;
  }

  /** Django's `_aget_session`: loads from the store first when needed (storage methods use this). */
  protected async _aget_session(no_load = false): Promise<SessionDict> {
    if (!no_load) await this.preload();
    return this._get_session(no_load);
  }

  // --- the data API (synchronous) --------------------------------------------

  get<T = SessionValue>(key: string, fallback?: T): T | undefined {
    const d = this._get_session();
    return key in d ? (d[key] as T) : fallback;
  }

  /** `session[key] = value` */
  set(key: string, value: SessionValue): void {
    this._get_session()[key] = value;
    this.__changed.add(key);
    this.modified = true;
  }

  /** `del session[key]`: KeyError when absent. */
  delete(key: string): void {
    const d = this._get_session();
    if (!(key in d)) throw new KeyError(key);
    delete d[key];
    this.__changed.add(key);
    this.modified = true;
  }

  /** `key in session` */
  has(key: string): boolean {
    return key in this._get_session();
  }

  /** Without a fallback, a missing key throws KeyError (pass `undefined` explicitly to get undefined). */
  pop<T = SessionValue>(key: string, ...fallback: [fallback?: T]): T | undefined {
    const d = this._get_session();
    const present = key in d;
    this.modified = this.modified || present;
    if (present) {
      const v = d[key] as T;
      delete d[key];
      this.__changed.add(key);
      return v;
    }
    if (fallback.length > 0) return fallback[0];
    throw new KeyError(key);
  }

  setdefault<T = SessionValue>(key: string, value: T): T {
    const d = this._get_session();
    if (key in d) return d[key] as T;
    this.modified = true;
    d[key] = value;
    this.__changed.add(key);
    return value;
  }

  /** Sets modified even for an empty object, as Django does. */
  update(values: Record<string, SessionValue>): void {
    Object.assign(this._get_session(), values);
    for (const k of Object.keys(values)) this.__changed.add(k);
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
    this._session_cache = new_dict();
    // Recorded as such: a merge deletes the keys this request had, not keys another request added meanwhile.
    this.__cleared = true;
    this.accessed = true;
    this.modified = true;
  }

  /** No key and no data. A session with a key is never empty, loaded or not (Django short-circuits the same way). */
  is_empty(): boolean {
    return !this.__key && (this.__cache === null || Object.keys(this.__cache).length === 0);
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

  private __expiry_from(opts: ExpiryOptions): unknown {
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
    const expiry = this.__expiry_from(opts);
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
    const expiry = this.__expiry_from(opts);
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
      securityLog.warn('Session data corrupted');
    } catch (err) {
      if (err instanceof BadSignature) securityLog.warn('Session data corrupted');
    }
    return new_dict();
  }

  // --- storage (asynchronous) ------------------------------------------------

  /** Wraps one store round trip in the SESSION_STORE_TIMEOUT guard. */
  protected io<T>(op: Promise<T>, what: string, map_error?: StoreErrorMap): Promise<T> {
    return with_store_timeout(op, what, undefined, map_error);
  }

  /** io() for an operation that runs synchronously: no timeout to race, the same outage errors. */
  protected io_now<T>(op: () => T, what: string): T {
    try {
      return op();
    } catch (err) {
      throw as_unavailable(err, what);
    }
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
    if (this.__key === null) this.__key = await this._get_new_session_key();
    return this.__key;
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
    const data = await this._aget_session();
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
   * what this session loaded, merging with a concurrent save (see __save_over).
   * Engines with no server-side record (signed_cookies) override this whole.
   */
  async save(must_create = false): Promise<void> {
    if (this.session_key === null) return await this.create();
    const data = this._loaded_session(must_create) ?? (await this._aget_session());
    if (must_create) await this._insert(data);
    else await this.__save_over(data);
    this.__changed.clear();
    this.__cleared = false;
  }

  /** One save of a key at a time in this process (save_queue.ts says why); other processes meet the compare-and-swap. */
  private __save_over(data: SessionDict): Promise<void> {
    const key = this.session_key as string;
    // Already in turn: an engine's save() wrapped its own steps around this one (cached_db).
    if (this.__turn !== undefined) return this.__save_in_turn(key, data, this.__turn.previous);
    return this._in_save_turn(() => this.__save_in_turn(key, data, (this.__turn as { previous: StoredState | null }).previous));
  }

  /**
   * Runs `steps` in this session key's turn (save_queue.ts), for an engine
   * whose save() does more around the record's write (cached_db's cache
   * mark): the write inside then takes that same turn instead of queueing again.
   */
  protected _in_save_turn(steps: () => Promise<void>): Promise<void> {
    const key = this.session_key as string;
    return save_queue(this.constructor).run(key, settings.SESSION_STORE_TIMEOUT, async (previous) => {
      this.__turn = { previous };
      try {
        await steps();
      } finally {
        this.__turn = undefined;
      }
      return this._get_stored();
    });
  }

  private async __save_in_turn(key: string, data: SessionDict, previous: StoredState | null): Promise<void> {
    // Normally what load() read. Unknown after clear() on a session never loaded: read it now.
    let expected = this._get_stored() ?? await this._read_stored();
    if (expected === null) throw new UpdateError();
    let changes: SessionChanges | null = null;
    // The save before this one in the queue wrote `previous`, most likely after this session loaded:
    // our changes go on top of it and compare against it, instead of meeting a certain conflict.
    if (previous !== null && previous !== expected && previous.version !== expected.version) {
      changes = this._changes(await expected.data());
      data = apply_changes(await previous.data(), changes);
      this._session_cache = data;
      expected = previous;
    }
    for (let attempt = 0; ; attempt++) {
      // Out of retries: merge once more onto the latest read, then write without comparing.
      const last_write_wins = attempt > MAX_SAVE_RETRIES;
      if (last_write_wins) {
        log.warn(`A session save still conflicted after ${MAX_SAVE_RETRIES} retries; writing its last merge without comparing (last write wins)`,
          { key_prefix: key.slice(0, 4) });
      }
      const result = await this._compare_and_swap(last_write_wins ? null : expected, data);
      if (result === 'ok') return;
      // Deleted meanwhile (a logout in another request): writing would bring it back.
      if (result === 'gone') throw new UpdateError();
      // Another request saved since this one loaded: put our changes on top of what it saved.
      changes ??= this._changes(await expected.data());
      // A tiny jittered pause, so that writers colliding again do not stay in step.
      await sleep(Math.random() * 2 ** attempt);
      const fresh = await this._read_stored();
      if (fresh === null) throw new UpdateError();
      data = apply_changes(await fresh.data(), changes);
      this._session_cache = data;
      expected = fresh;
    }
  }

  /**
   * What this session changed since `baseline` (the record it loaded): keys
   * set or deleted through the API, plus values changed in place, as in
   * Django's documented `session['cart'].push(x); session.modified = true`,
   * found by comparing with the baseline. A key this request set wins even
   * when it set the value it had loaded (the later save wins).
   */
  protected _changes(baseline: SessionDict): SessionChanges {
    const mine = this.__cache ?? new_dict();
    const set = new_dict();
    const deleted: string[] = [];
    for (const k of new Set([...this.__changed, ...Object.keys(baseline), ...Object.keys(mine)])) {
      const had = k in baseline;
      const has = k in mine;
      if (!this.__changed.has(k) && had === has && (!has || same_value(baseline[k], mine[k]))) continue;
      if (has) set[k] = mine[k];
      else deleted.push(k);
    }
    return { set, deleted, cleared: this.__cleared };
  }

  /** Engines call this with what they have just read or written, so that the next save compares against it. */
  protected _set_stored(state: StoredState | null): void {
    this.__stored = state !== null && this.__key !== null ? { key: this.__key, state } : null;
  }

  /** What _set_stored() last got for the current key, or null. */
  protected _get_stored(): StoredState | null {
    return this.__stored !== null && this.__stored.key === this.__key ? this.__stored.state : null;
  }

  // The storage primitives of save(). Not abstract, so that an engine which
  // overrides save() whole (signed_cookies, or one written against Django's
  // shape) needs none of them.

  /** must_create: store `data` as a new record, never over an existing one (CreateError); then _set_stored(). */
  protected _insert(_data: SessionDict): Promise<void> {
    return Promise.reject(new NotImplementedError(`${this.constructor.name} does not implement _insert() or save().`));
  }

  /** The record for the current key as the store holds it now, or null if there is none. */
  protected _read_stored(): Promise<StoredState | null> {
    return Promise.reject(new NotImplementedError(`${this.constructor.name} does not implement _read_stored() or save().`));
  }

  /**
   * Atomically: if the record is still `expected`, write `data` over it (and
   * _set_stored() the result) → 'ok'; if it changed → 'conflict'; if there
   * is none → 'gone', writing nothing. `expected` null: write over whatever
   * is there, but still never re-create a missing record.
   */
  protected _compare_and_swap(_expected: StoredState | null, _data: SessionDict): Promise<CasResult> {
    return Promise.reject(new NotImplementedError(`${this.constructor.name} does not implement _compare_and_swap() or save().`));
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
