/**
 * Keyv's stored form (@keyv/serialize), byte for byte, at JSON.stringify's
 * speed. Keyv escapes strings that start with ':' (to '::…') and writes
 * Buffers as ':base64:…', building the text in JavaScript, and reads it back
 * through a JSON.parse reviver: both cost more than the cache round trip of a
 * small session. Values with neither, the usual case, give the same text from
 * plain JSON.stringify and the same value from plain JSON.parse; anything
 * else goes through Keyv's own functions, so entries stay readable both ways.
 */
import { defaultDeserialize, defaultSerialize } from '@keyv/serialize';
import { flat_json, flat_snapshot, type FlatSnapshot } from './json_snapshot';
import { MAX_JSON_DEPTH, too_deep } from './py_json';

/** True when JSON.stringify(v) is exactly what Keyv's serializer writes. */
function plain(v: unknown, depth = 0): boolean {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined) return true;
  if (typeof v === 'string') return v.charCodeAt(0) !== 58; // ':'
  if (typeof v !== 'object' || depth > 64) return false;
  // Buffers, Dates and anything else with toJSON: Keyv treats these its own way.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      // JSON.stringify writes null for these in arrays; Keyv skips functions.
      if (typeof item === 'function' || !plain(item, depth + 1)) return false;
    }
    return true;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) return false;
    const item = (v as Record<string, unknown>)[k];
    if (typeof item === 'function' || !plain(item, depth + 1)) return false;
  }
  return true;
}

/**
 * Whether `v` nests no deeper than `max` containers. A cycle is a TypeError
 * here, as JSON.stringify's: Keyv's serializer has no cycle check and would
 * recurse out of stack instead.
 */
function within_depth(v: unknown, max: number, seen = new Set<object>()): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (seen.has(v)) throw new TypeError('Circular reference detected');
  if (max <= 0) return false;
  seen.add(v);
  for (const k in v) {
    if (!within_depth((v as Record<string, unknown>)[k], max - 1, seen)) return false;
  }
  seen.delete(v);
  return true;
}

/**
 * Keyv's text for `data` (an entry). A value deeper than MAX_JSON_DEPTH is refused: Keyv's
 * serializer would write it, but reading it back overflows the stack, so the
 * entry could never be loaded again. (plain() answers false past depth 64, so
 * the depth walk only runs for the rare deep or Keyv-special values.)
 */
export function serialize(data: unknown): string {
  if (plain(data)) return JSON.stringify(data);
  // Keyv's entry `{ value, expires }` wraps the value: one level more than the value's own.
  if (!within_depth(data, MAX_JSON_DEPTH + 1)) throw too_deep();
  return defaultSerialize(data);
}

/** No string value of the snapshot starts with ':' (keys are never escaped by Keyv). */
function keyv_plain_flat(snapshot: FlatSnapshot): boolean {
  if (typeof snapshot === 'string') return snapshot.charCodeAt(0) !== 58;
  if (snapshot === null || typeof snapshot !== 'object') return true;
  for (const k in snapshot) {
    const v = snapshot[k];
    if (typeof v === 'string' && v.charCodeAt(0) === 58) return false;
  }
  return true;
}

/**
 * serialize({ value, expires }) (expires omitted when undefined), with the
 * value's flat snapshot when it has one (see json_snapshot). A flat value,
 * a session's usual data, is walked once: its text is written from the
 * snapshot instead of walking it again for plain() and for JSON.stringify.
 */
export function serialize_entry(value: unknown, expires: number | undefined): { serialized: string; snapshot: FlatSnapshot | undefined } {
  const snapshot = flat_snapshot(value);
  if (snapshot === undefined || !keyv_plain_flat(snapshot) || (expires !== undefined && !Number.isFinite(expires))) {
    return { serialized: serialize({ value, expires }), snapshot };
  }
  const head = '{"value":' + flat_json(snapshot);
  return { serialized: expires === undefined ? head + '}' : head + ',"expires":' + String(expires) + '}', snapshot };
}

// A string token that starts with ':' follows a value position: the start, ':',
// ',' or '['. A key ending in one of those can match too; that only costs the slow path.
const ESCAPED_STRING = /(?:^|[:,[])\s*":/;

export function deserialize<T>(text: string): T {
  return (ESCAPED_STRING.test(text) ? defaultDeserialize(text) : JSON.parse(text)) as T;
}
