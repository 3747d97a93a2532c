/**
 * Issue 21 part 2: Django 3.2 and Tango share users and signed-in sessions
 * (one PostgreSQL schema, the db session engine, one SECRET_KEY). A login on
 * either side is a login on the other; a password change or a logout on
 * either side ends the session on both; each side verifies the other's
 * password hashes. Also: the auth tables Tango's migrate makes are the ones
 * Django's makes, and Django's `migrate --fake-initial` adopts them.
 */
import type { Knex } from 'knex';
import { configure } from '../packages/core/conf';
import { close_connections, get_connection } from '../packages/core/db';
import { HttpResponse, JsonResponse } from '../packages/core/http/response';
import type { HttpRequest } from '../packages/core/http/request';
import { set_stderr_logging } from '../packages/core/log';
import MigrateCommand from '../packages/core/management/commands/migrate';
import { CsrfViewMiddleware } from '../packages/core/middleware/csrf';
import { Client } from '../packages/core/testing/client';
import { path } from '../packages/core/urls';
import { PBKDF2PasswordHasher } from '../packages/auth/hashers';
import { AuthenticationMiddleware } from '../packages/auth/middleware';
import { User, type AnyUser } from '../packages/auth/models';
import { authenticate, login, logout } from '../packages/auth/session_auth';
import { SessionMiddleware } from '../packages/sessions/middleware';
import { capture_stream, postgres_shared, sqlite_shared, type SharedDatabase } from './databases';
import { Django, describe_with_django, django_postgres_url, must } from './django';
import { cookie_pair } from './session_requests';

jest.setTimeout(180_000);

const SECRET_KEY = 'django-insecure-interop-auth';
const PASSWORD = 'correct horse ✓';

/** Django 3.2's PBKDF2PasswordHasher: what a site still on 3.2 writes (see docs/auth.md). */
class Django32PBKDF2 extends PBKDF2PasswordHasher {
  override readonly iterations: number = 260000;
}

const who = (u: AnyUser) => ({ authenticated: u.is_authenticated, username: u.get_username(), id: u.id });

const urlpatterns = [
  path('login/', async (request: HttpRequest) => {
    const user = await authenticate(request, { username: request.GET.get('username'), password: request.GET.get('password') });
    if (user === null) return new HttpResponse('no', { status: 401 });
    await login(request, user);
    return new JsonResponse(who(user));
  }),
  path('logout/', async (request: HttpRequest) => {
    await logout(request);
    return new HttpResponse('bye');
  }),
  path('whoami/', async (request: HttpRequest) => new JsonResponse(who(await request.auser()))),
];

function tango_settings(db: SharedDatabase, extra: Record<string, unknown> = {}): void {
  configure({
    SECRET_KEY,
    USE_TZ: true,
    TIME_ZONE: 'UTC',
    INSTALLED_APPS: ['django.contrib.auth'],
    DATABASES: { default: db.tango },
    SESSION_ENGINE: 'db',
    ...extra,
  }, __dirname);
}

async function tango_migrate(): Promise<string> {
  const cmd = new MigrateCommand();
  const out = capture_stream();
  cmd.stdout = out;
  await cmd.handle([], { database: 'default' });
  return out.text();
}

function django_for(db: SharedDatabase): Django {
  return new Django({ SECRET_KEY, USE_TZ: true, TIME_ZONE: 'UTC', database: db.django, SESSION_ENGINE: 'db' });
}

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

const pg_url = django_postgres_url();
const describe_pg = pg_url ? describe_with_django : describe.skip;

describe_pg('signed-in sessions shared by Django 3.2 and Tango (PostgreSQL, db engine)', () => {
  let db: SharedDatabase;
  let django: Django;
  let client: Client;

  beforeAll(async () => {
    db = await postgres_shared(pg_url as string, 'auth');
    django = django_for(db);
    must(await django.one({ op: 'migrate_all' }));
    // While Django 3.2 shares the users, Tango hashes with 3.2's work factor (docs/auth.md explains why).
    tango_settings(db, { PASSWORD_HASHERS: [Django32PBKDF2, 'django.contrib.auth.hashers.PBKDF2PasswordHasher'] });
    await tango_migrate();
    await django.one({ op: 'auth_create_user', username: 'alice', email: 'alice@example.com', password: PASSWORD });
  });

  afterAll(async () => {
    await django?.close();
    await close_connections();
    await db?.drop();
  });

  beforeEach(() => {
    client = new Client({ urlpatterns, middleware: [SessionMiddleware, CsrfViewMiddleware, AuthenticationMiddleware] });
  });
  afterEach(() => client.close());

  async function django_login(): Promise<string> {
    const r = await django.one({ op: 'auth_login', username: 'alice', password: PASSWORD });
    expect(r.authenticated).toBe(true);
    return cookie_pair((r.set_cookie as Record<string, string>).sessionid);
  }

  async function tango_login(): Promise<string> {
    expect((await client.get(`/login/?username=alice&password=${encodeURIComponent(PASSWORD)}`)).status).toBe(200);
    return `sessionid=${client.cookies.get('sessionid')?.value}`;
  }

  async function django_whoami(cookie: string): Promise<Record<string, unknown>> {
    return (await django.one({ op: 'auth_whoami', cookie_header: cookie })).user as Record<string, unknown>;
  }

  function use_cookie(cookie: string): void {
    client.cookies.set_from_header(`${cookie}; Path=/`, '/');
  }

  async function alice_id(): Promise<number> {
    return (await django.one({ op: 'auth_get_user', username: 'alice' })).id as number;
  }

  test("sign in on Django: Tango's request.user is that user", async () => {
    const cookie = await django_login();
    use_cookie(cookie);
    expect((await client.get('/whoami/')).json()).toEqual({ authenticated: true, username: 'alice', id: await alice_id() });
  });

  test("sign in on Tango: Django's request.user is that user, and the session holds what Django's login() writes", async () => {
    const cookie = await tango_login();
    expect(await django_whoami(cookie)).toEqual({ authenticated: true, username: 'alice', id: await alice_id() });
    const by_django = await django.one({ op: 'auth_login', username: 'alice', password: PASSWORD });
    const session = await client.session();
    expect(Object.fromEntries(session.items())).toEqual(by_django.session);
  });

  test('change the password on Django: the Tango session ends (and the Django one too)', async () => {
    const tango_cookie = await tango_login();
    const django_cookie = await django_login();
    await django.one({ op: 'auth_set_password', username: 'alice', password: 'changed on django' });
    const r = await client.get('/whoami/');
    expect(r.json()).toMatchObject({ authenticated: false });
    expect(r.set_cookies.some((c) => c.startsWith('sessionid=""'))).toBe(true);
    expect(await django_whoami(django_cookie)).toMatchObject({ authenticated: false });
    expect(await django_whoami(tango_cookie)).toMatchObject({ authenticated: false });
    await django.one({ op: 'auth_set_password', username: 'alice', password: PASSWORD });
  });

  test('change the password on Tango: the Django session ends', async () => {
    const django_cookie = await django_login();
    expect(await django_whoami(django_cookie)).toMatchObject({ authenticated: true });
    const alice = await User.get_by_natural_key('alice');
    await alice!.set_password('changed on tango');
    await alice!.save();
    expect(await django_whoami(django_cookie)).toMatchObject({ authenticated: false });
    await alice!.set_password(PASSWORD);
    await alice!.save();
  });

  test('log out on Django: the shared session ends on Tango too', async () => {
    const cookie = await django_login();
    use_cookie(cookie);
    expect((await client.get('/whoami/')).json()).toMatchObject({ authenticated: true });
    await django.one({ op: 'auth_logout', cookie_header: cookie });
    expect((await client.get('/whoami/')).json()).toMatchObject({ authenticated: false });
  });

  test('log out on Tango: the shared session ends on Django too', async () => {
    const cookie = await tango_login();
    expect(await django_whoami(cookie)).toMatchObject({ authenticated: true });
    await client.get('/logout/');
    expect(await django_whoami(cookie)).toMatchObject({ authenticated: false });
  });

  test("each side verifies the other's hashes; Tango upgrades an older one on login and Django 3.2 still accepts it", async () => {
    // A user created by Tango (Django 5.2's 1,000,000 iterations) signs in on Django 3.2.
    tango_settings(db);
    await User.create_user('bob', '', PASSWORD);
    expect((await django.one({ op: 'auth_check_password', username: 'bob', password: PASSWORD })).correct).toBe(true);
    // Django 3.2 rehashed it with its own 260000; Tango, preferring 1,000,000, upgrades it again on login.
    expect((await django.one({ op: 'auth_get_user', username: 'bob' })).password).toMatch(/^pbkdf2_sha256\$260000\$/);
    expect((await client.get(`/login/?username=bob&password=${encodeURIComponent(PASSWORD)}`)).status).toBe(200);
    expect((await django.one({ op: 'auth_get_user', username: 'bob' })).password).toMatch(/^pbkdf2_sha256\$1000000\$/);
    expect(await django_whoami(`sessionid=${client.cookies.get('sessionid')?.value}`)).toMatchObject({ authenticated: true, username: 'bob' });
    tango_settings(db, { PASSWORD_HASHERS: [Django32PBKDF2, 'django.contrib.auth.hashers.PBKDF2PasswordHasher'] });
  });

  test('a user Django created reads with every field as Django wrote it', async () => {
    const alice = await User.get_by_natural_key('alice');
    const state = await django.one({ op: 'auth_get_user', username: 'alice' });
    expect(alice).toMatchObject({ id: state.id, username: 'alice', email: 'alice@example.com', is_active: true, is_staff: false, is_superuser: false });
    expect(alice!.last_login?.toISOString()).toBe(new Date(state.last_login as string).toISOString());
  });
});

/** The auth tables as the catalog describes them (schema name masked). */
async function auth_tables_shape(knex: Knex, db: SharedDatabase): Promise<unknown> {
  if (db.kind === 'sqlite') {
    return knex.raw(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name LIKE 'auth%' ORDER BY name`);
  }
  const cols = await knex.raw(
    `SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name LIKE 'auth%' ORDER BY table_name, ordinal_position`);
  const idx = await knex.raw(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename LIKE 'auth%' ORDER BY indexname`);
  const cons = await knex.raw(
    `SELECT c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = current_schema() AND c.conrelid::regclass::text LIKE 'auth%' ORDER BY c.conname`);
  const mask = (s: string) => s.split(`${db.schema}.`).join('<schema>.');
  return {
    columns: (cols.rows as Array<Record<string, unknown>>).map((r) => ({ ...r, column_default: mask(String(r.column_default)) })),
    indexes: (idx.rows as Array<{ indexname: string; indexdef: string }>).map((r) => ({ name: r.indexname, def: mask(r.indexdef) })),
    constraints: (cons.rows as Array<{ conname: string; def: string }>).map((r) => ({ name: r.conname, def: mask(r.def) })),
  };
}

const stores: Array<[string, () => Promise<SharedDatabase>]> = [['SQLite', async () => sqlite_shared()]];
if (pg_url) stores.push(['PostgreSQL', () => postgres_shared(pg_url, 'authtables')]);

for (const [label, make] of stores) {
  describe_with_django(`the auth tables of Tango's migrate and Django 3.2's (${label})`, () => {
    let tango_made: SharedDatabase;
    let django_made: SharedDatabase;

    beforeAll(async () => {
      tango_made = await make();
      django_made = await make();
      const maker = django_for(django_made);
      must(await maker.one({ op: 'migrate_all' }));
      await maker.close();
      tango_settings(tango_made, { DATABASES: { default: tango_made.tango, django_made: django_made.tango } });
      expect(await tango_migrate()).toContain('Applying auth.0001_initial... OK');
    });

    afterAll(async () => {
      await close_connections();
      await tango_made?.drop();
      await django_made?.drop();
    });

    test("auth_user and its companions are the tables Django's migrate makes: columns, types, indexes, constraints", async () => {
      const ours = await auth_tables_shape(get_connection(), tango_made) as Record<string, unknown>;
      const theirs = await auth_tables_shape(get_connection('django_made'), django_made) as Record<string, unknown>;
      if (label === 'PostgreSQL') {
        // The one difference: auth_permission's foreign key to contenttypes' table, which a Tango-only database lacks.
        const fk = 'auth_permission_content_type_id_2f476e4b_fk_django_co';
        const cons = theirs.constraints as Array<{ name: string }>;
        expect(cons.map((c) => c.name)).toContain(fk);
        theirs.constraints = cons.filter((c) => c.name !== fk);
      }
      expect(JSON.stringify(ours)).toContain('date_joined');
      expect(ours).toEqual(theirs);
    });

    test("Django's migrate --fake-initial adopts them; Django then signs users in, and Tango reads them", async () => {
      const django = django_for(tango_made);
      try {
        const r = await django.one({ op: 'migrate_all', fake_initial: true });
        expect(r.stdout).toContain('Applying auth.0001_initial... FAKED');
        expect(r.stdout).toContain('Applying auth.0012_alter_user_first_name_max_length... OK');
        expect(r.stdout).toContain('Applying sessions.0001_initial... FAKED');
        await User.create_user('carol', 'carol@example.com', PASSWORD);
        expect((await django.one({ op: 'auth_login', username: 'carol', password: PASSWORD })).authenticated).toBe(true);
        await django.one({ op: 'auth_create_user', username: 'dave', password: PASSWORD });
        expect(await (await User.get_by_natural_key('dave'))!.check_password(PASSWORD)).toBe(true);
      } finally {
        await django.close();
      }
    });
  });
}
