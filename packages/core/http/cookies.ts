/**
 * Response and request cookies, byte-compatible with Django: quoting and the
 * Set-Cookie text follow Python's http.cookies (Morsel, SimpleCookie, _quote,
 * _unquote), set_cookie/delete_cookie follow django.http.response.HttpResponseBase,
 * and parse_cookie follows django.http.cookie.parse_cookie.
 */
import { time } from '../clock';
import { TangoError } from '../errors';
import { http_date } from '../timezone';

/** Python's http.cookies.CookieError, raised for names, values or attributes a cookie cannot carry. */
export class CookieError extends TangoError {
  override readonly code = 'TANGO_COOKIE_ERROR';
}

// http.cookies._LegalChars: the only characters a name may use, and the ones a
// value may use without being quoted.
const LEGAL_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/;
const LEGAL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~:";
// http.cookies._UnescapedChars: allowed raw inside the quotes.
const UNESCAPED_CHARS = LEGAL_CHARS + ' ()/<=>?@[]{}';

// http.cookies._Translator: what each code point below 256 becomes inside the
// quotes. Code points above 255 are not in the table and stay raw.
const QUOTE_TABLE: string[] = (() => {
  const table: string[] = [];
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    if (UNESCAPED_CHARS.includes(ch)) table.push(ch);
    else if (ch === '"') table.push('\\"');
    else if (ch === '\\') table.push('\\\\');
    else table.push('\\' + c.toString(8).padStart(3, '0'));
  }
  return table;
})();

export function cookie_quote(value: string): string {
  if (LEGAL_RE.test(value)) return value;
  let out = '"';
  let run = 0; // start of the current stretch of characters copied as they are
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 255) continue;
    const t = QUOTE_TABLE[c];
    if (t.length === 1) continue;
    out += value.slice(run, i) + t;
    run = i + 1;
  }
  return out + value.slice(run) + '"';
}

function is_octal_digit(c: number, max: number): boolean {
  return c >= 0x30 && c <= max;
}

export function cookie_unquote(s: string): string {
  if (s.length < 2 || s.charCodeAt(0) !== 0x22 || s.charCodeAt(s.length - 1) !== 0x22) return s;
  const inner = s.slice(1, -1);
  let i = inner.indexOf('\\');
  if (i === -1) return inner;
  // Python's _unquote: `\ooo` ([0-3][0-7][0-7]) is that code point, `\X` is X
  // for any X but a newline (the regex `.`), and a lone trailing `\` stays.
  let out = '';
  let run = 0;
  const n = inner.length;
  while (i !== -1) {
    if (
      i + 3 < n &&
      is_octal_digit(inner.charCodeAt(i + 1), 0x33) &&
      is_octal_digit(inner.charCodeAt(i + 2), 0x37) &&
      is_octal_digit(inner.charCodeAt(i + 3), 0x37)
    ) {
      out += inner.slice(run, i) + String.fromCharCode(parseInt(inner.slice(i + 1, i + 4), 8));
      run = i + 4;
    } else if (i + 1 < n && inner.charCodeAt(i + 1) !== 0x0a) {
      out += inner.slice(run, i) + inner[i + 1];
      run = i + 2;
    } else {
      // Kept as is; searching on from i + 1 keeps `\` + newline verbatim too.
      i = inner.indexOf('\\', i + 1);
      continue;
    }
    i = inner.indexOf('\\', run);
  }
  return out + inner.slice(run);
}

// Python's str.isspace(), which str.strip() uses. It differs from JS trim():
// Python also strips U+001C–U+001F and U+0085, and keeps U+FEFF.
function is_py_space(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
  );
}

function py_strip(s: string, start: number, end: number): string {
  while (start < end && is_py_space(s.charCodeAt(start))) start++;
  while (end > start && is_py_space(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

export function parse_cookie(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  if (typeof header !== 'string') return cookies;
  const n = header.length;
  // The next '=' at or after the current chunk, carried forward so a header of
  // many chunks without '=' stays linear instead of rescanning to the end.
  let eq = header.indexOf('=');
  let start = 0;
  while (start <= n) {
    let end = header.indexOf(';', start);
    if (end === -1) end = n;
    if (eq !== -1 && eq < start) eq = header.indexOf('=', start);
    let key: string;
    let value: string;
    if (eq !== -1 && eq < end) {
      key = py_strip(header, start, eq);
      value = py_strip(header, eq + 1, end);
    } else {
      // No '=': a nameless cookie (Mozilla bug 169091), as Django reads it.
      key = '';
      value = py_strip(header, start, end);
    }
    if (key !== '' || value !== '') cookies.set(key, cookie_unquote(value));
    start = end + 1;
  }
  return cookies;
}

const NON_ASCII_RE = /[^\x00-\x7f]/;
const ABOVE_LATIN1_RE = /[^\x00-\xff]/;

export function decode_cookie_header(raw: string): string {
  // Django's WSGIRequest re-encodes HTTP_COOKIE as Latin-1 and decodes it as
  // UTF-8 with replacement; Node hands us the same Latin-1 view of the bytes.
  // Only ASCII has one UTF-8 byte per character, and V8 counts that a few
  // times faster than a regex scans for the rest.
  if (Buffer.byteLength(raw, 'utf8') === raw.length) return raw;
  // Already text (not one char per byte): there are no bytes to re-decode.
  if (ABOVE_LATIN1_RE.test(raw)) return raw;
  // Buffer's decoder replaces maximal invalid subparts with U+FFFD, as Python's
  // 'replace' handler does, and unlike TextDecoder it keeps a leading BOM.
  return Buffer.from(raw, 'latin1').toString('utf8');
}

// Python's repr() of a str, for error messages: never echoes control
// characters (a name with CR/LF must not forge a log line).
function py_repr(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === "'" || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\u' + c.toString(16);
    else out += ch;
  }
  return out + "'";
}

// Morsel._reserved, plus 'partitioned' (a Morsel flag since Python 3.14).
const RESERVED_NAMES = new Set([
  'expires', 'path', 'comment', 'domain', 'max-age', 'secure', 'httponly', 'version', 'samesite', 'partitioned',
]);

export function validate_cookie_name(name: string): void {
  // Morsel.set checks the reserved names first, then the legal characters.
  if (typeof name === 'string' && RESERVED_NAMES.has(name.toLowerCase())) {
    throw new CookieError(`Attempt to set a reserved cookie name ${py_repr(name)}`);
  }
  if (typeof name !== 'string' || !LEGAL_RE.test(name)) {
    throw new CookieError(
      `Illegal cookie name ${py_repr(String(name))}: a cookie name must be made of ASCII token characters`,
    );
  }
}

// A lone surrogate cannot be encoded as UTF-8: it would reach the browser as
// U+FFFD and never come back as it was set. Python fails the same way, later
// (UnicodeEncodeError when the header is written).
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The value as Set-Cookie sends it (cookie_quote), refusing one that cannot be sent. */
function coded_cookie_value(key: string, value: string): string {
  const coded = cookie_quote(value);
  // Unquoted means only legal (ASCII) characters: no surrogate to look for.
  if (coded !== value && LONE_SURROGATE_RE.test(value)) {
    throw new CookieError(`Cookie ${py_repr(key)} has a value with a lone surrogate, which cannot be sent as UTF-8`);
  }
  return coded;
}

// Anything that could end the attribute or the header line.
const UNSAFE_ATTRIBUTE_RE = /[\x00-\x1f\x7f;]/;
// Printable ASCII but ';': the one test nearly every attribute passes.
const PLAIN_ATTRIBUTE_RE = /[^\x20-\x3a\x3c-\x7e]/;

/** Refuses what could end the attribute; true when the value is ASCII. */
function check_attribute(option: string, value: string): boolean {
  if (!PLAIN_ATTRIBUTE_RE.test(value)) return true;
  if (UNSAFE_ATTRIBUTE_RE.test(value)) {
    throw new CookieError(`Invalid cookie ${option} ${py_repr(value)}: it must not contain ';' or control characters`);
  }
  return !NON_ASCII_RE.test(value);
}

const SAMESITE_VALUES = new Set(['lax', 'none', 'strict']);

function check_samesite(samesite: string): void {
  if (!SAMESITE_VALUES.has(String(samesite).toLowerCase())) {
    throw new CookieError('samesite must be "lax", "none", or "strict".');
  }
}

function check_max_age(max_age: number): number {
  if (typeof max_age !== 'number' || !Number.isFinite(max_age)) {
    throw new CookieError(`Invalid cookie max_age ${String(max_age)}: it must be a finite number of seconds`);
  }
  // Morsel stores int(max_age); `|| 0` turns -0 (from -0.5) into Python's 0.
  return Math.trunc(max_age) || 0;
}

/**
 * One response cookie (Python's http.cookies.Morsel). Every attribute setter
 * checks its value, so no Morsel can render a header that splits or injects.
 */
export class Morsel {
  readonly key: string;
  #value = '';
  #coded_value = '""';
  #expires = '';
  #max_age: number | null = null;
  #path: string | null = null;
  #domain: string | null = null;
  #secure = false;
  #httponly = false;
  #samesite: string | null = null;
  #partitioned = false;
  #rendered: string | null = null;
  // Which parts of the Set-Cookie text have characters above U+007F.
  #non_ascii_value = false;
  #non_ascii_attrs = 0;

  constructor(key: string, value?: string) {
    validate_cookie_name(key);
    this.key = key;
    // Without a value the fields already hold the empty one, quoted.
    if (value !== undefined) this.value = value;
  }

  get value(): string {
    return this.#value;
  }
  set value(value: string) {
    // SimpleCookie.value_encode uses str(value) for non-strings.
    const v = typeof value === 'string' ? value : String(value);
    this.#set_value(v, coded_cookie_value(this.key, v));
    this.#rendered = null;
  }

  #set_value(value: string, coded: string): void {
    this.#value = value;
    this.#coded_value = coded;
    // Quoting escapes everything from U+0080 to U+00FF: only code points above stay raw.
    this.#non_ascii_value = coded !== value && NON_ASCII_RE.test(coded);
  }

  get coded_value(): string {
    return this.#coded_value;
  }

  get expires(): string {
    return this.#expires;
  }
  set expires(v: string) {
    this.#note_ascii(1, check_attribute('expires', v));
    this.#expires = v;
    this.#rendered = null;
  }

  get max_age(): number | null {
    return this.#max_age;
  }
  set max_age(v: number | null) {
    this.#max_age = v === null ? null : check_max_age(v);
    this.#rendered = null;
  }

  get path(): string | null {
    return this.#path;
  }
  set path(v: string | null) {
    this.#note_ascii(2, v === null || check_attribute('path', v));
    this.#path = v;
    this.#rendered = null;
  }

  get domain(): string | null {
    return this.#domain;
  }
  set domain(v: string | null) {
    this.#note_ascii(4, v === null || check_attribute('domain', v));
    this.#domain = v;
    this.#rendered = null;
  }

  get secure(): boolean {
    return this.#secure;
  }
  set secure(v: boolean) {
    this.#secure = Boolean(v);
    this.#rendered = null;
  }

  get httponly(): boolean {
    return this.#httponly;
  }
  set httponly(v: boolean) {
    this.#httponly = Boolean(v);
    this.#rendered = null;
  }

  get samesite(): string | null {
    return this.#samesite;
  }
  set samesite(v: string | null) {
    if (v) check_samesite(v);
    this.#samesite = v;
    this.#rendered = null;
  }

  get partitioned(): boolean {
    return this.#partitioned;
  }
  set partitioned(v: boolean) {
    this.#partitioned = Boolean(v);
    this.#rendered = null;
  }

  #note_ascii(bit: number, ascii: boolean): void {
    this.#non_ascii_attrs = ascii ? this.#non_ascii_attrs & ~bit : this.#non_ascii_attrs | bit;
  }

  /** Whether output() has characters above U+007F (the server then writes them as UTF-8 bytes). */
  get non_ascii(): boolean {
    return this.#non_ascii_value || this.#non_ascii_attrs !== 0;
  }

  output(): string {
    if (this.#rendered !== null) return this.#rendered;
    // Morsel.OutputString: attributes sorted by their lowercase names, empty
    // ones skipped, flags rendered only when true.
    let out = `${this.key}=${this.#coded_value}`;
    if (this.#domain) out += `; Domain=${this.#domain}`;
    if (this.#expires) out += `; expires=${this.#expires}`;
    if (this.#httponly) out += '; HttpOnly';
    if (this.#max_age !== null) {
      // %d formatting: never exponent notation, whatever the magnitude.
      const n = Math.abs(this.#max_age) < 1e21 ? String(this.#max_age) : BigInt(this.#max_age).toString();
      out += `; Max-Age=${n}`;
    }
    if (this.#partitioned) out += '; Partitioned';
    if (this.#path) out += `; Path=${this.#path}`;
    if (this.#samesite) out += `; SameSite=${this.#samesite}`;
    if (this.#secure) out += '; Secure';
    this.#rendered = out;
    return out;
  }

  toString(): string {
    return this.output();
  }
}

/** Python's http.cookies.SimpleCookie: the cookies a response will send, by name. */
export class SimpleCookie extends Map<string, Morsel> {
  set_value(key: string, value: string): Morsel {
    // Re-assigning keeps the existing Morsel and so its other attributes
    // (SimpleCookie.__set in CPython's Lib/http/cookies.py).
    const existing = this.get(key);
    if (existing) {
      existing.value = value;
      return existing;
    }
    const morsel = new Morsel(key, value);
    super.set(key, morsel);
    return morsel;
  }

  override set(key: string, morsel: Morsel): this {
    // The Set-Cookie text uses morsel.key, so a Morsel filed under another
    // name would send a cookie nobody asked for.
    if (!(morsel instanceof Morsel) || morsel.key !== key) {
      throw new CookieError(`A Morsel stored under ${py_repr(String(key))} must have that key`);
    }
    return super.set(key, morsel);
  }
}

export interface SetCookieOptions {
  max_age?: number | null;
  expires?: Date | string | null;
  path?: string | null;
  domain?: string | null;
  secure?: boolean | null;
  httponly?: boolean | null;
  samesite?: string | false | null;
  partitioned?: boolean | null;
}

const EPOCH_EXPIRES = 'Thu, 01 Jan 1970 00:00:00 GMT';

export function set_cookie(jar: SimpleCookie, key: string, value = '', opts: SetCookieOptions = {}): Morsel {
  const {
    max_age = null, expires = null, path = '/', domain = null,
    secure = null, httponly = null, samesite = null, partitioned = null,
  } = opts;

  // Everything is checked before the jar changes, so a refused call leaves the
  // response as it was (Django raises for samesite after storing the value).
  validate_cookie_name(key);
  const str_value = typeof value === 'string' ? value : String(value);
  coded_cookie_value(key, str_value);
  if (path !== null) check_attribute('path', path);
  if (domain !== null) check_attribute('domain', domain);
  if (samesite) check_samesite(samesite);

  let expires_attr = '';
  let age: number | null = max_age === null ? null : check_max_age(max_age);
  let age_for_date = max_age; // Django dates from the unrounded max_age
  if (expires instanceof Date) {
    const at = expires.getTime();
    if (Number.isNaN(at)) throw new CookieError('Invalid cookie expires: the Date is invalid');
    // The one deliberate difference from current Django's
    // django/http/response.py set_cookie: a Date expires wins over max_age,
    // as in Django 3.2, instead of raising (the tutorial passes both).
    // Whole milliseconds on both sides keep the frozen-clock arithmetic exact.
    const delta_ms = at - Math.round(time() * 1000) + 1000; // Django's "+1 second"
    age = Math.max(0, Math.floor(delta_ms / 1000));
    age_for_date = age;
  } else if (expires !== null) {
    expires_attr = String(expires);
    check_attribute('expires', expires_attr);
  }
  if (age !== null && !expires_attr) {
    // "IE requires expires": derived from max_age unless a string was given.
    const when = time() + (age_for_date as number);
    if (!Number.isFinite(new Date(Math.floor(when) * 1000).getTime())) {
      throw new CookieError(`Invalid cookie max_age ${String(age_for_date)}: the expiry date is out of range`);
    }
    expires_attr = http_date(when); // ASCII, without ';' or controls
  }

  // Re-setting keeps the existing Morsel and so its other attributes (SimpleCookie.__set).
  // The setters check again what was checked above; nothing left to refuse by now.
  let morsel = jar.get(key);
  if (morsel === undefined) jar.set(key, (morsel = new Morsel(key)));
  morsel.value = str_value;
  morsel.expires = expires_attr;
  // null leaves max_age, path and domain as they were on a re-set cookie (a quirk of CPython's Lib/http/cookies.py Morsel).
  if (age !== null) morsel.max_age = age;
  if (path !== null) morsel.path = path;
  if (domain !== null) morsel.domain = domain;
  if (secure) morsel.secure = true;
  if (httponly) morsel.httponly = true;
  if (samesite) morsel.samesite = samesite;
  if (partitioned) morsel.partitioned = true;
  return morsel;
}

export function delete_cookie(
  jar: SimpleCookie,
  key: string,
  opts: { path?: string | null; domain?: string | null; samesite?: string | false | null } = {},
): Morsel {
  const { path = '/', domain = null, samesite = null } = opts;
  // Browsers ignore a deletion without Secure for __Secure-/__Host- names and
  // for SameSite=None (HttpResponseBase.delete_cookie).
  const secure =
    key.startsWith('__Secure-') || key.startsWith('__Host-') ||
    (typeof samesite === 'string' && samesite.toLowerCase() === 'none');
  return set_cookie(jar, key, '', { max_age: 0, path, domain, secure, expires: EPOCH_EXPIRES, samesite });
}
