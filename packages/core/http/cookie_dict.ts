/**
 * request.COOKIES: the read-only dict Django's HttpRequest.COOKIES is
 * (django.http.request), with Python dict reading methods.
 */
import { parse_cookie } from './cookies';

export class CookieDict implements Iterable<string> {
  // The Cookie header text, kept until the first read: most requests never
  // look at their cookies, so most never pay for parsing them.
  #header: string | null;
  #map: ReadonlyMap<string, string> | null;

  /**
   * `source` is either parsed cookies or the Cookie header text, already
   * through decode_cookie_header (the request does that, as Django's WSGI
   * handler re-decodes HTTP_COOKIE before parse_cookie sees it).
   */
  constructor(source: Map<string, string> | string = '') {
    if (typeof source === 'string') {
      this.#header = source;
      this.#map = null;
    } else {
      // A copy, so the caller's Map cannot change what the view reads.
      this.#header = null;
      this.#map = new Map(source);
    }
  }

  #cookies(): ReadonlyMap<string, string> {
    if (this.#map === null) {
      const header = this.#header ?? '';
      this.#map = parse_cookie(header);
      this.#header = null;
    }
    return this.#map;
  }

  get(key: string): string | undefined;
  get<T>(key: string, fallback: T): string | T;
  get<T>(key: string, fallback?: T): string | T | undefined {
    const value = this.#cookies().get(key);
    return value !== undefined ? value : fallback;
  }

  has(key: string): boolean {
    return this.#cookies().has(key);
  }

  keys(): string[] {
    return [...this.#cookies().keys()];
  }

  values(): string[] {
    return [...this.#cookies().values()];
  }

  items(): Array<[string, string]> {
    return [...this.#cookies().entries()];
  }

  get size(): number {
    return this.#cookies().size;
  }

  // Iterating a Python dict yields its keys.
  [Symbol.iterator](): Iterator<string> {
    return this.#cookies().keys();
  }

  toJSON(): Record<string, string> {
    // No prototype, so a cookie named `__proto__` is an ordinary property.
    const out: Record<string, string> = Object.create(null);
    for (const [k, v] of this.#cookies()) out[k] = v;
    return out;
  }
}
