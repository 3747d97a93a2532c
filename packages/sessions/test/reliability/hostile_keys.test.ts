/**
 * Issue 6, item 3, the gaps left by apps/demo/test/sessions.test.ts (which
 * sends four bad keys to every engine and checks the page reads empty): every
 * engine, on every store, through a real server, with more hostile session
 * cookies (absolute paths, NUL, CR LF and spaces smuggled in through Python's
 * octal quoting, percent-encoding, globs, over-long and upper-case keys), and
 * the whole outcome: reading gives an empty session and no store error; a
 * write gets a brand-new 32-character [a-z0-9] key, never the one sent; the
 * file engine reads and writes nothing outside SESSION_FILE_PATH, even for a
 * key that lexically resolves to a valid session file planted next to it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import { set_stderr_logging } from '@tango/core/log';
import { capture_logs, service_url } from '@tango/core/testing';
import { dumps } from '@tango/core/signing';
import { postgres_database, sqlite_database, type TestDatabase } from '../db_helpers';
import { raw_get, raw_http, SECRET_KEY, SessionUser, start_app, store_setup, type RawResponse } from './helpers';

const latin1_of_utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** [what, the cookie value exactly as it goes on the wire] */
const HOSTILE: Array<[string, string]> = [
  ['an unknown well-formed key', 'k'.repeat(32)],
  ['a short key', 'abc'],
  ['an empty quoted key', '""'],
  ['a 7-character key', 'abcdefg'],
  ['a 41-character key', 'a'.repeat(41)],
  ['a 4000-character key', 'z'.repeat(4000)],
  ['an upper-case key', 'A'.repeat(32)],
  ['a non-ASCII key', latin1_of_utf8('ключ'.repeat(8))],
  ['a relative path', '../../etc/passwd'],
  ['a path to a planted session file', 'x/../../victim00000000000000000000'],
  ['an absolute path', '/etc/passwd'],
  ['a percent-encoded path', '..%2F..%2Fetc%2Fpasswd'],
  ['a NUL byte (octal-quoted)', '"aaaaaaaa\\000/../../etc/passwd"'],
  ['CR LF (octal-quoted)', '"aaaaaaaa\\015\\012flush_all"'],
  ['a space (quoted)', '"aaaaaaaa flush_all"'],
  ['a glob', '*'.repeat(32)],
];

interface EngineCase {
  name: string;
  settings: () => Record<string, unknown>;
  db?: TestDatabase;
  server_side: boolean;
}

const pg = service_url('TEST_DATABASE_URL');
const redis = service_url('TEST_REDIS_URL');
const memcached = service_url('TEST_MEMCACHED_URL');
const redis_prefix = `hk${process.pid}`;

function cases(): EngineCase[] {
  const sqlite = sqlite_database();
  const sqlite2 = sqlite_database();
  const list: EngineCase[] = [
    { name: 'db on SQLite', db: sqlite, settings: () => ({ SESSION_ENGINE: 'db', DATABASES: { default: sqlite.settings } }), server_side: true },
    { name: 'file', settings: () => ({ SESSION_ENGINE: 'file' }), server_side: true },
    { name: 'signed_cookies', settings: () => ({ SESSION_ENGINE: 'signed_cookies' }), server_side: false },
    { name: 'cache on locmem', settings: () => ({ SESSION_ENGINE: 'cache', CACHES: { default: { BACKEND: 'locmem', LOCATION: 'hostile' } } }), server_side: true },
    {
      name: 'cached_db on SQLite + locmem', db: sqlite2, server_side: true,
      settings: () => ({ SESSION_ENGINE: 'cached_db', DATABASES: { default: sqlite2.settings }, CACHES: { default: { BACKEND: 'locmem', LOCATION: 'hostile2' } } }),
    },
  ];
  if (pg) {
    const db = postgres_database(pg);
    list.push({ name: 'db on PostgreSQL', db, settings: () => ({ SESSION_ENGINE: 'db', DATABASES: { default: db.settings } }), server_side: true });
    if (redis) {
      const db2 = postgres_database(pg);
      list.push({
        name: 'cached_db on PostgreSQL + Redis', db: db2, server_side: true,
        settings: () => ({ SESSION_ENGINE: 'cached_db', DATABASES: { default: db2.settings }, CACHES: { default: { BACKEND: 'redis', LOCATION: redis, KEY_PREFIX: redis_prefix } } }),
      });
    }
  }
  if (redis) list.push({ name: 'cache on Redis', settings: () => store_setup('redis', redis).settings(2000), server_side: true });
  if (memcached) list.push({ name: 'cache on Memcached', settings: () => store_setup('memcached', memcached).settings(2000), server_side: true });
  return list;
}

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

function session_cookie(res: RawResponse): string | undefined {
  const line = res.lines.find((l) => /^set-cookie: sessionid=/i.test(l));
  return line === undefined ? undefined : line.slice('set-cookie: '.length);
}

describe.each(cases())('hostile session cookies: $name', (c) => {
  let app: FastifyInstance;
  let base: string;
  // The file engine's directory sits inside `root`, next to the planted file.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-hostile-'));
  const dir = path.join(root, 'sessions');
  const issued: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(dir);
    configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_FILE_PATH: dir, ...c.settings() });
    if (c.db) {
      await c.db.create();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const MigrateCommand = (require('@tango/core/management/commands/migrate') as { default: new () => { stdout: unknown; handle(a: string[], o: Record<string, unknown>): Promise<void> } }).default;
      const { capture_stream } = await import('../db_helpers');
      const migrate = new MigrateCommand();
      migrate.stdout = capture_stream();
      await migrate.handle([], { database: 'default' });
    }
    // A valid session file (Django's format, this SECRET_KEY) outside SESSION_FILE_PATH, where
    // 'x/../../victim…' resolves lexically from `${dir}/sessionid`.
    fs.writeFileSync(path.join(root, 'victim00000000000000000000'),
      dumps({ owner: 'victim', n: 99 }, { salt: 'django.contrib.sessions.SessionStore', compress: true }));
    ({ app, base } = await start_app());
  });

  afterAll(async () => {
    if (/cache/.test(c.name)) {
      const { get_session_store_class } = await import('../../engine');
      const SessionStore = get_session_store_class();
      for (const key of issued) await new SessionStore(key).delete_session().catch(() => undefined);
    }
    await app?.close();
    await close_connections();
    await close_caches();
    await c.db?.drop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it.each(HOSTILE)('%s: reads as an empty session, and a write gets a new key', async (_what, wire) => {
    const logs = capture_logs();
    try {
      const read = await raw_http(base, raw_get('/read/', [`Cookie: sessionid=${wire}`]));
      expect(read.status).toBe(200);
      expect(JSON.parse(read.body.toString())).toEqual({ n: null, owner: null });
      const read_cookie = session_cookie(read);
      if (c.server_side) {
        // The view read the session: the bad cookie is deleted (an empty key sent as "" is not "sent" to Django either).
        if (wire !== '""') expect(read_cookie).toMatch(/^sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\//);
      } else {
        // signed_cookies deletes the cookie or re-issues the empty session under a fresh signature.
        expect(read_cookie === undefined || /; Max-Age=0;/.test(read_cookie) || !read_cookie.startsWith(`sessionid=${wire};`)).toBe(true);
      }

      const write = await raw_http(base, raw_get('/incr/?owner=me', [`Cookie: sessionid=${wire}`]));
      expect(write.status).toBe(200);
      expect(JSON.parse(write.body.toString())).toEqual({ n: 1, owner: 'me' });
      const issued_cookie = session_cookie(write) as string;
      const key = /^sessionid=([^;]+);/.exec(issued_cookie)?.[1] as string;
      expect(key).not.toBe(wire);
      if (c.server_side) {
        expect(key).toMatch(/^[a-z0-9]{32}$/);
        issued.push(key);
      }
      const user = new SessionUser(0, base);
      user.cookie = key;
      expect(JSON.parse((await user.request('/read/')).body)).toEqual({ n: 1, owner: 'me' });

      // No request failed inside: a bad key is never a store error.
      expect(logs.records.filter((r) => r.level === 'error')).toEqual([]);
    } finally {
      logs.stop();
    }
  });

  it('nothing outside SESSION_FILE_PATH was read or written', () => {
    expect(fs.readdirSync(root).sort()).toEqual(['sessions', 'victim00000000000000000000']);
    for (const f of fs.readdirSync(dir)) expect(f).toMatch(/^sessionid[a-z0-9]{32}$/);
  });
});
