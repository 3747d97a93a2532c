/**
 * The baseline: a bare Fastify server with the bench's routes whose handlers
 * do only the unavoidable work, the physical floor Tango is measured against.
 *
 *   node -r ts-node/register bench/baseline.ts --engine db-pg [--port 0] [--cache-prefix P] [--sample-key K]
 *
 * Per request: split the Cookie header; for a session read one raw store
 * read (pg SELECT, better-sqlite3 prepared SELECT, Redis GET, memcached get,
 * readFile, HMAC verify); for a create or an update the raw writes a correct
 * implementation needs (INSERT / UPDATE / SET NX / SET XX / add / replace,
 * the file engine's exclusive create or atomic rename, an HMAC sign). Nothing
 * is decoded or encoded: the stored bytes are fetched and dropped, and what is
 * written is a value Tango stored (see `sample`). Responses carry what Tango's
 * do (body, Content-Type, Set-Cookie with the same attributes, Vary: Cookie).
 */
import * as crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve_bench_child } from './child_ipc';
import * as path from 'node:path';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  CACHE_KEY_PREFIX, is_engine, MEMCACHED_LOCATION, PATHS, PG_SCHEMA, PG_URL, REDIS_URL, SECRET_KEY, SESSION_COOKIE_AGE,
  SESSION_COOKIE_NAME, SESSION_DIR, SQLITE_BASELINE_FILE, type EngineId,
} from './config';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const engine_arg = arg('--engine') ?? 'core';
if (!is_engine(engine_arg)) {
  console.error(`baseline.ts: unknown --engine ${engine_arg}`);
  process.exit(2);
}
const engine: EngineId = engine_arg;
const port = Number(arg('--port') ?? 0);
/** The store key is this prefix plus the session key (Tango's cache key layout, found by bench/run.ts). */
const cache_prefix = arg('--cache-prefix') ?? `${CACHE_KEY_PREFIX}:django.contrib.sessions.cache`;
const file_prefix = arg('--file-prefix') ?? SESSION_COOKIE_NAME;

/**
 * What the baseline writes: a value Tango itself stored (read once at start-up
 * from the session named by --sample-key), so the rows and entries the
 * baseline writes stay valid sessions for Tango's runs that follow (S5 runs
 * alternate over the same sessions). This stand-in is used until then.
 */
const sample = { value: 'eyJ1c2VyX2lkIjoiemhpbGlhbyIsImNvdW50IjoxfQ:1vNkqX:Qm9ZbGx5d29vZEJlbmNoU2lnbmF0dXJlUGFkZGluZzA' };
const sample_key = arg('--sample-key');
const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const KEY_RE = /^[a-z0-9]{8,40}$/;

/** 32 characters of [a-z0-9] from the CSPRNG, by rejection sampling (no modulo bias). */
function new_key(): string {
  let out = '';
  while (out.length < 32) {
    const bytes = crypto.randomBytes(40);
    for (let i = 0; i < bytes.length && out.length < 32; i++) if (bytes[i] < 252) out += KEY_CHARS[bytes[i] % 36];
  }
  return out;
}

/** The value of cookie `name` in a Cookie header: a minimal split, no unquoting. */
function cookie_value(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const start = header.startsWith(`${name}=`) ? 0 : header.indexOf(`; ${name}=`);
  if (start === -1) return undefined;
  const from = start === 0 ? name.length + 1 : start + name.length + 3;
  const end = header.indexOf(';', from);
  return end === -1 ? header.slice(from) : header.slice(from, end);
}

function session_cookie(value: string): string {
  const expires = new Date(Date.now() + SESSION_COOKIE_AGE * 1000).toUTCString();
  return `${SESSION_COOKIE_NAME}=${value}; expires=${expires}; HttpOnly; Max-Age=${SESSION_COOKIE_AGE}; Path=/; SameSite=Lax`;
}

/** The raw store operations: read gives undefined for a missing session; create/update give the cookie value. */
interface Floor {
  read(key: string): Promise<unknown> | unknown;
  create(key: string): Promise<string> | string;
  update(key: string): Promise<string> | string;
  /** Start-up only: adopt the stored bytes of `key` as the value to write. */
  sample(key: string): Promise<void> | void;
  close(): Promise<void> | void;
}

function expire_date(): Date {
  return new Date(Date.now() + SESSION_COOKIE_AGE * 1000);
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/* eslint-disable @typescript-eslint/no-require-imports */
async function make_floor(): Promise<Floor | undefined> {
  switch (engine) {
    case 'core':
      return undefined;
    case 'db-pg':
      return pg_floor();
    case 'db-sqlite': {
      const Database = require('better-sqlite3') as typeof import('better-sqlite3');
      const db = new Database(SQLITE_BASELINE_FILE);
      db.pragma('busy_timeout = 5000');
      const select = db.prepare('SELECT session_data FROM django_session WHERE session_key = ?').pluck();
      const insert = db.prepare('INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)');
      const update = db.prepare('UPDATE django_session SET session_data = ?, expire_date = ? WHERE session_key = ?');
      const naive = () => expire_date().toISOString().slice(0, 19).replace('T', ' ');
      let value = sample.value;
      return {
        read: (key) => select.get(key),
        create: (key) => (insert.run(key, value, naive()), key),
        update: (key) => (must(update.run(value, naive(), key).changes === 1, 'session gone'), key),
        sample: (key) => void (value = String(select.get(key) ?? value)),
        close: () => void db.close(),
      };
    }
    case 'cache-redis':
      // Update = SET … XX: written only if the session still exists, in one round trip.
      return redis_floor(true);
    case 'cache-memcached': {
      const memjs = require('memjs') as { Client: { create(servers: string, o: object): Memjs } };
      const mc = memjs.Client.create(MEMCACHED_LOCATION, { timeout: 2, conntimeout: 2, retries: 1, logger: { log: () => undefined } });
      let value = sample.value;
      return {
        read: async (key) => (await mc.get(cache_prefix + key)).value ?? undefined,
        create: async (key) => (must(await mc.add(cache_prefix + key, value, { expires: SESSION_COOKIE_AGE }), 'key taken'), key),
        // replace: written only if the session still exists, in one round trip.
        update: async (key) => (must(await mc.replace(cache_prefix + key, value, { expires: SESSION_COOKIE_AGE }), 'session gone'), key),
        sample: async (key) => void (value = (await mc.get(cache_prefix + key)).value?.toString('utf8') ?? value),
        close: () => mc.close(),
      };
    }
    case 'cached_db': {
      const db = await pg_floor();
      const cache = await redis_floor(false);
      return {
        read: (key) => cache.read(key),
        create: async (key) => (await db.create(key), await cache.update(key)),
        update: async (key) => (await db.update(key), await cache.update(key)),
        sample: async (key) => void (await Promise.all([db.sample(key), cache.sample(key)])),
        close: async () => void (await Promise.all([db.close(), cache.close()])),
      };
    }
    case 'file': {
      const file = (key: string) => {
        if (!KEY_RE.test(key)) throw new Error('invalid key');
        return path.join(SESSION_DIR, file_prefix + key);
      };
      let value = sample.value;
      return {
        read: async (key) => fsp.readFile(file(key), 'utf8').catch(() => undefined),
        // A new key is known to nobody yet: write it in place behind O_EXCL.
        create: async (key) => {
          const fh = await fsp.open(file(key), 'wx');
          try {
            await fh.write(value);
          } finally {
            await fh.close();
          }
          return key;
        },
        // An update must not resurrect a deleted session (open r+), and readers must never see half a file (tmp + rename).
        update: async (key) => {
          const target = file(key);
          await (await fsp.open(target, 'r+')).close();
          const tmp = `${target}_out_${crypto.randomBytes(6).toString('hex')}`;
          await fsp.writeFile(tmp, value);
          await fsp.rename(tmp, target);
          return key;
        },
        sample: async (key) => void (value = (await fsp.readFile(file(key), 'utf8').catch(() => undefined)) ?? value),
        close: () => undefined,
      };
    }
    case 'signed_cookies': {
      const salt = 'django.contrib.sessions.backends.signed_cookies';
      const hmac_key = crypto.createHash('sha256').update(`${salt}signer${SECRET_KEY}`).digest();
      const sign = (value: string) => crypto.createHmac('sha256', hmac_key).update(value).digest('base64url');
      let payload = sample.value.split(':')[0];
      const fresh = () => {
        const value = `${payload}:${base62(Math.floor(Date.now() / 1000))}`;
        return `${value}:${sign(value)}`;
      };
      return {
        read: (cookie) => {
          const i = cookie.lastIndexOf(':');
          if (i === -1) return undefined;
          const given = Buffer.from(cookie.slice(i + 1));
          const expected = Buffer.from(sign(cookie.slice(0, i)));
          return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? cookie : undefined;
        },
        create: fresh,
        update: fresh,
        // The cookie is the store: its payload part is what a new cookie carries.
        sample: (cookie) => void (payload = cookie.split(':')[0] || payload),
        close: () => undefined,
      };
    }
    default:
      throw new Error(`no floor for ${engine as string}`);
  }
}

interface Memjs {
  get(key: string): Promise<{ value: Buffer | null }>;
  add(key: string, value: string, o: { expires: number }): Promise<boolean>;
  replace(key: string, value: string, o: { expires: number }): Promise<boolean>;
  close(): void;
}

function base62(n: number): string {
  const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  do {
    out = chars[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out;
}

async function pg_floor(): Promise<Floor> {
  const { Pool } = require('pg') as typeof import('pg');
  // The same pool size as Tango's knex default (max 10).
  const pool = new Pool({ connectionString: PG_URL, max: 10, options: `-c search_path=${PG_SCHEMA}` });
  const select = (key: string) => pool.query<{ session_data: string }>({ name: 's', text: 'SELECT session_data FROM django_session WHERE session_key = $1', values: [key] });
  let value = sample.value;
  return {
    read: async (key) => (await select(key)).rows[0],
    create: async (key) => {
      await pool.query({ name: 'i', text: 'INSERT INTO django_session (session_key, session_data, expire_date) VALUES ($1, $2, $3)', values: [key, value, expire_date()] });
      return key;
    },
    update: async (key) => {
      const r = await pool.query({ name: 'u', text: 'UPDATE django_session SET session_data = $2, expire_date = $3 WHERE session_key = $1', values: [key, value, expire_date()] });
      must(r.rowCount === 1, 'session gone');
      return key;
    },
    sample: async (key) => void (value = (await select(key)).rows[0]?.session_data ?? value),
    close: () => pool.end(),
  };
}

/** Redis; `only_existing`: updates use SET XX (the cache engine); cached_db's cache write is a plain SET, as Django's. */
async function redis_floor(only_existing: boolean): Promise<Floor> {
  const { createClient: create_client } = require('@redis/client') as { createClient: (o: object) => RedisLike };
  const client = create_client({ url: REDIS_URL, disableOfflineQueue: true });
  await client.connect();
  let value = sample.value;
  return {
    read: async (key) => (await client.get(cache_prefix + key)) ?? undefined,
    create: async (key) => (must((await client.set(cache_prefix + key, value, { NX: true, EX: SESSION_COOKIE_AGE })) === 'OK', 'key taken'), key),
    update: async (key) => {
      const r = await client.set(cache_prefix + key, value, only_existing ? { XX: true, EX: SESSION_COOKIE_AGE } : { EX: SESSION_COOKIE_AGE });
      must(r === 'OK', 'session gone');
      return key;
    },
    sample: async (key) => void (value = (await client.get(cache_prefix + key)) ?? value),
    close: async () => void (await client.quit()),
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

interface RedisLike {
  connect(): Promise<unknown>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, o: object): Promise<string | null>;
  quit(): Promise<unknown>;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

async function main(): Promise<void> {
  const floor = await make_floor();
  if (floor && sample_key) await floor.sample(sample_key);
  const app = Fastify({ logger: false });
  const route = (url: string, handler: (req: FastifyRequest, reply: FastifyReply) => unknown) =>
    app.route({ method: [...METHODS], url, handler: async (req, reply) => handler(req, reply) });

  route(PATHS.S1, (req, reply) => {
    const header = req.headers.cookie ?? '';
    let username = '(none)';
    const lines: string[] = [];
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq === -1) continue;
      const name = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (name === 'username') username = value;
      lines.push(`${name}=${value}`);
    }
    reply.type(TEXT);
    return `username: ${username}\n${lines.join('\n')}`;
  });

  route(PATHS.S2, (_req, reply) => {
    const expires = new Date(Date.now() + 25200 * 1000).toUTCString();
    reply.type(HTML).header('set-cookie', `username=zhiliao; expires=${expires}; Max-Age=25200; Path=/`);
    return '设置cookie';
  });

  if (floor) {
    route(PATHS.S3, async (req, reply) => {
      const key = cookie_value(req.headers.cookie, SESSION_COOKIE_NAME);
      const raw = key === undefined ? undefined : await floor.read(key);
      reply.type(TEXT).header('vary', 'Cookie');
      return raw === undefined ? 'user_id: (none)' : 'user_id: zhiliao';
    });
    route(PATHS.S4, async (_req, reply) => {
      const value = await floor.create(new_key());
      reply.type(HTML).header('vary', 'Cookie').header('set-cookie', session_cookie(value));
      return 'session add';
    });
    route(PATHS.S5, async (req, reply) => {
      const key = cookie_value(req.headers.cookie, SESSION_COOKIE_NAME);
      const raw = key === undefined ? undefined : await floor.read(key);
      const value = raw === undefined ? await floor.create(new_key()) : await floor.update(key!);
      reply.type(TEXT).header('vary', 'Cookie').header('set-cookie', session_cookie(value));
      return 'count: 1';
    });
  }

  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address() as AddressInfo;

  serve_bench_child(address.port, `baseline (${engine})`, async () => {
    await app.close();
    await floor?.close();
  });
}

main().catch((err: unknown) => {
  console.error(`baseline.ts (${engine}): ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
