/**
 * The tutorial's session views over a real listening server and a browser-like
 * cookie jar, for every engine on every store it supports: switching
 * SESSION_ENGINE changes nothing for the views.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configure } from '@tango/core';
import { Client, service_url } from '@tango/core/testing';
import { close_connections } from '@tango/core/db';
import { close_caches } from '@tango/core/cache';
import MigrateCommand from '@tango/core/management/commands/migrate';
import { sqlite_database, postgres_database, capture_stream, type TestDatabase } from '../../../packages/sessions/test/db_helpers';
import project from '../../../settings';
import { post_form } from './csrf_forms';

const ROOT = path.resolve(__dirname, '../../..');
const pg = service_url('TEST_DATABASE_URL');
const redis = service_url('TEST_REDIS_URL');
const memcached = service_url('TEST_MEMCACHED_URL');

interface EngineCase {
  name: string;
  engine: string;
  db?: () => TestDatabase;
  caches?: Record<string, unknown>;
  server_side: boolean;
}

const cases: EngineCase[] = [
  { name: 'db on SQLite', engine: 'db', db: sqlite_database, server_side: true },
  { name: 'file', engine: 'file', server_side: true },
  { name: 'signed_cookies', engine: 'signed_cookies', server_side: false },
  { name: 'cache on locmem', engine: 'cache', caches: { default: { BACKEND: 'locmem' } }, server_side: true },
  { name: 'cached_db on SQLite + locmem', engine: 'cached_db', db: sqlite_database, caches: { default: { BACKEND: 'locmem' } }, server_side: true },
];
if (pg) {
  cases.push({ name: 'db on PostgreSQL', engine: 'db', db: () => postgres_database(pg), server_side: true });
  if (redis) cases.push({ name: 'cached_db on PostgreSQL + Redis', engine: 'cached_db', db: () => postgres_database(pg), caches: { default: { BACKEND: 'redis', LOCATION: redis } }, server_side: true });
}
if (redis) cases.push({ name: 'cache on Redis', engine: 'cache', caches: { default: { BACKEND: 'redis', LOCATION: redis, KEY_PREFIX: `demo${process.pid}` } }, server_side: true });
if (memcached) cases.push({ name: 'cache on Memcached', engine: 'cache', caches: { default: { BACKEND: 'memcached', LOCATION: memcached } }, server_side: true });

describe.each(cases)('tutorial session views: $name', (c) => {
  let client: Client;
  let db: TestDatabase | undefined;
  let file_dir: string | undefined;

  beforeAll(async () => {
    db = c.db?.();
    await db?.create();
    file_dir = c.engine === 'file' ? fs.mkdtempSync(path.join(os.tmpdir(), 'tango-demo-sessions-')) : undefined;
    configure({
      SECRET_KEY: 'demo-sessions-test-secret',
      ROOT_URLCONF: './urls',
      INSTALLED_APPS: ['@tango/sessions', 'apps/demo'],
      MIDDLEWARE: project.MIDDLEWARE,
      TIME_ZONE: 'Asia/Shanghai',
      USE_TZ: false,
      SESSION_ENGINE: c.engine,
      ...(db ? { DATABASES: { default: db.settings } } : {}),
      ...(c.caches ? { CACHES: c.caches } : {}),
      ...(file_dir ? { SESSION_FILE_PATH: file_dir } : {}),
    }, ROOT);
    if (db) {
      const migrate = new MigrateCommand();
      migrate.stdout = capture_stream();
      await migrate.handle([], { database: 'default' });
    }
  });

  afterAll(async () => {
    await close_connections();
    await close_caches();
    await db?.drop();
    if (file_dir) fs.rmSync(file_dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    client = new Client();
  });
  afterEach(() => client.close());

  it('add_session stores user_id and sends an HttpOnly session cookie for two weeks', async () => {
    const res = await client.get('/add_session/');
    expect(res.status).toBe(200);
    expect(res.text).toBe('session add');
    expect(res.set_cookies).toHaveLength(1);
    expect(res.set_cookies[0]).toMatch(/^sessionid=[^;]+; expires=[^;]+ GMT; HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax$/);
    expect(res.headers.get('vary')).toBe('Cookie');
    const key = client.cookies.get('sessionid')!.value;
    if (c.server_side) expect(key).toMatch(/^[a-z0-9]{32}$/);
    expect((await client.get('/get_session/')).text).toBe('user_id: zhiliao');
  });

  it('keys, items and pop work as on a dict', async () => {
    await client.get('/add_session/');
    expect((await client.get('/session_keys/')).json()).toEqual({ keys: ['user_id'] });
    expect((await client.get('/session_items/')).json()).toEqual({ items: [['user_id', 'zhiliao']] });
    expect((await client.get('/pop_session/')).text).toBe('popped: zhiliao');
    expect((await client.get('/get_session/')).text).toBe('user_id: (none)');
    expect((await client.get('/pop_session/')).text).toBe('popped: (none)');
  });

  it('a read-only request sends Vary: Cookie but no new cookie', async () => {
    await client.get('/add_session/');
    const res = await client.get('/get_session/');
    expect(res.set_cookies).toEqual([]);
    expect(res.headers.get('vary')).toBe('Cookie');
  });

  it('clear empties the data, and flush ends the session and deletes the cookie', async () => {
    await client.get('/add_session/');
    await post_form(client, '/clear_session/');
    expect((await client.get('/get_session/')).text).toBe('user_id: (none)');
    await client.get('/add_session/');
    const before = client.cookies.get('sessionid')!.value;
    const flushed = await post_form(client, '/flush_session/');
    expect(flushed.set_cookies).toEqual(['sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax']);
    expect(client.cookies.get('sessionid')).toBeUndefined();
    // The old key is gone from the store: replaying it gives an empty session. A signed
    // cookie has no store to forget it, so a copy stays valid until it expires (as in Django).
    const replay = new Client(await client.url());
    replay.cookies.set('sessionid', before);
    expect((await replay.get('/get_session/')).text).toBe(c.server_side ? 'user_id: (none)' : 'user_id: zhiliao');
  });

  it('set_expiry: 0 gives a browser-session cookie, N seconds a Max-Age of N', async () => {
    const at_close = await post_form(client, '/set_expiry/', { seconds: '0' });
    expect(at_close.set_cookies[0]).toMatch(/^sessionid=[^;]+; HttpOnly; Path=\/; SameSite=Lax$/);
    const minute = await post_form(client, '/set_expiry/', { seconds: '60' });
    expect(minute.set_cookies[0]).toMatch(/; Max-Age=60; Path=\/; SameSite=Lax$/);
    expect(minute.text).toMatch(/age 60 s/);
    expect((await client.get('/get_session/')).text).toBe('user_id: zhiliao');
  });

  it('a session key the client made up is never adopted', async () => {
    const forged = 'a'.repeat(32);
    client.cookies.set('sessionid', forged);
    const res = await client.get('/add_session/');
    expect(res.status).toBe(200);
    const issued = client.cookies.get('sessionid')!.value;
    expect(issued).not.toBe(forged);
    expect((await client.get('/get_session/')).text).toBe('user_id: zhiliao');
  });

  it('a tampered or path-like session cookie is treated as no session', async () => {
    for (const bad of ['../../etc/passwd', 'x', 'Ünïcode-key-00000000000000000000', 'z'.repeat(300)]) {
      client.cookies.set('sessionid', bad);
      const res = await client.get('/get_session/');
      expect(res.status).toBe(200);
      expect(res.text).toBe('user_id: (none)');
    }
  });
});
