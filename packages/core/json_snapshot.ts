/**
 * Parsed JSON kept for text that a process reads again and again: a session's
 * cache entry or stored record, read back by every request of that session.
 * V8's JSON.parse costs far more, even for a small object, than copying a
 * kept one. Measured: bench/NOTES.md.
 *
 * Only flat values are kept: a string, finite number, boolean or null, or an
 * object whose own values are all of those. A shallow copy of such an object
 * is a deep one, so every caller still gets data of its own to change, exactly
 * as if the text had been parsed again. Anything else (nested objects, arrays,
 * a `__proto__` key, values JSON would drop or rewrite) is not kept, and its
 * text is parsed each time as before.
 */

type Scalar = string | number | boolean | null;

/** A frozen flat object, as the JSON text of it parses. */
export type FlatObject = Readonly<Record<string, Scalar>>;

/** A frozen flat value, as the JSON text of it parses. */
export type FlatSnapshot = Scalar | FlatObject;

/** What `v` reads back as through JSON, or undefined when JSON would not give it back as it is (NaN, undefined, a function). */
function scalar(v: unknown): Scalar | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      // JSON writes -0 as 0, and has no NaN or Infinity.
      return Number.isFinite(v) ? v + 0 : undefined;
    case 'object':
      return v === null ? null : undefined;
    default:
      return undefined;
  }
}

/**
 * A frozen copy of `value` equal to what JSON.parse gives for its JSON text,
 * or undefined when `value` is not flat (see above). `value` may be any
 * object without toJSON; the copy is a plain object.
 */
export function flat_snapshot(value: unknown): FlatSnapshot | undefined {
  if (value === null || typeof value !== 'object') return scalar(value);
  if (Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  // JSON writes a boxed primitive as the primitive, not as its indexed characters.
  if (value instanceof String || value instanceof Number || value instanceof Boolean) return undefined;
  const out: Record<string, Scalar> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    // Assigning '__proto__' to a plain object would set its prototype instead.
    if (k === '__proto__') return undefined;
    const v = scalar((value as Record<string, unknown>)[k]);
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return Object.freeze(out);
}

/** A fresh value from a snapshot: an object the caller may change freely. */
export function thaw(snapshot: FlatSnapshot): unknown {
  return snapshot !== null && typeof snapshot === 'object' ? { ...snapshot } : snapshot;
}

/** `s` as a JSON string literal, exactly as JSON.stringify writes it. */
function quote(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // What JSON escapes: '"', '\\', control characters, and lone surrogates (any surrogate sends us to JSON itself).
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

function scalar_json(v: Scalar): string {
  // Numbers in a snapshot are finite and never -0, where String() and JSON differ.
  return typeof v === 'string' ? quote(v) : String(v);
}

/**
 * The JSON text of a snapshot, exactly what JSON.stringify gives for it and
 * for the value it was taken of. Written in JavaScript because V8's
 * JSON.stringify has a fixed cost (a builder, a toJSON lookup per object, a
 * generic property walk) about twice that of building a small flat object's
 * text by hand. Measured: bench/NOTES.md.
 */
export function flat_json(snapshot: FlatSnapshot): string {
  if (snapshot === null || typeof snapshot !== 'object') return scalar_json(snapshot);
  const keys = Object.keys(snapshot);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    out += (i === 0 ? '' : ',') + quote(k) + ':' + scalar_json(snapshot[k]);
  }
  return out + '}';
}
