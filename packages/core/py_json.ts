/**
 * Python's `json.dumps(obj, separators=(',', ':'))` / `json.loads`, as used by
 * django.core.signing.JSONSerializer. Signed values (dumps(), session data,
 * the signed_cookies session engine) carry this text inside the signature, so
 * a value written by Django and one written by Tango are only interchangeable
 * if the bytes agree exactly; JSON.stringify differs in escaping, float
 * formatting and NaN handling (CPython's Lib/json/encoder.py, which
 * django/core/signing.py's JSONSerializer calls with separators=(',', ':')).
 *
 * Known, accepted difference: a plain JS object enumerates integer-like keys
 * ("0", "42", up to 2**32 - 2) first in ascending order, whatever order they
 * were inserted in, whereas a Python dict keeps insertion order. Nothing can be
 * done about that once the object exists; pass a Map to keep an exact order.
 */

export type PyJsonValue =
  | null
  | boolean
  | number
  | string
  | PyJsonValue[]
  | { [key: string]: PyJsonValue };

/**
 * Python's `repr(float)`: the shortest digits that round-trip (JS computes
 * the same digits), but written with Python's layout: scientific notation when
 * the decimal exponent is < -4 or >= 16, a two-digit signed exponent
 * (`1e-07`, `1e+16`), and a trailing `.0` on integral values (`1.0`).
 * Python's float_repr_style 'short' / format code 'r' (Objects/floatobject.c).
 */
export function py_float_repr(n: number): string {
  // String() writes plain decimals for 1e-6 <= |n| < 1e21, Python's repr for
  // 1e-4 <= |n| < 1e16, and both use the shortest round-trip digits; inside
  // the overlap the texts agree except for the `.0` Python gives an integral
  // float. That covers nearly every float a session holds.
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) {
    const text = String(n);
    return Number.isInteger(n) ? `${text}.0` : text;
  }
  return py_float_repr_by_digits(n);
}

/**
 * The general layout of py_float_repr, from the shortest digits and the
 * decimal exponent. Exported so tests can hold the fast path above to it.
 */
export function py_float_repr_by_digits(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  // toExponential() with no argument yields the shortest round-trip digits.
  const [mantissa, exp_text] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(exp_text);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int_len = exp + 1;
  if (digits.length <= int_len) return `${sign}${digits}${'0'.repeat(int_len - digits.length)}.0`;
  return `${sign}${digits.slice(0, int_len)}.${digits.slice(int_len)}`;
}

/**
 * How json.dumps writes a number. JS has one number type, so an integral
 * value is written as a Python int would be (`1`, not `1.0`; -0 becomes `0`)
 * and anything else as a Python float. Non-finite values are written as
 * Python does by default (allow_nan=True): `NaN`, `Infinity`, `-Infinity`.
 */
function py_number(n: number): string {
  if (Number.isInteger(n)) {
    // String() switches to exponent notation at 1e21; a Python int never does.
    return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  }
  return py_float_repr(n);
}

/**
 * Python's `str()` of a scalar, which Signer.sign applies to its value
 * (`str(True)` is `True`, `str(None)` is `None`, `str(1.5)` is `1.5`).
 */
export function py_str(value: string | number | bigint | boolean | null): string {
  if (typeof value === 'string') return value;
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  return py_number(value);
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

// json.encoder.ESCAPE_ASCII: everything outside printable ASCII (so DEL and
// every non-ASCII UTF-16 unit, surrogate halves included) becomes \uXXXX.
const ESCAPE_ASCII = /[\\"]|[^ -~]/g;
const NOT_PRINTABLE_ASCII = /[^ -~]/;

function escape_char(ch: string): string {
  return ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** True when `s` has nothing json.dumps would escape: only printable ASCII, no `"` or `\\`. */
function is_plain_ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * Most strings in session data need no escaping at all, so they are checked
 * with a plain loop first. Otherwise JSON.stringify is tried: it escapes
 * exactly what Python escapes within printable ASCII (`"`, `\\`, C0 controls
 * with the same short forms and lowercase \u00XX) and writes lone surrogates
 * as lowercase \uXXXX as Python does, but leaves DEL and non-ASCII raw; so a
 * result that is all printable ASCII is already Python's, and only the rest
 * goes through the slower regex replace.
 */
function py_string(s: string): string {
  if (is_plain_ascii(s)) return `"${s}"`;
  const quoted = JSON.stringify(s);
  if (!NOT_PRINTABLE_ASCII.test(quoted)) return quoted;
  return `"${s.replace(ESCAPE_ASCII, escape_char)}"`;
}

function not_serializable(value: unknown): TypeError {
  const kind = value === undefined ? 'undefined' : typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value;
  return new TypeError(`Object of type ${kind} is not JSON serializable`);
}

/** json.encoder: dict keys may be str, int, float, bool or None and are written as strings. */
function map_key(key: unknown): string {
  if (typeof key === 'string') return key;
  if (key === null) return 'null';
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (typeof key === 'number') return py_number(key);
  if (typeof key === 'bigint') return key.toString();
  throw new TypeError(`keys must be str, int, float, bool or None, not ${typeof key}`);
}

/**
 * `json.dumps(value, separators=(',', ':'))` with Python's defaults
 * (ensure_ascii=True, allow_nan=True). JS-only values follow JSON.stringify
 * where Python has no equivalent: `toJSON()` is honoured (so a Date becomes
 * its ISO string), `undefined` object members are skipped and `undefined`
 * array items become `null`. Functions, symbols and Sets throw a TypeError,
 * as Python does for values it cannot serialize, rather than vanish silently.
 */
/**
 * The deepest nesting (objects and arrays inside each other) that JSON here
 * writes. Python's json stops near its recursion limit (1000) too; Node's
 * JSON.parse and py_json_loads fail a few thousand levels down, depending on
 * how much stack the caller has used, so a deeper value could be written and
 * then never read back (measured: 5000 levels write, and fail to parse).
 */
export const MAX_JSON_DEPTH = 1000;

/** The error for a value nested deeper than MAX_JSON_DEPTH (Python: RecursionError). */
export function too_deep(): RangeError {
  return new RangeError(`nested more than ${MAX_JSON_DEPTH} levels deep (objects or arrays inside each other)`);
}

export function py_json_dumps(value: unknown): string {
  // Objects being written, for Python's circular-reference check.
  const stack = new Set<object>();

  // Strings are concatenated rather than collected and joined: V8 builds
  // ropes for +=, which beat an array of fragments for session-sized values.
  const write = (v: unknown, in_array: boolean): string => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    switch (typeof v) {
      case 'string':
        return py_string(v);
      case 'number':
        return py_number(v);
      case 'bigint':
        return v.toString();
      case 'boolean':
        return v ? 'true' : 'false';
      case 'undefined':
        if (in_array) return 'null';
        throw not_serializable(v);
      case 'object':
        break;
      default:
        throw not_serializable(v);
    }
    if (v === null) return 'null';
    const obj = v as object;
    if (stack.has(obj)) throw new TypeError('Circular reference detected');
    if (obj instanceof Set) throw not_serializable(obj);
    // `stack` holds the containers being written: its size is the depth.
    if (stack.size >= MAX_JSON_DEPTH) throw too_deep();
    stack.add(obj);
    let out: string;
    if (Array.isArray(obj)) {
      out = '[';
      for (let i = 0; i < obj.length; i++) {
        if (i > 0) out += ',';
        out += write(obj[i], true);
      }
      out += ']';
    } else {
      out = '{';
      let first = true;
      if (obj instanceof Map) {
        for (const [k, item] of obj) {
          if (item === undefined) continue;
          out += `${first ? '' : ','}${py_string(map_key(k))}:${write(item, false)}`;
          first = false;
        }
      } else {
        // Keys first, then each value read as it is written, as JSON.stringify
        // does; Object.entries would build a pair array per member.
        const keys = Object.keys(obj);
        for (let i = 0; i < keys.length; i++) {
          const item = (obj as Record<string, unknown>)[keys[i]];
          if (item === undefined) continue;
          out += `${first ? '' : ','}${py_string(keys[i])}:${write(item, false)}`;
          first = false;
        }
      }
      out += '}';
    }
    stack.delete(obj);
    return out;
  };

  return write(value, false);
}

/**
 * `json.loads`. Plain JSON goes through JSON.parse; Python also reads the
 * `NaN`, `Infinity` and `-Infinity` tokens its own dumps writes, so text that
 * JSON.parse rejects gets a second chance with a small parser that knows them.
 * Integers beyond 2**53 lose precision here, unlike in Python.
 */
export function py_json_loads(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch (err) {
    if (!/NaN|Infinity/.test(s)) throw err;
    return new NanAwareParser(s).parse_document();
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const STRING_BODY = /[^"\\\u0000-\u001f]*/y;

class NanAwareParser {
  #pos = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  parse_document(): unknown {
    const value = this.#value();
    this.#skip_whitespace();
    if (this.#pos !== this.#text.length) this.#fail('Extra data');
    return value;
  }

  #fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.#pos}`);
  }

  #skip_whitespace(): void {
    WHITESPACE.lastIndex = this.#pos;
    WHITESPACE.exec(this.#text);
    this.#pos = WHITESPACE.lastIndex;
  }

  #literal(word: string): boolean {
    if (this.#text.startsWith(word, this.#pos)) {
      this.#pos += word.length;
      return true;
    }
    return false;
  }

  #value(): unknown {
    this.#skip_whitespace();
    const ch = this.#text[this.#pos];
    if (ch === '{') return this.#object();
    if (ch === '[') return this.#array();
    if (ch === '"') return this.#string();
    if (this.#literal('null')) return null;
    if (this.#literal('true')) return true;
    if (this.#literal('false')) return false;
    if (this.#literal('NaN')) return NaN;
    if (this.#literal('Infinity')) return Infinity;
    if (this.#literal('-Infinity')) return -Infinity;
    NUMBER.lastIndex = this.#pos;
    const m = NUMBER.exec(this.#text);
    if (!m) this.#fail('Expecting value');
    this.#pos = NUMBER.lastIndex;
    return Number(m[0]);
  }

  #string(): string {
    let out = '';
    this.#pos++; // opening quote
    for (;;) {
      STRING_BODY.lastIndex = this.#pos;
      const m = STRING_BODY.exec(this.#text) as RegExpExecArray;
      out += m[0];
      this.#pos = STRING_BODY.lastIndex;
      const ch = this.#text[this.#pos];
      if (ch === '"') {
        this.#pos++;
        return out;
      }
      if (ch !== '\\') this.#fail('Unterminated string or invalid control character');
      const esc = this.#text[this.#pos + 1];
      if (esc === 'u') {
        const hex = this.#text.slice(this.#pos + 2, this.#pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.#fail('Invalid \\uXXXX escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.#pos += 6;
      } else {
        const decoded = ({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[esc];
        if (decoded === undefined) this.#fail('Invalid \\escape');
        out += decoded;
        this.#pos += 2;
      }
    }
  }

  #array(): unknown[] {
    const out: unknown[] = [];
    this.#pos++;
    this.#skip_whitespace();
    if (this.#text[this.#pos] === ']') {
      this.#pos++;
      return out;
    }
    for (;;) {
      out.push(this.#value());
      this.#skip_whitespace();
      const ch = this.#text[this.#pos++];
      if (ch === ']') return out;
      if (ch !== ',') this.#fail("Expecting ',' delimiter");
    }
  }

  #object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.#pos++;
    this.#skip_whitespace();
    if (this.#text[this.#pos] === '}') {
      this.#pos++;
      return out;
    }
    for (;;) {
      this.#skip_whitespace();
      if (this.#text[this.#pos] !== '"') this.#fail('Expecting property name enclosed in double quotes');
      const key = this.#string();
      this.#skip_whitespace();
      if (this.#text[this.#pos++] !== ':') this.#fail("Expecting ':' delimiter");
      // defineProperty, as JSON.parse does, so a "__proto__" key is data, not a prototype swap.
      Object.defineProperty(out, key, { value: this.#value(), writable: true, enumerable: true, configurable: true });
      this.#skip_whitespace();
      const ch = this.#text[this.#pos++];
      if (ch === '}') return out;
      if (ch !== ',') this.#fail("Expecting ',' delimiter");
    }
  }
}
