/**
 * Issue 4, items 2 and 3: Django 3.2 and Tango share one django_session table
 * (django/contrib/sessions/backends/db.py and base.py encode/decode,
 * management/commands/clearsessions.py), on a SQLite file and on a
 * PostgreSQL schema, under USE_TZ=True (with a non-UTC TIME_ZONE, which must
 * then not matter) and USE_TZ=False with TIME_ZONE='Asia/Shanghai' (naive
 * local datetimes in the column).
 *
 * Both sides run with pinned clocks (Tango's freeze_time, the driver's `now`),
 * so expiry boundaries are tested to the second and below.
 */
import { freeze_time } from '../packages/core/clock';
import { configure } from '../packages/core/conf';
import { close_connections, from_db_datetime, get_connection } from '../packages/core/db';
import MigrateCommand from '../packages/core/management/commands/migrate';
import { py_json_dumps } from '../packages/core/py_json';
import { SessionStore } from '../packages/sessions/backends/db';
import ClearSessionsCommand from '../packages/sessions/management/commands/clearsessions';
import { capture_stream, postgres_shared, session_table_shape, sqlite_shared, type SharedDatabase } from './databases';
import { Django, describe_with_django, django_postgres_url, must, type DjangoSettings } from './django';
import { cookie_pair, tango_session_request } from './session_requests';

jest.setTimeout(120000);

const SECRET_KEY = 'django-insecure-interop-sessions';
const T = 1700000000;
const AGE = 1209600; // SESSION_COOKIE_AGE, the same default on both sides

interface Zone {
  USE_TZ: boolean;
  TIME_ZONE: string;
}

const ZONES: Zone[] = [
  { USE_TZ: true, TIME_ZONE: 'America/Chicago' },
  { USE_TZ: false, TIME_ZONE: 'Asia/Shanghai' },
];

/** Every JSON type, nesting, and text that needs escaping. */
const DATA = {
  user_id: 'zhiliao',
  visits: 3,
  ratio: 0.75,
  admin: false,
  verified: true,
  nothing: null,
  cart: [{ sku: 'A-1', qty: 2 }, { sku: 'B-2', qty: 1 }],
  nested: { deep: { deeper: ['x', 1, true, null] } },
  unicode: 'héllo ✓ 清風 😀 "quoted" \\ back',
  empty_list: [],
  empty_obj: {},
};

async function at<R>(seconds: number, fn: () => Promise<R> | R): Promise<R> {
  const restore = freeze_time(seconds * 1000);
  try {
    return await fn();
  } finally {
    restore();
  }
}

interface TangoView {
  session_key: string | null;
  data: Record<string, unknown>;
  expiry_age: number;
}

/** What Tango's db engine loads for `key` at `now`. */
function tango_load(key: string, now: number): Promise<TangoView> {
  return at(now, async () => {
    const s = new SessionStore(key);
    await s.preload();
    const data = Object.fromEntries(s.items());
    return { session_key: s.session_key, data, expiry_age: s.get_expiry_age() };
  });
}

function tango_create(data: Record<string, unknown>, now: number, expiry?: number | Date): Promise<string> {
  return at(now, async () => {
    const s = new SessionStore();
    s.update(data as Record<string, never>);
    if (expiry !== undefined) s.set_expiry(expiry);
    await s.save();
    return s.session_key as string;
  });
}

/** The expire_date column as stored: SQLite text, or PostgreSQL's text rendering (same session TimeZone for all rows). */
async function raw_expire(key: string, db: SharedDatabase): Promise<string> {
  const knex = get_connection();
  const col = db.kind === 'sqlite' ? 'expire_date' : knex.raw('expire_date::text');
  const row = await knex('django_session').select({ e: col }).where('session_key', key).first();
  return row?.e as string;
}

/** The instant Tango reads from the expire_date column (seconds). */
async function tango_expire(key: string): Promise<number> {
  const knex = get_connection();
  const row = await knex('django_session').select('expire_date').where('session_key', key).first();
  return from_db_datetime(row.expire_date, knex).getTime() / 1000;
}

async function tango_migrate(): Promise<string> {
  const cmd = new MigrateCommand();
  const out = capture_stream();
  cmd.stdout = out;
  await cmd.handle([], { database: 'default' });
  return out.text();
}

async function tango_clearsessions(now: number): Promise<string> {
  return at(now, async () => {
    const cmd = new ClearSessionsCommand();
    const out = capture_stream();
    cmd.stdout = out;
    await cmd.handle([], {});
    return out.text();
  });
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` for a count of microseconds since the epoch (exact, unlike Date). */
function iso_micros(us: number): string {
  const sec = Math.floor(us / 1e6);
  const frac = us - sec * 1e6;
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(frac).padStart(6, '0')}+00:00`;
}

function tango_settings(zone: Zone, db: SharedDatabase, extra: Record<string, unknown> = {}): void {
  configure({ SECRET_KEY, ...zone, DATABASES: { default: db.tango, ...extra }, SESSION_ENGINE: 'db' }, __dirname);
}

function django_for(zone: Zone, db: SharedDatabase): Django {
  const s: DjangoSettings = { SECRET_KEY, ...zone, database: db.django, SESSION_ENGINE: 'db' };
  return new Django(s);
}

type Store = 'sqlite' | 'postgresql';

// PostgreSQL suites need TEST_DATABASE_URL and psycopg2 (skipped with a reason
// when either is missing, a failure under REQUIRE_SERVICES=1).
const PG_URL = django_postgres_url();
const STORES: Store[] = PG_URL ? ['sqlite', 'postgresql'] : ['sqlite'];

async function make_db(store: Store, label: string): Promise<SharedDatabase> {
  return store === 'sqlite' ? sqlite_shared() : postgres_shared(PG_URL as string, label);
}

for (const store of STORES) {
  for (const zone of ZONES) {
    const label = `${store}, USE_TZ=${zone.USE_TZ}, TIME_ZONE=${zone.TIME_ZONE}`;

    describe_with_django(`db sessions shared with Django 3.2 (${label})`, () => {
      let db: SharedDatabase;
      let django: Django;

      beforeAll(async () => {
        db = await make_db(store, zone.USE_TZ ? 'tz' : 'naive');
        django = django_for(zone, db);
        // Django's migrate makes the table; Tango must work with it as it is.
        expect((await django.one({ op: 'migrate' })).stdout).toContain('Applying sessions.0001_initial... OK');
        tango_settings(zone, db);
      });

      afterAll(async () => {
        await django?.close();
        await close_connections();
        await db?.drop();
      });

      test("Tango's migrate on the table Django's migrate made is a no-op: same table, rows intact", async () => {
        const [created] = await django.run([{ op: 'session_create', data: { before: 'migrate' }, now: T }]);
        const before = await session_table_shape(get_connection(), db);
        await tango_migrate();
        tango_settings(zone, db);
        expect(await session_table_shape(get_connection(), db)).toEqual(before);
        expect(await tango_migrate()).toContain('No migrations to apply.');
        tango_settings(zone, db);
        expect((await tango_load(must(created).session_key as string, T + 1)).data).toEqual({ before: 'migrate' });
      });

      test('a session Django writes, Tango reads: every value, and its expiry', async () => {
        const [custom, plain] = await django.run([
          { op: 'session_create', data: DATA, expiry: 300, now: T },
          { op: 'session_create', data: DATA, now: T },
        ]);
        const custom_key = must(custom).session_key as string;
        const plain_key = must(plain).session_key as string;
        const [rows] = await django.run([{ op: 'session_rows' }]);
        const django_rows = new Map((must(rows).rows as Array<{ session_key: string; expire_ts: number; decoded_json: string }>)
          .map((r) => [r.session_key, r]));

        const a = await tango_load(custom_key, T + 1);
        expect(a.session_key).toBe(custom_key);
        expect(a.data).toEqual({ ...DATA, _session_expiry: 300 });
        // The same data as Python JSON text, key order included.
        expect(py_json_dumps(a.data)).toBe(django_rows.get(custom_key)!.decoded_json);
        // An int expiry counts from the last modification (Django's rule), so it stays 300.
        expect(a.expiry_age).toBe(300);
        expect(await tango_expire(custom_key)).toBe(T + 300);
        expect(django_rows.get(custom_key)!.expire_ts).toBe(T + 300);

        const b = await tango_load(plain_key, T + 1);
        expect(b.data).toEqual(DATA);
        expect(b.expiry_age).toBe(AGE);
        expect(await tango_expire(plain_key)).toBe(T + AGE);
        expect(django_rows.get(plain_key)!.expire_ts).toBe(T + AGE);
      });

      test('a session Tango writes, Django reads: every value, and its expiry', async () => {
        const custom_key = await tango_create(DATA, T, 600);
        const plain_key = await tango_create(DATA, T);
        const [custom, plain, rows] = await django.run([
          { op: 'session_load', session_key: custom_key, now: T + 1 },
          { op: 'session_load', session_key: plain_key, now: T + 1 },
          { op: 'session_rows' },
        ]);
        expect(must(custom).session_key).toBe(custom_key);
        expect(custom.data_json).toBe(py_json_dumps({ ...DATA, _session_expiry: 600 }));
        expect(custom.expiry_age).toBe(600);
        expect(must(plain).data_json).toBe(py_json_dumps(DATA));
        expect(plain.expiry_age).toBe(AGE);
        const expire = new Map((must(rows).rows as Array<{ session_key: string; expire_ts: number }>).map((r) => [r.session_key, r.expire_ts]));
        expect(expire.get(custom_key)).toBe(T + 600);
        expect(expire.get(plain_key)).toBe(T + AGE);
      });

      test('for the same instant both sides store the same expire_date column value', async () => {
        const [dj] = await django.run([{ op: 'session_create', data: { a: 1 }, expiry: 3600, now: T + 0.5 }]);
        const tango_key = await tango_create({ a: 1 }, T + 0.5, 3600);
        const django_raw = await raw_expire(must(dj).session_key as string, db);
        expect(await raw_expire(tango_key, db)).toBe(django_raw);
        // Under USE_TZ=False that value is Shanghai wall time (UTC+8), otherwise UTC.
        const wall = zone.USE_TZ ? '2023-11-14 23:13:20.5' : '2023-11-15 07:13:20.5';
        expect(django_raw.startsWith(wall)).toBe(true);
      });

      test("each side sees the other's changes to a session", async () => {
        const tango_key = await tango_create({ a: 1, b: 'two' }, T);
        await django.one({ op: 'session_modify', session_key: tango_key, set: { c: [3] }, delete: ['a'], now: T + 10 });
        expect((await tango_load(tango_key, T + 11)).data).toEqual({ b: 'two', c: [3] });

        const [created] = await django.run([{ op: 'session_create', data: { x: 'y', z: 0 }, now: T }]);
        const django_key = must(created).session_key as string;
        await at(T + 20, async () => {
          const s = new SessionStore(django_key);
          await s.preload();
          s.set('w', { nested: true });
          s.delete('z');
          await s.save();
        });
        const [seen] = await django.run([{ op: 'session_load', session_key: django_key, now: T + 21 }]);
        expect(must(seen).data_json).toBe('{"x":"y","w":{"nested":true}}');
      });

      test("one side's flush removes the session for the other", async () => {
        const tango_key = await tango_create({ user: 'a' }, T);
        const [created] = await django.run([{ op: 'session_create', data: { user: 'b' }, now: T }]);
        const django_key = must(created).session_key as string;

        // Django flushes Tango's session...
        await django.one({ op: 'session_modify', session_key: tango_key, flush: true, now: T + 5 });
        const gone = await tango_load(tango_key, T + 6);
        expect(gone).toMatchObject({ session_key: null, data: {} });
        expect(await at(T + 6, () => new SessionStore().exists(tango_key))).toBe(false);

        // ...and Tango flushes Django's.
        await at(T + 5, async () => {
          const s = new SessionStore(django_key);
          await s.preload();
          expect(s.get('user')).toBe('b');
          await s.flush();
        });
        const [load, exists] = await django.run([
          { op: 'session_load', session_key: django_key, now: T + 6 },
          { op: 'session_exists', session_key: django_key },
        ]);
        expect(must(load)).toMatchObject({ session_key: null, data: {} });
        expect(must(exists).exists).toBe(false);
      });

      test('set_expiry(seconds) set on one side is honoured by the other, to the second', async () => {
        const [created] = await django.run([{ op: 'session_create', data: { by: 'django' }, expiry: 60, now: T }]);
        const django_key = must(created).session_key as string;
        const tango_key = await tango_create({ by: 'tango' }, T, 60);

        // Loaded while expire_date > now, strictly: alive at +59, gone at +60.
        expect((await tango_load(django_key, T + 59)).data).toEqual({ by: 'django', _session_expiry: 60 });
        expect(await tango_load(django_key, T + 60)).toMatchObject({ session_key: null, data: {} });

        const [alive, dead, own_alive, own_dead] = await django.run([
          { op: 'session_load', session_key: tango_key, now: T + 59 },
          { op: 'session_load', session_key: tango_key, now: T + 60 },
          { op: 'session_load', session_key: django_key, now: T + 59 },
          { op: 'session_load', session_key: django_key, now: T + 60 },
        ]);
        expect(must(alive).data_json).toBe('{"by":"tango","_session_expiry":60}');
        expect(must(dead)).toMatchObject({ session_key: null, data: {} });
        // Django agrees with itself on the same boundary (the comparison is fair).
        expect(must(own_alive).data_json).toBe('{"by":"django","_session_expiry":60}');
        expect(must(own_dead)).toMatchObject({ session_key: null, data: {} });

        // Extending the expiry on one side extends it for the other.
        await at(T + 30, async () => {
          const s = new SessionStore(django_key);
          await s.preload();
          s.set_expiry(3600);
          await s.save();
        });
        const [extended, ended] = await django.run([
          { op: 'session_load', session_key: django_key, now: T + 30 + 3599 },
          { op: 'session_load', session_key: django_key, now: T + 30 + 3600 },
        ]);
        expect(must(extended).expiry_age).toBe(3600);
        expect(must(ended).session_key).toBeNull();
      });

      test("Tango's set_expiry(Date): Django honours the row's expire_date; the ISO string in the data is current Django's form, which 3.2 cannot interpret", async () => {
        const when = new Date((T + 7200) * 1000);
        const key = await tango_create({ a: 1 }, T, when);
        const iso = zone.USE_TZ ? '2023-11-15T00:13:20+00:00' : '2023-11-15T08:13:20';
        const [alive, dead] = await django.run([
          { op: 'session_load', session_key: key, now: T + 7199 },
          { op: 'session_load', session_key: key, now: T + 7200 },
        ]);
        expect(JSON.parse(must(alive).data_json as string)).toEqual({ a: 1, _session_expiry: iso });
        expect(must(dead).session_key).toBeNull();
        // 3.2's get_expiry_age returns a non-datetime _session_expiry unchanged;
        // Django >= 4.0 parses the string (backends/base.py). Tango reads it back:
        expect(alive.expiry_age).toBe(iso);
        expect((await tango_load(key, T + 1)).expiry_age).toBe(7199);
      });

      test('through both SessionMiddlewares: a login on one side is a logged-in request on the other, and a logout on either ends it', async () => {
        const [dj_login] = await django.run([{ op: 'middleware', set: { user_id: 'zhiliao' }, expiry: 900, now: T }]);
        const tg_login = await tango_session_request({ set: { user_id: 'lihua' }, expiry: 900 }, T);
        const dj_cookie = (must(dj_login).set_cookie as Record<string, string>).sessionid;
        const tg_cookie = tg_login.set_cookie.sessionid;
        // Same attributes (the key is random): expires=now+900, Max-Age=900, HttpOnly, Path=/, SameSite=Lax.
        const attrs = (line: string) => line.split('; ').slice(1).join('; ');
        expect(attrs(tg_cookie)).toBe(attrs(dj_cookie));
        expect(attrs(tg_cookie)).toBe('expires=Tue, 14 Nov 2023 22:28:20 GMT; HttpOnly; Max-Age=900; Path=/; SameSite=Lax');
        expect(cookie_pair(tg_cookie)).toMatch(/^sessionid=[a-z0-9]{32}$/);

        // Each side's cookie is a logged-in request on the other side.
        const on_tango = await tango_session_request({ cookie_header: cookie_pair(dj_cookie) }, T + 60);
        expect(on_tango.seen_json).toBe('{"user_id":"zhiliao","_session_expiry":900}');
        const [on_django] = await django.run([{ op: 'middleware', cookie_header: cookie_pair(tg_cookie), now: T + 60 }]);
        expect(must(on_django).seen_json).toBe('{"user_id":"lihua","_session_expiry":900}');

        // Logging out on one side ends the session on the other.
        await django.run([{ op: 'middleware', cookie_header: cookie_pair(tg_cookie), flush: true, now: T + 120 }]);
        expect((await tango_session_request({ cookie_header: cookie_pair(tg_cookie) }, T + 121)).seen_json).toBe('{}');
        await tango_session_request({ cookie_header: cookie_pair(dj_cookie), flush: true }, T + 120);
        const [after] = await django.run([{ op: 'middleware', cookie_header: cookie_pair(dj_cookie), now: T + 121 }]);
        expect(must(after).seen_json).toBe('{}');
      });

      test('clearsessions: Tango removes exactly the rows Django removes from a table Django filled', async () => {
        // Rows around `now`, down to the microsecond: Django deletes expire_date < now
        // (strictly) and so must Tango, with `now` whole and with a fraction.
        const OFFSETS_US = [-86400e6, -1e6, -1, 0, 1, 1e6, 86400e6];
        for (const now_us of [(T + 1000) * 1e6, (T + 2000) * 1e6 + 250000]) {
          const now = now_us / 1e6;
          const rows = OFFSETS_US.map((off, i) => ({
            op: 'session_raw_save',
            session_key: `clear${String(i).padStart(2, '0')}${'k'.repeat(25)}`,
            data: { i },
            expire: iso_micros(now_us + off),
          }));
          const fill = async () => {
            await get_connection()('django_session').del();
            for (const r of await django.run(rows)) must(r);
          };
          const keys = async () => ((await get_connection()('django_session').select('session_key').orderBy('session_key')) as
            Array<{ session_key: string }>).map((r) => r.session_key);

          await fill();
          expect(await keys()).toHaveLength(OFFSETS_US.length);
          await tango_clearsessions(now);
          tango_settings(zone, db);
          const after_tango = await keys();

          await fill();
          await django.one({ op: 'clearsessions', now });
          const after_django = await keys();

          expect(after_tango).toEqual(after_django);
          // And that is: the row expiring exactly now and every later one.
          expect(after_django).toEqual(rows.filter((_, i) => OFFSETS_US[i] >= 0).map((r) => r.session_key));
        }
      });
    });

    describe_with_django(`a table made by Tango's migrate works with Django 3.2 (${label})`, () => {
      let tango_made: SharedDatabase;
      let django_made: SharedDatabase;
      let django: Django;

      beforeAll(async () => {
        tango_made = await make_db(store, 'tango_made');
        django_made = await make_db(store, 'django_made');
        const maker = django_for(zone, django_made);
        await maker.one({ op: 'migrate' });
        await maker.close();
        tango_settings(zone, tango_made);
        expect(await tango_migrate()).toContain('Applying sessions.0001_initial... OK');
        tango_settings(zone, tango_made, { django_made: django_made.tango });
        django = django_for(zone, tango_made);
      });

      afterAll(async () => {
        await django?.close();
        await close_connections();
        await tango_made?.drop();
        await django_made?.drop();
      });

      test("it is the table Django's migrate makes: columns, types, indexes and their names", async () => {
        expect(await session_table_shape(get_connection(), tango_made)).toEqual(
          await session_table_shape(get_connection('django_made'), django_made));
      });

      test("Django's migrate --fake-initial adopts it without touching it", async () => {
        const before = await session_table_shape(get_connection(), tango_made);
        const r = await django.one({ op: 'migrate', fake_initial: true });
        expect(r.stdout).toContain('Applying sessions.0001_initial... FAKED');
        expect(await session_table_shape(get_connection(), tango_made)).toEqual(before);
      });

      test('Django writes and reads sessions in it, and Tango reads what Django wrote', async () => {
        const tango_key = await tango_create(DATA, T, 120);
        const [created, loaded] = await django.run([
          { op: 'session_create', data: { by: 'django' }, expiry: 120, now: T },
          { op: 'session_load', session_key: tango_key, now: T + 1 },
        ]);
        expect(must(loaded).data_json).toBe(py_json_dumps({ ...DATA, _session_expiry: 120 }));
        const back = await tango_load(must(created).session_key as string, T + 1);
        expect(back).toMatchObject({ data: { by: 'django', _session_expiry: 120 }, expiry_age: 120 });
      });
    });
  }
}
