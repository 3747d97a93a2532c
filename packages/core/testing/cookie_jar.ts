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

function defaultPath(requestPath: string): string {
  const i = requestPath.lastIndexOf('/');
  return i <= 0 ? '/' : requestPath.slice(0, i);
}

function pathMatches(cookiePath: string, requestPath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class CookieJar {
  private readonly store = new Map<string, StoredCookie>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Applies one Set-Cookie header line received for `requestPath` (RFC 6265 §5.2, the parts tests need). */
  set_from_header(line: string, requestPath = '/'): void {
    // fetch decodes header bytes as UTF-8; the jar keeps (and re-sends) the raw bytes, as a browser does.
    if (/[^\u0000-\u00ff]/.test(line)) line = Buffer.from(line, 'utf8').toString('latin1');
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: defaultPath(requestPath),
      expires: null, httponly: false, secure: false,
    };
    let maxAge: number | undefined;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : attr.slice(i + 1).trim();
      if (key === 'max-age') maxAge = Number.parseInt(val, 10);
      else if (key === 'expires') cookie.expires = Date.parse(val);
      else if (key === 'path' && val.startsWith('/')) cookie.path = val;
      else if (key === 'httponly') cookie.httponly = true;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'samesite') cookie.samesite = val;
    }
    // Max-Age beats Expires (RFC 6265 §5.3 step 3).
    if (maxAge !== undefined && !Number.isNaN(maxAge)) cookie.expires = this.now() + maxAge * 1000;
    const id = `${cookie.name};${cookie.path}`;
    if (cookie.expires !== null && cookie.expires <= this.now()) this.store.delete(id);
    else this.store.set(id, cookie);
  }

  /** The Cookie header a browser would send to `requestPath`, or undefined when none apply. */
  header_for(requestPath: string): string | undefined {
    const now = this.now();
    const matching = [...this.store.values()]
      .filter((c) => (c.expires === null || c.expires > now) && pathMatches(c.path, requestPath))
      // Longer paths first, as browsers order them.
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  get(name: string): StoredCookie | undefined {
    const now = this.now();
    return [...this.store.values()].find((c) => c.name === name && (c.expires === null || c.expires > now));
  }

  set(name: string, value: string, path = '/'): void {
    this.store.set(`${name};${path}`, { name, value, path, expires: null, httponly: false, secure: false });
  }

  delete(name: string): void {
    for (const [id, c] of this.store) if (c.name === name) this.store.delete(id);
  }

  clear(): void {
    this.store.clear();
  }

  all(): StoredCookie[] {
    return [...this.store.values()];
  }
}
