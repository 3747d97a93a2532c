/**
 * django/http/request.py's HttpRequest: method, path, headers, GET/POST, COOKIES,
 * get_host(), get_signed_cookie() and the session, each computed on first use and
 * kept, since most views read only a few of them. server.ts builds one per
 * request; the middleware and the view share it.
 */
import { CookieDict } from './cookie_dict';
import { decode_cookie_header } from './cookies';
import { QueryDict } from './query_dict';
import { unsign_cookie_value } from './signed_cookies';
import { BadSignature, KeyError } from '../errors';
import { settings } from '../conf';
import { check_host } from './hosts';
import type { Session } from './session_api';

export type RawHeaders = Record<string, string | string[] | undefined>;

export interface RequestInit {
  method?: string;
  /** Path plus query string, as on the request line. */
  url?: string;
  /**
   * The prefix Tango is mounted at, without a trailing slash (Django's
   * SCRIPT_NAME): the part of the path before the URLconf's own.
   */
  script_name?: string;
  headers?: RawHeaders;
  body?: Buffer | string;
  /** The client's address, or a function that finds it when it is first read. */
  remote_addr?: string | (() => string | undefined);
  /** 'https' when the request arrived over TLS (Django's wsgi.url_scheme); default 'http'. */
  scheme?: string;
  /** The port the server received the request on (Django's META['SERVER_PORT']), or a function that finds it. */
  server_port?: string | (() => string | undefined);
}

/**
 * CsrfViewMiddleware's state for one request: Django keeps it in
 * request.META['CSRF_COOKIE'] / ['CSRF_COOKIE_NEEDS_UPDATE'] and
 * request.csrf_processing_done (django/middleware/csrf.py).
 */
export interface CsrfState {
  /** The unmasked 32-character secret; undefined until read, null when the request carried none. */
  secret: string | null | undefined;
  /** Send the secret back (cookie or session) with the response: get_token() or rotate_token() ran. */
  needs_update: boolean;
  /** The request passed the check already (a second CsrfViewMiddleware skips it). */
  processing_done: boolean;
}

// Zero bytes cannot be changed, so every bodiless request can share one.
const EMPTY_BODY = Buffer.alloc(0);

/** Django's request.path is percent-decoded; a malformed escape is kept as sent. */
function decode_path(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * A header's name from its WSGI META key, as Django's settings name them
 * ('HTTP_X_FORWARDED_PROTO' is the x-forwarded-proto header); a plain header
 * name ('X-Forwarded-Proto') is accepted too.
 */
export function meta_to_header(key: string): string {
  const name = key.startsWith('HTTP_') ? key.slice(5) : key;
  return name.replace(/_/g, '-').toLowerCase();
}

/** What the URL resolver matched (django.urls.ResolverMatch). */
export interface ResolverMatch {
  func: (request: HttpRequest, ...args: never[]) => unknown;
  route: string;
  url_name?: string;
  args: unknown[];
}

/** django.http.HttpRequest, built from what arrived on the wire. */
export class HttpRequest {
  readonly method: string;
  readonly path: string;
  /** The path without the script name: what the URLconf resolves (Django's request.path_info). */
  readonly path_info: string;
  readonly query_string: string;
  readonly headers: Readonly<RawHeaders>;
  readonly body: Buffer;
  resolver_match: ResolverMatch | null = null;
  #session: Session | undefined = undefined;
  #make_session: ((request: HttpRequest) => Session) | undefined = undefined;
  #cookies: CookieDict | undefined;
  #get: QueryDict | undefined;
  #post: QueryDict | undefined;
  #remote_addr: string | (() => string | undefined) | undefined;
  readonly #scheme: string;
  #server_port: string | (() => string | undefined) | undefined;

  /** See CsrfState; made by the CSRF code on first use, so requests without CSRF carry nothing. */
  csrf: CsrfState | undefined = undefined;
  /**
   * @tango/auth's state for this request (request.user), opaque to core. A
   * slot declared here keeps the request's shape fixed: a property added by
   * the middleware would change it, and a side table costs more per request.
   */
  auth_state: unknown = undefined;

  constructor(init: RequestInit = {}) {
    this.method = (init.method ?? 'GET').toUpperCase();
    const url = init.url ?? '/';
    const q = url.indexOf('?');
    this.path = decode_path(q === -1 ? url : url.slice(0, q));
    const script_name = init.script_name ?? '';
    const mounted = script_name !== '' && this.path.startsWith(script_name) && (this.path.length === script_name.length || this.path[script_name.length] === '/');
    this.path_info = mounted ? this.path.slice(script_name.length) : this.path;
    this.query_string = q === -1 ? '' : url.slice(q + 1);
    this.headers = init.headers ?? {};
    this.body = init.body === undefined ? EMPTY_BODY : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
    this.#remote_addr = init.remote_addr;
    this.#scheme = init.scheme ?? 'http';
    this.#server_port = init.server_port;
  }

  /**
   * django.http.HttpRequest.scheme: with SECURE_PROXY_SSL_HEADER = [header, value],
   * a request carrying that header is https when its first value is `value`
   * and http otherwise; without the header, the connection's own scheme.
   */
  get scheme(): string {
    const proxy = settings.SECURE_PROXY_SSL_HEADER;
    if (proxy) {
      const sent = this.header(meta_to_header(proxy[0]));
      if (sent !== undefined) return sent.split(',', 1)[0].trim() === proxy[1] ? 'https' : 'http';
    }
    return this.#scheme;
  }

  is_secure(): boolean {
    return this.scheme === 'https';
  }

  /** django.http.HttpRequest.get_port: the server's port (META['SERVER_PORT']) as a string. */
  get_port(): string {
    const p = this.#server_port;
    return (typeof p === 'function' ? (this.#server_port = p()) : p) ?? '';
  }

  /** The client's address (Django's META['REMOTE_ADDR']), looked up only when read. */
  get remote_addr(): string | undefined {
    const a = this.#remote_addr;
    return typeof a === 'function' ? (this.#remote_addr = a()) : a;
  }

  /**
   * Set by SessionMiddleware before the view runs. When the request carried
   * no session cookie the session is built on first access only: a plain
   * accessor on the class keeps the request object's shape fixed, where a
   * per-request defineProperty would turn it into a slow dictionary.
   */
  get session(): Session {
    if (this.#session === undefined && this.#make_session !== undefined) this.#session = this.#make_session(this);
    return this.#session as Session;
  }

  set session(value: Session) {
    this.#session = value;
    this.#make_session = undefined;
  }

  /** Builds request.session with `make(request)` when (and only if) something reads it; one `make` can serve every request. */
  defer_session(make: (request: HttpRequest) => Session): void {
    this.#session = undefined;
    this.#make_session = make;
  }

  /** Whether request.session was built or assigned (false while it is still deferred). */
  get session_built(): boolean {
    return this.#session !== undefined || this.#make_session === undefined;
  }

  /** request.COOKIES: parsed on first use, as Django's parse_cookie does (django/http/cookie.py). */
  get COOKIES(): CookieDict {
    if (!this.#cookies) {
      const raw = this.headers.cookie;
      // HTTP/2 may send one Cookie header per cookie; join them as Django's ASGI handler does.
      const header = Array.isArray(raw) ? raw.join('; ') : (raw ?? '');
      this.#cookies = new CookieDict(decode_cookie_header(header));
    }
    return this.#cookies;
  }

  get GET(): QueryDict {
    return (this.#get ??= new QueryDict(this.query_string));
  }

  /** Form fields of an application/x-www-form-urlencoded POST (multipart is not parsed). */
  get POST(): QueryDict {
    if (!this.#post) {
      const ct = this.content_type;
      this.#post = new QueryDict(this.method === 'POST' && ct === 'application/x-www-form-urlencoded' ? this.body.toString('utf8') : '');
    }
    return this.#post;
  }

  get content_type(): string {
    const ct = this.headers['content-type'];
    return (Array.isArray(ct) ? ct[0] : ct ?? '').split(';')[0].trim().toLowerCase();
  }

  /** The body parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.body.toString('utf8')) as T;
  }

  header(name: string): string | undefined {
    const v = this.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /**
   * django.http.HttpRequest.get_host: the Host header once it is well-formed
   * and allowed by ALLOWED_HOSTS; otherwise DisallowedHost (a 400), so a view
   * never builds a URL from an attacker's Host.
   */
  get_host(): string {
    const host = this.headers.host;
    check_host(host, settings.ALLOWED_HOSTS);
    return typeof host === 'string' ? host : '';
  }

  get_full_path(): string {
    return this.query_string ? `${this.path}?${this.query_string}` : this.path;
  }

  /**
   * django.http.HttpRequest.get_signed_cookie. Without a default, a missing
   * cookie throws KeyError and a bad or expired signature throws
   * BadSignature / SignatureExpired; with one, all of these return it.
   * `undefined` means "no default" (pass `null` for Python's `default=None`).
   */
  get_signed_cookie(key: string, fallback?: undefined, options?: { salt?: string; max_age?: number }): string;
  get_signed_cookie<T>(key: string, fallback: T, options?: { salt?: string; max_age?: number }): string | T;
  get_signed_cookie<T>(key: string, fallback?: T, options: { salt?: string; max_age?: number } = {}): string | T {
    const value = this.COOKIES.get(key);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new KeyError(key);
    }
    try {
      return unsign_cookie_value(key, value, options);
    } catch (err) {
      if (fallback !== undefined && err instanceof BadSignature) return fallback;
      throw err;
    }
  }
}
