/**
 * Several processes behind one load balancer: two `manage.ts serve` processes
 * on different ports share a session store — PostgreSQL (db engine) and,
 * separately, Redis (cache engine) — so a browser may reach either. A login
 * through the first is seen by the second; a logout through the second ends
 * the session for the first. Also: SIGTERM lets an in-flight request finish.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { configure } from '@tango/core';
import { close_connections } from '@tango/core/db';
import MigrateCommand from '@tango/core/management/commands/migrate';
import { Client, CookieJar, describe_with } from '@tango/core/testing';
import { User } from '@tango/auth';
import { capture_stream, postgres_database, type TestDatabase } from '../../../packages/sessions/test/db_helpers';
import { post_form } from './csrf_forms';
import { DEMO_PASSWORD, ROOT } from './demo_site';
import { start_serve, type ServeProcess } from './serve_process';

/** Migrates the database the servers will share and creates the user the scenario signs in as. */
async function prepare_users(database: Record<string, unknown>): Promise<void> {
  configure({
    SECRET_KEY: 'multiprocess-test-secret', INSTALLED_APPS: ['@tango/sessions', '@tango/auth'], DATABASES: { default: database },
    PASSWORD_HASHERS: ['django.contrib.auth.hashers.MD5PasswordHasher'],
  }, ROOT);
  const migrate = new MigrateCommand();
  migrate.stdout = capture_stream();
  await migrate.handle([], { database: 'default' });
  await User.create_user('alice', 'alice@example.com', DEMO_PASSWORD);
  await close_connections();
}

// Each test starts ts-node servers; start-up alone can take several seconds on a busy machine.
jest.setTimeout(90_000);

/** The shared scenario: one browser (one cookie jar), two servers. */
function shares_sessions(engine: string, servers: () => [ServeProcess, ServeProcess]): void {
  it('a login through the first process is seen by the second; a logout through the second ends it for the first', async () => {
    const [first, second] = servers();
    const jar = new CookieJar();
    const a = new Client(first.url, { cookies: jar });
    const b = new Client(second.url, { cookies: jar });

    const login = await post_form(a, '/login/', { username: 'alice', password: DEMO_PASSWORD, remember: '1' });
    expect(login.status).toBe(302);
    const key = jar.get('sessionid')!.value;
    expect(key).toMatch(/^[a-z0-9]{32}$/);
    const seen = (await b.get('/whoami/')).text;
    expect(seen).toContain('You are <strong>alice</strong>.');
    expect(seen).toContain(`<code>@tango/sessions/backends/${engine}</code>`);

    // Writes go both ways: data stored through the second is read through the first.
    await b.get('/add_session/');
    const items = (await a.get('/session_items/')).json<{ items: Array<[string, unknown]> }>().items;
    expect(items.map(([k]) => k)).toEqual(['_auth_user_id', '_auth_user_backend', '_auth_user_hash', 'user_id']);
    expect(items[3]).toEqual(['user_id', 'zhiliao']);

    const logout = await post_form(b, '/logout/');
    expect(logout.status).toBe(302);
    expect(jar.get('sessionid')).toBeUndefined();
    expect((await a.get('/whoami/')).text).toContain('You are not signed in.');
    // A copy of the old cookie (another tab, a stolen value) is dead on the first process too.
    const stale = new Client(first.url);
    stale.cookies.set('sessionid', key);
    expect((await stale.get('/whoami/')).text).toContain('You are not signed in.');
  });
}

describe_with('TEST_DATABASE_URL')('two serve processes sharing PostgreSQL', (url) => {
  let db: TestDatabase;
  const procs: ServeProcess[] = [];

  beforeAll(async () => {
    db = postgres_database(url);
    await db.create();
    // The schema is migrated once, in-process, as an operator runs `migrate` before starting servers.
    await prepare_users(db.settings);
    const env = { SERVE_TEST_DATABASE_URL: url, SERVE_TEST_DB_SCHEMA: (db.settings.OPTIONS as { search_path: string }).search_path };
    procs.push(...await Promise.all([start_serve(env), start_serve(env)]));
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db?.drop();
  });

  shares_sessions('db', () => [procs[0], procs[1]]);
});

describe_with('TEST_REDIS_URL')('two serve processes sharing Redis', (url) => {
  const procs: ServeProcess[] = [];

  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-multiprocess-'));
    const users = path.join(dir, 'users.sqlite3');
    await prepare_users({ ENGINE: 'sqlite3', NAME: users });
    const env = { SERVE_TEST_REDIS_URL: url, SERVE_TEST_KEY_PREFIX: `multiprocess-${process.pid}-${Date.now()}`, SERVE_TEST_SQLITE: users };
    procs.push(...await Promise.all([start_serve(env), start_serve(env)]));
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  shares_sessions('cache', () => [procs[0], procs[1]]);
});

/** Resolves with the time a fresh connection was first refused; rejects if it still connects after `ms`. */
function refused_within(url: string, ms: number): Promise<number> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      // agent: false: a new TCP connection each time, never a kept-alive one.
      const req = http.get(`${url}/`, { agent: false }, (res) => {
        res.resume();
        if (Date.now() > until) reject(new Error(`still accepting connections ${ms} ms after SIGTERM`));
        else setTimeout(attempt, 25);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') resolve(Date.now());
        // A connection accepted just as the listener closed is reset: try again.
        else if (err.code === 'ECONNRESET' && Date.now() <= until) setTimeout(attempt, 25);
        else reject(err);
      });
    };
    attempt();
  });
}

describe('serve: graceful shutdown', () => {
  let server: ServeProcess | undefined;

  afterEach(() => server?.stop());

  it('SIGTERM stops accepting, lets the in-flight request finish with 200, then exits 0', async () => {
    server = await start_serve({});
    // fetch keeps its connection alive, as a load balancer does: the drain must still end.
    const slow = fetch(`${server.url}/slow/?ms=3000`).then(async (r) => ({ status: r.status, text: await r.text(), at: Date.now() }));
    await server.wait_for('slow request started', 10_000);
    process.kill(server.pid, 'SIGTERM');
    const refused_at = await refused_within(server.url, 2500);
    const res = await slow;
    expect(res).toMatchObject({ status: 200, text: 'slow done after 3000 ms' });
    // New connections were refused while the slow request was still running.
    expect(refused_at).toBeLessThan(res.at);
    expect(await server.exit_code(10_000)).toBe(0);
  });
});
