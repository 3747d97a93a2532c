/**
 * The session dictionary: the plain data a session holds (Django's
 * `_session_cache`, a dict), and how a save's changes are put on top of a
 * record another request saved meanwhile. Kept apart from SessionBase because
 * engines, the save queue and the merge all handle dicts without a session.
 */

/** The session's contents: an object without Object.prototype in its chain (new_dict()), so any string (even `__proto__`) is just a key. */
export type SessionDict = Record<string, unknown>;

/** What this session changed since it was loaded or last saved (only a conflicting save asks). */
export interface SessionChanges {
  /** Keys set, with their current values. */
  set: SessionDict;
  /** Keys deleted (pop, delete, and every loaded key clear() removed). */
  deleted: string[];
}

/**
 * The prototype of every session dict: empty, frozen, and itself without a
 * prototype, so Object.prototype is not in a dict's chain. An object made by
 * Object.create(null) works as well for that, but V8 keeps it in dictionary
 * mode, and every get, set, key listing and JSON.stringify of it took the slow
 * path (about three times the time, measured on a session-sized dict).
 */
const DICT_PROTO: object = Object.freeze(Object.create(null) as object);

export function new_dict(source?: Record<string, unknown>): SessionDict {
  const d = Object.create(DICT_PROTO) as SessionDict;
  // Object.assign defines '__proto__' as an own key here: the chain has no prototype setter.
  return source ? Object.assign(d, source) : d;
}

/** Whether `v` came from new_dict() (and so needs no copy to become a session dict). */
export function is_dict(v: unknown): v is SessionDict {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === DICT_PROTO;
}

/** A JSON object as a session can hold it: a plain object or a session dict, not an array or a class instance. */
export function is_plain_object(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null || proto === DICT_PROTO;
}

/** Session values are JSON (every store serializes them so): equal serializations, equal values. */
export function same_value(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** `changes` applied on top of `fresh`: the result of a merge after a conflict. */
export function apply_changes(fresh: SessionDict, changes: SessionChanges): SessionDict {
  const out = new_dict(fresh);
  for (const k of changes.deleted) delete out[k];
  return Object.assign(out, changes.set);
}
