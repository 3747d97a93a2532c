/**
 * Shared pieces of the reliability suites (issue 6): a TCP proxy that stands
 * between the app and a real store so a test can cut or freeze the store
 * without touching the server other suites use, a tiny session app, a
 * browser-like user with its own session cookie, raw HTTP over a socket (for
 * bytes fetch refuses to send or hides), and latency statistics.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { create_app, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, path } from '@tango/core';
import { SessionMiddleware } from '../../middleware';

// --- a proxy that can play dead ------------------------------------------------

/**
 * What the proxy does with traffic:
 *   forward  pass bytes both ways (the store is healthy)
 *   cut      every proxied connection is reset and the port refuses new ones
 *            (the store process died, or its host went down)
 *   hang     connections stay open and new ones are accepted, but no byte
 *            moves either way (a frozen store or a partition); what was sent
 *            is held and delivered, in order, when forwarding resumes, as TCP
 *            would retransmit it once the partition heals
 */
export type ProxyMode = 'forward' | 'cut' | 'hang';

interface Leg {
  from: net.Socket;
  to: net.Socket | null;
  held: Buffer[];
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  up: Leg;
  down: Leg;
}

export class TcpProxy {
  #server: net.Server | null = null;
  readonly #pairs = new Set<Pair>();
  #mode: ProxyMode = 'forward';
  port = 0;
  /** Connections accepted so far (a reconnecting client shows up here). */
  accepted = 0;
  /** Bytes clients sent towards the store so far (a request that never reaches the store adds none). */
  bytes_up = 0;

  constructor(readonly target_host: string, readonly target_port: number) {}

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Listens on 127.0.0.1 (an ephemeral port the first time, the same port after a cut). */
  async start(): Promise<number> {
    const server = net.createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  #accept(client: net.Socket): void {
    this.accepted++;
    client.setNoDelay(true);
    const pair: Pair = {
      client,
      upstream: null,
      up: { from: client, to: null, held: [] },
      down: { from: client, to: client, held: [] },
    };
    this.#pairs.add(pair);
    const drop = () => this.#drop(pair);
    client.on('error', drop);
    client.on('close', drop);
    client.on('data', (chunk: Buffer) => {
      this.bytes_up += chunk.length;
      this.#relay(pair.up, chunk);
    });
    if (this.#mode === 'forward') this.#connect_upstream(pair);
  }

  #connect_upstream(pair: Pair): void {
    if (pair.upstream || pair.client.destroyed) return;
    const upstream = net.connect({ host: this.target_host, port: this.target_port });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    pair.up.to = upstream;
    pair.down.from = upstream;
    const drop = () => this.#drop(pair);
    upstream.on('error', drop);
    upstream.on('close', drop);
    upstream.on('data', (chunk: Buffer) => this.#relay(pair.down, chunk));
    this.#flush(pair.up);
  }

  #relay(leg: Leg, chunk: Buffer): void {
    if (this.#mode === 'forward' && leg.to && leg.held.length === 0) leg.to.write(chunk);
    else leg.held.push(chunk);
  }

  #flush(leg: Leg): void {
    if (!leg.to || this.#mode !== 'forward') return;
    for (const chunk of leg.held.splice(0)) leg.to.write(chunk);
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  /** Resets every proxied connection and stops listening: clients see ECONNRESET, then ECONNREFUSED. */
  async cut(): Promise<void> {
    this.#mode = 'cut';
    for (const pair of [...this.#pairs]) {
      this.#pairs.delete(pair);
      pair.client.resetAndDestroy();
      pair.upstream?.destroy();
    }
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Freezes every connection, old and new: nothing is lost, nothing arrives. */
  hang(): void {
    this.#mode = 'hang';
  }

  /** Back to forwarding: listens again on the same port if cut, delivers what a hang held. */
  async restore(): Promise<void> {
    const was = this.#mode;
    this.#mode = 'forward';
    if (was === 'cut' || !this.#server) await this.start();
    for (const pair of this.#pairs) {
      if (!pair.upstream) this.#connect_upstream(pair);
      this.#flush(pair.up);
      this.#flush(pair.down);
    }
  }

  async close(): Promise<void> {
    await this.cut();
    this.#mode = 'forward';
  }
}

/** host and port of a `redis://host:port`, `postgres://user@host:port/db` or `host:port` location. */
export function host_port(location: string): { host: string; port: number } {
  const url = new URL(location.includes('://') ? location : `tcp://${location}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** The same location with its port replaced (to point a store setting at a proxy). */
export function with_port(location: string, port: number): string {
  if (!location.includes('://')) return `${host_port(location).host}:${port}`;
  const url = new URL(location);
  url.port = String(port);
  return url.toString().replace(/\/$/, location.endsWith('/') ? '/' : '');
}

// --- the app under test ------------------------------------------------------

/**
 * A counter per session. /incr/ adds one and answers the new value; /read/
 * answers the value and who owns the session (so a crossed wire between two
 * sessions shows); /ping/ never touches the session.
 */
function incr(request: HttpRequest): HttpResponse {
  const owner = request.GET.get('owner', '');
  const current = request.session.get<number>('n', 0) as number;
  if (!request.session.has('owner')) request.session.set('owner', owner);
  request.session.set('n', current + 1);
  return new JsonResponse({ n: current + 1, owner: request.session.get('owner') });
}

function read(request: HttpRequest): HttpResponse {
  return new JsonResponse({ n: request.session.get('n', null), owner: request.session.get('owner', null) });
}

/** Stores `size` random base64 characters under 'blob' (oversize tests; random, so compression cannot shrink it). */
function blob(request: HttpRequest): HttpResponse {
  const size = Number(request.GET.get('size', '0'));
  request.session.set('blob', randomBytes(Math.ceil((size * 3) / 4) + 3).toString('base64').slice(0, size));
  return new JsonResponse({ stored: size });
}

/** The size of 'blob' and the counter, without sending the blob back. */
function blob_size(request: HttpRequest): HttpResponse {
  const b = request.session.get<string>('blob');
  return new JsonResponse({ blob: typeof b === 'string' ? b.length : null, n: request.session.get('n', null) });
}

function ping(): HttpResponse {
  return new HttpResponse('pong');
}

/** django.contrib.auth.logout's part in sessions: flush() deletes the record; 302 as LogoutView answers. */
async function logout(request: HttpRequest): Promise<HttpResponse> {
  await request.session.flush();
  return new HttpResponseRedirect('/');
}

export const urlpatterns = [
  path('incr/', incr), path('read/', read), path('blob/', blob), path('blob_size/', blob_size), path('ping/', ping), path('logout/', logout),
];

/** create_app with the counter views and SessionMiddleware, listening on 127.0.0.1:0. */
export async function start_app(): Promise<{ app: FastifyInstance; base: string }> {
  const app = await create_app({ urlpatterns, middleware: [SessionMiddleware] });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

// --- a user with a session -----------------------------------------------------

export interface Outcome {
  user: number;
  path: string;
  status: number;
  /** ms since the epoch */
  started: number;
  ms: number;
  body: string;
  /** the session cookie the response set ('' = deleted), or undefined */
  set_session?: string;
}

/** Status 0 in an Outcome: no HTTP answer (connection refused or reset, or the client gave up). */
export const NO_ANSWER = 0;

/** Keep-alive connections shared by every SessionUser (each user sends one request at a time, as a browser tab does). */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** One HTTP exchange on node:http (fetch costs ten times the CPU, which a load test in one process cannot spare). */
function exchange(url: string, method: string, headers: Record<string, string>, timeout_ms: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeout_ms} ms`)), timeout_ms);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/**
 * One browser: keeps its sessionid cookie and sends its requests one at a
 * time. `timeout_ms` is a safety net so a hung request fails the test instead
 * of stalling it.
 */
export class SessionUser {
  cookie: string | null = null;
  constructor(readonly id: number, readonly base: string, readonly timeout_ms = 30_000) {}

  async request(pathname: string, method = 'GET'): Promise<Outcome> {
    const started = Date.now();
    const t0 = performance.now();
    let status = NO_ANSWER;
    let body = '';
    let set_session: string | undefined;
    try {
      const res = await exchange(`${this.base}${pathname}`, method, this.cookie === null ? {} : { cookie: `sessionid=${this.cookie}` }, this.timeout_ms);
      status = res.status;
      body = res.body;
      for (const line of res.headers['set-cookie'] ?? []) {
        const m = /^sessionid=("?)([^;"]*)\1;/.exec(line);
        if (!m) continue;
        set_session = m[2];
        // A deletion (Max-Age=0) drops the cookie, as a browser would.
        this.cookie = /Max-Age=0/.test(line) ? null : m[2];
      }
    } catch (err) {
      body = String((err as Error).message);
    }
    return { user: this.id, path: pathname, status, started, ms: performance.now() - t0, body, set_session };
  }
}

// --- raw HTTP -----------------------------------------------------------------

export interface RawResponse {
  status: number;
  /** The header block exactly as received (latin1), status line included. */
  head: string;
  /** Header lines after the status line. */
  lines: string[];
  body: Buffer;
}

/**
 * Sends `request` (bytes, written as given) on a fresh connection and reads
 * until the server closes it. Rejects if nothing complete arrives within
 * `timeout_ms` (a hang) or the connection fails.
 */
export function raw_http(base: string, request: Buffer | string, timeout_ms = 10_000): Promise<RawResponse> {
  const { host, port } = host_port(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeout_ms} ms`));
    }, timeout_ms);
    // write, not end: Node's server drops a response to a client that half-closed
    // first (httpAllowHalfOpen is off). `Connection: close` makes the server close.
    socket.on('connect', () => socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        reject(new Error(`incomplete response: ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
        return;
      }
      const head = all.subarray(0, end).toString('latin1');
      const [status_line, ...lines] = head.split('\r\n');
      resolve({ status: Number(status_line.split(' ')[1]), head, lines, body: all.subarray(end + 4) });
    });
  });
}

/** A GET with the given extra header lines (raw strings, not validated). */
export function raw_get(pathname: string, header_lines: string[] = []): string {
  return [`GET ${pathname} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...header_lines, '', ''].join('\r\n');
}

// --- figures ------------------------------------------------------------------

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function latency_summary(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x);
  return { n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? NaN) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Prints a figure line on stdout (jest shows it; docs/reliability.md quotes these). */
export function report(line: string): void {
  process.stdout.write(`[reliability] ${line}\n`);
}

/** The machine's state, printed with load figures (the suites share the machine with the services and other suites). */
export function machine(): string {
  const [one] = os.loadavg();
  return `${os.cpus().length} CPUs, load average ${one.toFixed(1)}`;
}

// --- stores -------------------------------------------------------------------

/** The settings a reliability suite runs with, whatever the store. */
export const SECRET_KEY = 'reliability-suite-secret-key-not-for-production';

export type StoreKind = 'postgresql' | 'redis' | 'memcached';

/**
 * One real store for a suite: where it is, how to make and remove what the
 * suite needs there (a PostgreSQL schema with Django's table, a Redis key
 * prefix), and the settings that point the app at it (or at a proxy in front).
 */
export interface StoreSetup {
  kind: StoreKind;
  /** SESSION_ENGINE for this store: the db engine on PostgreSQL, the cache engine on the caches, or cached_db (see cached_db_setup). */
  engine: 'db' | 'cache' | 'cached_db';
  /** The real store's location (URL or host:port). */
  location: string;
  /** Settings for the store at `location` (default: the real one), with I/O timeouts of `timeout_ms`. */
  settings(timeout_ms: number, location?: string): Record<string, unknown>;
  /** Makes what the suite needs (PostgreSQL: a schema, then migrate with the settings configured now). */
  create(): Promise<void>;
  drop(): Promise<void>;
}

export function store_setup(kind: StoreKind, location: string): StoreSetup {
  if (kind === 'postgresql') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { postgres_database, capture_stream } = require('../db_helpers') as typeof import('../db_helpers');
    const db = postgres_database(location);
    return {
      kind,
      engine: 'db',
      location,
      settings: (timeout_ms, at = location) => ({
        SESSION_ENGINE: 'db',
        DATABASES: { default: { ...db.settings, URL: at, TIMEOUT: timeout_ms, POOL: { min: 0, max: 20 } } },
      }),
      create: async () => {
        await db.create();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const MigrateCommand = (require('@tango/core/management/commands/migrate') as { default: new () => { stdout: unknown; handle(a: string[], o: Record<string, unknown>): Promise<void> } }).default;
        const migrate = new MigrateCommand();
        migrate.stdout = capture_stream();
        await migrate.handle([], { database: 'default' });
      },
      drop: () => db.drop(),
    };
  }
  const prefix = `rel${process.pid}${Math.random().toString(36).slice(2, 8)}`;
  return {
    kind,
    engine: 'cache',
    location,
    settings: (timeout_ms, at = location) => ({
      SESSION_ENGINE: 'cache',
      CACHES: {
        default: {
          BACKEND: kind,
          LOCATION: at,
          // Memcached keys stay short (250 bytes max); a prefix keeps this suite's Redis keys apart.
          KEY_PREFIX: prefix,
          OPTIONS: { CONNECT_TIMEOUT: timeout_ms, COMMAND_TIMEOUT: timeout_ms },
        },
      },
    }),
    create: async () => undefined,
    drop: async () => undefined,
  };
}

/**
 * The cached_db engine: rows in a PostgreSQL schema at `db_url`, the cache at
 * `location` (the part a test takes away: settings() points only the cache
 * at a proxy or another server).
 */
export function cached_db_setup(db_url: string, cache: 'redis' | 'memcached', location: string): StoreSetup {
  const db = store_setup('postgresql', db_url);
  const prefix = `rel${process.pid}${Math.random().toString(36).slice(2, 8)}`;
  return {
    kind: cache,
    engine: 'cached_db',
    location,
    settings: (timeout_ms, at = location) => ({
      ...db.settings(timeout_ms),
      SESSION_ENGINE: 'cached_db',
      CACHES: { default: { BACKEND: cache, LOCATION: at, KEY_PREFIX: prefix, OPTIONS: { CONNECT_TIMEOUT: timeout_ms, COMMAND_TIMEOUT: timeout_ms } } },
    }),
    create: () => db.create(),
    drop: () => db.drop(),
  };
}
