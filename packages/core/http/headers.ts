/**
 * A response's headers (django/http/response.py's ResponseHeaders): names
 * case-insensitive, names and values checked before they can be sent (a
 * newline in a value is BadHeaderError, never a split header).
 */
import { TangoError } from '../errors';

/** django.http.BadHeaderError: a header that cannot be sent safely. */
export class BadHeaderError extends TangoError {
  override readonly code = 'TANGO_BAD_HEADER';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
// Printable ASCII and tab: the one test nearly every value passes.
const PLAIN = /[^\t\x20-\x7e]/;

function checked_name(name: string): string {
  if (!TOKEN.test(name)) throw new BadHeaderError(`Header names must be HTTP tokens: '${name}'`);
  return name.toLowerCase();
}

/** Case-insensitive response headers that keep the spelling they were set with (Django's ResponseHeaders). */
export class ResponseHeaders implements Iterable<[string, string]> {
  readonly #map = new Map<string, [string, string]>();
  #non_ascii = false;

  constructor(init?: Record<string, string>) {
    if (init) for (const [k, v] of Object.entries(init)) this.set(k, v);
  }

  get(name: string): string | undefined {
    return this.#map.get(name.toLowerCase())?.[1];
  }

  set(name: string, value: string | number): void {
    const v = String(value);
    // Refuse here, in the view, what Node would refuse later while writing the
    // head (outside the error handling): a CR/LF would also inject a header.
    const lower = checked_name(name);
    if (PLAIN.test(v)) {
      if (CONTROL.test(v)) throw new BadHeaderError(`Header values can't contain newlines or control characters: '${name}'`);
      this.#non_ascii = true;
    }
    this.#map.set(lower, [name, v]);
  }

  /** Whether a value with characters above U+007F was ever set (the server then writes values as bytes). */
  get non_ascii(): boolean {
    return this.#non_ascii;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  delete(name: string): boolean {
    return this.#map.delete(name.toLowerCase());
  }

  get size(): number {
    return this.#map.size;
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.#map.values();
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this);
  }
}
