/**
 * Setting up and cleaning the bench's own stores: the PostgreSQL schemas, the
 * SQLite file, Redis database 7, the session directories; and creating the
 * sessions S3/S5 read, through Tango itself.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import {
  CACHE_KEY_PREFIX, ENGINE_INFO, SETTINGS_MODULE, MEMCACHED_LOCATION, PATHS, PG_SCHEMA, PG_URL, REDIS_URL, SESSION_COOKIE_NAME, SESSION_DIR,
  SQLITE_BASELINE_FILE, SQLITE_FILE, WORK_DIR, type EngineId,
} from './config';
import { run_ts } from './procs';

/* eslint-disable @typescript-eslint/no-require-imports */
type PgClient = import('pg').Client;

export async function with_pg<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
  const { Client } = require('pg') as typeof import('pg');
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface Redis {
  connect(): Promise<unknown>;
  ping(): Promise<string>;
  keys(pattern: string): Promise<string[]>;
  scan(cursor: string, o: { MATCH: string; COUNT: number }): Promise<{ cursor: string; keys: string[] }>;
  unlink(keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
}

export async function with_redis<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
  const { createClient: create_client } = require('@redis/client') as { createClient: (o: object) => Redis & { on(e: string, f: () => void): void } };
  const client = create_client({ url: REDIS_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.quit().catch(() => undefined);
  }
}

interface Memjs {
  get(key: string): Promise<{ value: Buffer | null }>;
  close(): void;
}

export async function with_memcached<T>(fn: (c: Memjs) => Promise<T>): Promise<T> {
  const memjs = require('memjs') as { Client: { create(servers: string, o: object): Memjs } };
  const mc = memjs.Client.create(MEMCACHED_LOCATION, { timeout: 2, conntimeout: 2, retries: 0, logger: { log: () => undefined } });
  try {
    return await fn(mc);
  } finally {
    mc.close();
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

function tcp_ok(location: string): Promise<boolean> {
  const [host, port] = location.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export interface ServiceStatus { pg: boolean; redis: boolean; memcached: boolean }

export async function services(): Promise<ServiceStatus> {
  const pg = await with_pg(async (c) => (await c.query('SELECT 1')).rowCount === 1).catch(() => false);
  const redis = await with_redis(async (c) => (await c.ping()) === 'PONG').catch(() => false);
  const memcached = await tcp_ok(MEMCACHED_LOCATION);
  return { pg, redis, memcached };
}

/** Why an engine cannot run here, or undefined. */
export function missing_service(engine: EngineId, s: ServiceStatus): string | undefined {
  const info = ENGINE_INFO[engine];
  if (info.pg && !s.pg) return `PostgreSQL is not answering at ${PG_URL}`;
  if (info.redis && !s.redis) return `Redis is not answering at ${REDIS_URL}`;
  if (info.memcached && !s.memcached) return `Memcached is not answering at ${MEMCACHED_LOCATION}`;
  return undefined;
}

/** `manage.ts migrate` with the bench settings: creates django_session the way users do. */
export async function migrate(engine: EngineId, env: Record<string, string> = {}): Promise<void> {
  const r = await run_ts('manage.ts', ['migrate'], {
    env: { TANGO_SETTINGS_MODULE: SETTINGS_MODULE, BENCH_ENGINE: engine, ...env },
    timeout_ms: 120_000,
  });
  if (r.code !== 0) throw new Error(`manage.ts migrate (${engine}) failed (${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
}

/** Fresh stores for one engine's runs. */
export async function prepare(engine: EngineId): Promise<void> {
  const info = ENGINE_INFO[engine];
  fs.mkdirSync(WORK_DIR, { recursive: true });
  if (info.pg) {
    await with_pg((c) => c.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`));
    await migrate(engine);
    await with_pg((c) => c.query(`TRUNCATE ${PG_SCHEMA}.django_session`));
  }
  if (info.sqlite) {
    for (const f of [SQLITE_FILE, `${SQLITE_FILE}-journal`, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`]) fs.rmSync(f, { force: true });
    await migrate(engine);
  }
  if (info.redis) await clear_redis();
  if (info.files) {
    fs.rmSync(SESSION_DIR, { recursive: true, force: true });
    fs.mkdirSync(SESSION_DIR, { recursive: true });
  }
}

/** Removes what an engine's runs left behind (the PostgreSQL table stays, empty). */
export async function cleanup(engine: EngineId): Promise<void> {
  const info = ENGINE_INFO[engine];
  if (info.pg) await with_pg((c) => c.query(`TRUNCATE ${PG_SCHEMA}.django_session`)).catch(() => undefined);
  if (info.sqlite) for (const f of [SQLITE_FILE, SQLITE_BASELINE_FILE]) fs.rmSync(f, { force: true });
  if (info.redis) await clear_redis().catch(() => undefined);
  if (info.files) fs.rmSync(SESSION_DIR, { recursive: true, force: true });
}

/** Deletes the bench's keys from Redis database 7 (bounded SCAN). */
async function clear_redis(): Promise<void> {
  await with_redis(async (c) => {
    let cursor = '0';
    for (let i = 0; i < 100_000; i++) {
      const r = await c.scan(cursor, { MATCH: `*${CACHE_KEY_PREFIX}*`, COUNT: 1000 });
      if (r.keys.length) await c.unlink(r.keys);
      cursor = String(r.cursor);
      if (cursor === '0') break;
    }
  });
}

/** Gives the baseline its own copy of the SQLite database Tango's sessions were created in. */
export function copy_sqlite_for_baseline(): void {
  fs.copyFileSync(SQLITE_FILE, SQLITE_BASELINE_FILE);
}

/** The value of `name` in a response's Set-Cookie headers. */
export function set_cookie_value(res: Response, name = SESSION_COOKIE_NAME): string | undefined {
  for (const line of res.headers.getSetCookie()) {
    if (line.startsWith(`${name}=`)) return line.slice(name.length + 1).split(';', 1)[0];
  }
  return undefined;
}

/**
 * Creates `n` sessions through Tango's own S4 view (10 at a time) and returns
 * the session cookie values: the keys, or the signed cookies for signed_cookies.
 */
export async function create_sessions(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  let failures = 0;
  const worker = async () => {
    while (out.length + failures < n && failures < 20) {
      const res = await fetch(`http://127.0.0.1:${port}${PATHS.S4}`);
      await res.arrayBuffer();
      const v = res.status === 200 ? set_cookie_value(res) : undefined;
      if (v) out.push(v);
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  if (out.length < n) throw new Error(`could create only ${out.length} of ${n} sessions (HTTP failures: ${failures})`);
  return out.slice(0, n);
}

/**
 * The prefix Tango puts before a session key in the cache (so the baseline
 * reads the very entries Tango wrote): found in Redis with KEYS on the bench's
 * own database, or by probing Memcached with the candidates Tango may use.
 */
export async function cache_prefix(engine: EngineId, session_key: string): Promise<string | undefined> {
  const info = ENGINE_INFO[engine];
  if (info.redis) {
    const keys = await with_redis((c) => c.keys(`*${session_key}`));
    const k = keys.find((x) => x.endsWith(session_key));
    return k?.slice(0, k.length - session_key.length);
  }
  if (info.memcached) {
    const bases = ['django.contrib.sessions.cache', 'django.contrib.sessions.cached_db'];
    const candidates: string[] = [];
    for (const b of bases) {
      for (const p of [`${CACHE_KEY_PREFIX}:`, `${CACHE_KEY_PREFIX}::`, `${CACHE_KEY_PREFIX}:1:`, `${CACHE_KEY_PREFIX}`, '', ':1:', 'keyv:']) {
        candidates.push(`${p}${b}`, `${p}${b}:`);
      }
    }
    return with_memcached(async (mc) => {
      for (const c of candidates) if ((await mc.get(c + session_key)).value !== null) return c;
      return undefined;
    });
  }
  return undefined;
}
