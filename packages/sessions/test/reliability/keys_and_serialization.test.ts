/**
 * Issue 19, items 8 and 10, on every engine and store, through a real server.
 *
 *   8. Data a view stores that cannot be serialized (nested 9,000 deep, a
 *      cycle; a BigInt on the cache engine, whose JSON.stringify cannot write
 *      one) is the same logged 500 everywhere, "The session data cannot be
 *      serialized as JSON: …", never a 503: the store is fine. Nothing is
 *      written: the previous session still loads. Data nested 1,000 deep (the
 *      limit) saves and loads back on every engine.
 *   10. A malformed session key (8,000 characters, '../../etc/passwd',
 *      upper case, 41 characters, 7 characters) reads as an empty session
 *      without reaching the store: no statement through knex's query event
 *      (SQLite and PostgreSQL), and not one byte through a TCP proxy placed
 *      in front of PostgreSQL, Redis and Memcached. A well-formed unknown key,
 *      the control, does reach them (so the counters count).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { configure, create_app, HttpRequest, HttpResponse, JsonResponse, path as url } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections, get_connection } from '@tango/core/db';
import { set_stderr_logging } from '@tango/core/log';
import { capture_logs, service_url } from '@tango/core/testing';
import { SessionMiddleware } from '../../middleware';
import { capture_stream, postgres_database, sqlite_database, type TestDatabase } from '../db_helpers';
import { host_port, raw_get, raw_http, report, SECRET_KEY, SessionUser, TcpProxy, with_port } from './helpers';

const pg = service_url('TEST_DATABASE_URL');
const redis = service_url('TEST_REDIS_URL');
const memcached = service_url('TEST_MEMCACHED_URL');

function nested(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

function depth_of(v: unknown): number {
  let d = 0;
  while (Array.isArray(v)) {
    v = v[0];
    d++;
  }
  return d;
}

const views = [
  url('incr/', (r: HttpRequest) => {
    const n = (r.session.get<number>('n', 0) as number) + 1;
    r.session.set('n', n);
    return new JsonResponse({ n });
  }),
  url('read/', (r: HttpRequest) => new JsonResponse({ n: r.session.get('n', null), deep: depth_of(r.session.get('deep')) })),
  // The value nested `depth` deep: the session data (a dict around it) is one level more.
  url('deep/', (r: HttpRequest) => {
    r.session.set('deep', nested(Number(r.GET.get('depth'))));
    return new HttpResponse('stored');
  }),
  url('cycle/', (r: HttpRequest) => {
    const a: Record<string, unknown> = {};
    a.self = a;
    r.session.set('cycle', a);
    return new HttpResponse('stored');
  }),
  url('bigint/', (r: HttpRequest) => {
    r.session.set('big', 2n ** 70n);
    return new HttpResponse('stored');
  }),
];

interface Case {
  name: string;
  /** Settings, given the proxy's port when the case has one. */
  settings: (proxy_port: number) => Record<string, unknown>;
  db?: TestDatabase;
  /** The store behind a TCP proxy (its location), or none. */
  proxied?: string;
  /** The db engine under the session: knex statements are counted. */
  sql: boolean;
  /** JSON.stringify (Keyv) writes the data: a BigInt cannot be stored. */
  keyv: boolean;
  server_side: boolean;
}

const cache_settings = (backend: string, location: string, prefix: string) => ({
  CACHES: { default: { BACKEND: backend, LOCATION: location, KEY_PREFIX: prefix, OPTIONS: { CONNECT_TIMEOUT: 2000, COMMAND_TIMEOUT: 2000 } } },
});

function cases(): Case[] {
  const prefix = `ks${process.pid}`;
  const sqlite = sqlite_database();
  const sqlite2 = sqlite_database();
  const list: Case[] = [
    { name: 'db on SQLite', db: sqlite, sql: true, keyv: false, server_side: true, settings: () => ({ SESSION_ENGINE: 'db', DATABASES: { default: sqlite.settings } }) },
    { name: 'file', sql: false, keyv: false, server_side: true, settings: () => ({ SESSION_ENGINE: 'file' }) },
    { name: 'signed_cookies', sql: false, keyv: false, server_side: false, settings: () => ({ SESSION_ENGINE: 'signed_cookies' }) },
    { name: 'cache on locmem', sql: false, keyv: true, server_side: true, settings: () => ({ SESSION_ENGINE: 'cache', CACHES: { default: { BACKEND: 'locmem', LOCATION: 'ks1' } } }) },
    {
      name: 'cached_db on SQLite + locmem', db: sqlite2, sql: true, keyv: false, server_side: true,
      settings: () => ({ SESSION_ENGINE: 'cached_db', DATABASES: { default: sqlite2.settings }, CACHES: { default: { BACKEND: 'locmem', LOCATION: 'ks2' } } }),
    },
  ];
  if (pg) {
    const db = postgres_database(pg);
    list.push({
      name: 'db on PostgreSQL', db, proxied: pg, sql: true, keyv: false, server_side: true,
      settings: (port) => ({ SESSION_ENGINE: 'db', DATABASES: { default: { ...db.settings, URL: with_port(pg, port) } } }),
    });
    if (redis) {
      const db2 = postgres_database(pg);
      list.push({
        name: 'cached_db on PostgreSQL + Redis', db: db2, proxied: pg, sql: true, keyv: false, server_side: true,
        settings: (port) => ({ SESSION_ENGINE: 'cached_db', DATABASES: { default: { ...db2.settings, URL: with_port(pg, port) } }, ...cache_settings('redis', redis, prefix) }),
      });
    }
  }
  if (redis) {
    list.push({ name: 'cache on Redis', proxied: redis, sql: false, keyv: true, server_side: true, settings: (port) => ({ SESSION_ENGINE: 'cache', ...cache_settings('redis', with_port(redis, port), prefix) }) });
  }
  if (memcached) {
    list.push({ name: 'cache on Memcached', proxied: memcached, sql: false, keyv: true, server_side: true, settings: (port) => ({ SESSION_ENGINE: 'cache', ...cache_settings('memcached', with_port(memcached, port), prefix) }) });
  }
  return list;
}

const MALFORMED: Array<[string, string]> = [
  ['an 8,000-character key', 'z'.repeat(8000)],
  ['a relative path', '../../etc/passwd'],
  ['an upper-case key', 'A'.repeat(32)],
  ['a 41-character key', 'a'.repeat(41)],
  ['a 7-character key', 'abcdefg'],
];

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

describe.each(cases())('$name', (c) => {
  let app: FastifyInstance;
  let base: string;
  let proxy: TcpProxy | undefined;
  const statements: Array<{ sql: string; bindings: readonly unknown[] }> = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-keys-'));

  beforeAll(async () => {
    if (c.proxied) {
      const { host, port } = host_port(c.proxied);
      proxy = new TcpProxy(host, port);
      await proxy.start();
    }
    configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_FILE_PATH: dir, ...c.settings(proxy?.port ?? 0) });
    if (c.db) {
      await c.db.create();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const MigrateCommand = (require('@tango/core/management/commands/migrate') as { default: new () => { stdout: unknown; handle(a: string[], o: Record<string, unknown>): Promise<void> } }).default;
      const migrate = new MigrateCommand();
      migrate.stdout = capture_stream();
      await migrate.handle([], { database: 'default' });
    }
    if (c.sql) get_connection('default').on('query', (q: { sql: string; bindings?: readonly unknown[] }) => statements.push({ sql: q.sql, bindings: q.bindings ?? [] }));
    app = await create_app({ urlpatterns: views, middleware: [SessionMiddleware] });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await close_connections();
    await close_caches();
    await proxy?.close();
    await c.db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('item 10: a malformed key never reaches the store', () => {
    it.each(MALFORMED)('%s reads as an empty session, with no statement and no byte sent to the store', async (_what, key) => {
      const before_bytes = proxy?.bytes_up ?? 0;
      statements.length = 0;
      const files = fs.readdirSync(dir).length;
      const res = await raw_http(base, raw_get('/read/', [`Cookie: sessionid=${key}`]));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ n: null, deep: 0 });
      expect(statements).toEqual([]);
      if (proxy) expect(proxy.bytes_up - before_bytes).toBe(0);
      expect(fs.readdirSync(dir)).toHaveLength(files);

      // A write with that cookie gets a new key; the malformed one is in no statement.
      statements.length = 0;
      const user = new SessionUser(0, base);
      user.cookie = key;
      const wrote = await user.request('/incr/');
      expect(wrote.status).toBe(200);
      expect(JSON.parse(wrote.body)).toEqual({ n: 1 });
      if (c.server_side) expect(user.cookie).toMatch(/^[a-z0-9]{32}$/);
      for (const st of statements) expect(st.bindings).not.toContain(key);
    });

    it('the control: a well-formed unknown key is looked up (the counters count)', async () => {
      const before_bytes = proxy?.bytes_up ?? 0;
      statements.length = 0;
      const res = await raw_http(base, raw_get('/read/', [`Cookie: sessionid=${'k'.repeat(32)}`]));
      expect(res.status).toBe(200);
      if (c.sql) expect(statements.length).toBeGreaterThan(0);
      if (proxy) expect(proxy.bytes_up - before_bytes).toBeGreaterThan(0);
      report(`keys: ${c.name}: an unknown 32-character key cost ${statements.length} statement(s), ${proxy ? proxy.bytes_up - before_bytes : 0} bytes to the store; malformed keys 0 and 0`);
    });
  });

  describe('item 8: data that cannot be serialized is a clear 500, never a 503', () => {
    async function refused(user: SessionUser, pathname: string, reason: RegExp): Promise<void> {
      const logs = capture_logs();
      let out;
      try {
        out = await user.request(pathname);
      } finally {
        logs.stop();
      }
      expect(out.status).toBe(500);
      expect(out.set_session).toBeUndefined();
      const errors = logs.records.filter((r) => r.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].name).toBe('tango.request');
      expect(errors[0].msg).toMatch(new RegExp(`^Internal Server Error: ${pathname.split('?')[0].replace(/\//g, '\\/')}: The session data cannot be serialized as JSON: `));
      expect(errors[0].msg).toMatch(reason);
      report(`serialization: ${c.name}: ${pathname} → ${out.status} in ${Math.round(out.ms)} ms, "${errors[0].msg}"`);
    }

    it('a value nested 9,000 deep, 1,000 deep (the limit is 1,000 for the whole data) and a cycle: 500 and nothing written', async () => {
      const user = new SessionUser(1, base);
      expect((await user.request('/incr/')).status).toBe(200);
      const cookie = user.cookie;

      await refused(user, '/deep/?depth=9000', /nested more than 1000 levels deep/);
      await refused(user, '/deep/?depth=1000', /nested more than 1000 levels deep/);
      await refused(user, '/cycle/', /ircular/);
      expect(user.cookie).toBe(cookie);
      // Nothing was written: the session is as it was.
      const back = await user.request('/read/');
      expect(back.status).toBe(200);
      expect(JSON.parse(back.body)).toEqual({ n: 1, deep: 0 });

      // At the limit it saves and reads back whole, on every engine.
      const ok = await user.request('/deep/?depth=999');
      expect(ok.status).toBe(200);
      const deep = await user.request('/read/');
      expect(deep.status).toBe(200);
      expect(JSON.parse(deep.body)).toEqual({ n: 1, deep: 999 });
    });

    if (c.keyv) {
      it('a BigInt, which the cache cannot write: 500, not 503', async () => {
        const user = new SessionUser(2, base);
        expect((await user.request('/incr/')).status).toBe(200);
        await refused(user, '/bigint/', /BigInt/);
        expect(JSON.parse((await user.request('/read/')).body)).toEqual({ n: 1, deep: 0 });
      });
    }
  });
});
