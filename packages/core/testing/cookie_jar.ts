/**
 * A browser-like cookie jar for tests: stores what Set-Cookie says, expires
 * what Max-Age/expires end, and sends back cookies whose Path matches. Values
 * are kept as the raw header text (Latin-1 of the wire bytes), as a browser does.
 */
export interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires: number | null;
  httponly: boolean;
  secure: boolean;
  samesite?: string;
}

function default_path(request_path: string): string {
  const i = request_path.lastIndexOf('/');
  return i <= 0 ? '/' : request_path.slice(0, i);
}

function path_matches(cookie_path: string, request_path: string): boolean {
  if (request_path === cookie_path) return true;
  if (!request_path.startsWith(cookie_path)) return false;
  return cookie_path.endsWith('/') || request_path[cookie_path.length] === '/';
}

export class CookieJar {
  readonly #store = new Map<string, StoredCookie>();

  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Applies one Set-Cookie header line received for `request_path` (RFC 6265 §5.2, the parts tests need). */
  set_from_header(line: string, request_path = '/'): void {
    // fetch decodes header bytes as UTF-8; the jar keeps (and re-sends) the raw bytes, as a browser does.
    if (/[^\u0000-\u00ff]/.test(line)) line = Buffer.from(line, 'utf8').toString('latin1');
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: default_path(request_path),
      expires: null, httponly: false, secure: false,
    };
    let max_age: number | undefined;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : attr.slice(i + 1).trim();
      if (key === 'max-age') max_age = Number.parseInt(val, 10);
      else if (key === 'expires') cookie.expires = Date.parse(val);
      else if (key === 'path' && val.startsWith('/')) cookie.path = val;
      else if (key === 'httponly') cookie.httponly = true;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'samesite') cookie.samesite = val;
    }
    // Max-Age beats Expires (RFC 6265 §5.3 step 3).
    if (max_age !== undefined && !Number.isNaN(max_age)) cookie.expires = this.#now() + max_age * 1000;
    const id = `${cookie.name};${cookie.path}`;
    if (cookie.expires !== null && cookie.expires <= this.#now()) this.#store.delete(id);
    else this.#store.set(id, cookie);
  }

  /** The Cookie header a browser would send to `request_path`, or undefined when none apply. */
  header_for(request_path: string): string | undefined {
    const now = this.#now();
    const matching = [...this.#store.values()]
      .filter((c) => (c.expires === null || c.expires > now) && path_matches(c.path, request_path))
      // Longer paths first, as browsers order them.
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  get(name: string): StoredCookie | undefined {
    const now = this.#now();
    return [...this.#store.values()].find((c) => c.name === name && (c.expires === null || c.expires > now));
  }

  set(name: string, value: string, path = '/'): void {
    this.#store.set(`${name};${path}`, { name, value, path, expires: null, httponly: false, secure: false });
  }

  delete(name: string): void {
    for (const [id, c] of this.#store) if (c.name === name) this.#store.delete(id);
  }

  clear(): void {
    this.#store.clear();
  }

  all(): StoredCookie[] {
    return [...this.#store.values()];
  }
}
