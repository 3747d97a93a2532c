import type { FastifyInstance } from 'fastify';
import type { SessionBase } from '@tango/sessions';
import { CookieJar } from './cookie_jar';
import { session_for } from './client_session';
import { create_app, type AppOptions } from '../server';

export interface ClientResponse {
  status: number;
  headers: Headers;
  /** Every Set-Cookie line of the response. */
  set_cookies: string[];
  text: string;
  json<T = unknown>(): T;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | Record<string, string>;
  /** Follow redirects (off by default, as Django's Client). */
  follow?: boolean;
}

/**
 * A test client in the spirit of django.test.Client, over a real listening
 * socket: requests go through Node's HTTP stack and Fastify exactly as a
 * browser's do, and cookies persist between requests like a browser's.
 */
export class Client {
  readonly cookies: CookieJar;
  #app: FastifyInstance | undefined;
  #base: string | undefined;

  readonly #target: string | FastifyInstance | AppOptions;

  /**
   * `target`: a base URL of a running server, a Fastify app to listen with, or options for create_app().
   * `cookies`: a jar to share, e.g. one browser talking to two servers behind a load balancer.
   */
  constructor(target: string | FastifyInstance | AppOptions = {}, options: { cookies?: CookieJar } = {}) {
    this.#target = target;
    this.cookies = options.cookies ?? new CookieJar();
    if (typeof target === 'string') this.#base = target.replace(/\/$/, '');
  }

  /** The base URL, starting the app on an ephemeral loopback port on first use. */
  async url(): Promise<string> {
    if (this.#base) return this.#base;
    this.#app = typeof this.#target === 'object' && 'listen' in this.#target ? (this.#target as FastifyInstance) : await create_app(this.#target as AppOptions);
    const address = await this.#app.listen({ host: '127.0.0.1', port: 0 });
    this.#base = address;
    return address;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ClientResponse> {
    const base = await this.url();
    const headers: Record<string, string> = { ...options.headers };
    const pathname = path.split('?', 1)[0];
    const cookie = this.cookies.header_for(pathname);
    if (cookie && !headers.cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (options.body !== undefined) {
      if (typeof options.body === 'string') body = options.body;
      else {
        body = new URLSearchParams(options.body).toString();
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      }
    }
    const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
    const set_cookies = res.headers.getSetCookie();
    for (const line of set_cookies) this.cookies.set_from_header(line, pathname);
    const text = method === 'HEAD' ? '' : await res.text();
    const response: ClientResponse = { status: res.status, headers: res.headers, set_cookies, text, json: <T>() => JSON.parse(text) as T };
    const location = res.headers.get('location');
    if (options.follow && location && res.status >= 300 && res.status < 400) {
      const next = new URL(location, base);
      return this.request('GET', next.pathname + next.search, { follow: true });
    }
    return response;
  }

  get(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('GET', path, options);
  }

  head(path: string, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('HEAD', path, options);
  }

  post(path: string, body?: RequestOptions['body'], options: RequestOptions = {}): Promise<ClientResponse> {
    return this.request('POST', path, { ...options, body });
  }

  /**
   * django.test.Client.session: the store behind this client's session cookie
   * (settings.SESSION_ENGINE), created, saved and put in the jar when there is
   * none. Read what views stored, or set data and `await session.save()`
   * before the next request; save, flush and cycle_key update the jar.
   * The store is this process's settings' engine: for a server in another
   * process, configure the same engine and store here.
   */
  session(): Promise<SessionBase> {
    return session_for(this.cookies);
  }

  /** Stops the server this client started (a server passed in by URL is left alone). */
  async close(): Promise<void> {
    if (this.#app) await this.#app.close();
    this.#app = undefined;
  }
}
