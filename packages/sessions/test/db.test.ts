/**
 * The db engine: the shared contract on SQLite and PostgreSQL under several
 * USE_TZ / TIME_ZONE combinations, then what only it does: the bytes it
 * leaves in django_session (django/contrib/sessions/backends/db.py,
 * django/core/signing.py, and DateTimeField under USE_TZ), rows written by
 * Django, expiry around DST changes, clear_expired.
 */
import { configure, settings } from '../../core/conf';
import { freeze_time } from '../../core/clock';
import { close_connections, get_connection } from '../../core/db';
import { run_statement, statement } from '../../core/db_statements';
import { loads } from '../../core/signing';
import { describe_with } from '../../core/testing/services';
import { up } from '../migrations/0001_initial';
import { SessionStore } from '../backends/db';
import { CreateError } from '../exceptions';
import { describe_session_engine, TEST_SECRET_KEY } from './contract';
import { postgres_database, sqlite_database, type TestDatabase } from './db_helpers';

const T = 1700000000; // Tue, 14 Nov 2023 22:13:20 GMT: the reference's frozen time
const FOO_BAR = 'eyJmb28iOiJiYXIifQ:1r31eq:4oPGY5wdWjXpNxPeUP6zVLoClceQgN6FoGSindagTXo';
const AUTH_DICT = {
  _auth_user_id: '1',
  _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
  _auth_user_hash: '0'.repeat(64),
};
const AUTH_DATA = '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOo2oBAo1QIAIvYyTQ:1r31eq:LlQ8QkR3jGd7uVgqJpGtZYtXETOWtcdNO0dNrCyoboY';
const SALT = 'django.contrib.sessions.SessionStore';

interface Zone {
  USE_TZ: boolean;
  TIME_ZONE: string;
  /** What Django writes into a SQLite datetime column for T + 14 days and for T + 1 hour. */
  sqlite_expire: string;
  sqlite_plus_hour: string;
}

// Worked out from Django's rules (django/db/backends/sqlite3/operations.py adapt_datetimefield_value): UTC text under USE_TZ, local wall time otherwise.
const ZONES: Zone[] = [
  { USE_TZ: true, TIME_ZONE: 'Asia/Shanghai', sqlite_expire: '2023-11-28 22:13:20', sqlite_plus_hour: '2023-11-14 23:13:20' },
  { USE_TZ: false, TIME_ZONE: 'Asia/Shanghai', sqlite_expire: '2023-11-29 06:13:20', sqlite_plus_hour: '2023-11-15 07:13:20' },
  { USE_TZ: true, TIME_ZONE: 'America/New_York', sqlite_expire: '2023-11-28 22:13:20', sqlite_plus_hour: '2023-11-14 23:13:20' },
  { USE_TZ: false, TIME_ZONE: 'America/New_York', sqlite_expire: '2023-11-28 17:13:20', sqlite_plus_hour: '2023-11-14 18:13:20' },
];

function zone_label(z: Zone): string {
  return `USE_TZ=${z.USE_TZ}, ${z.TIME_ZONE}`;
}

async function create_table(): Promise<void> {
  await up(get_connection());
}

async function raw_row(key: string): Promise<{ session_data: string; expire_date: unknown } | undefined> {
  return get_connection()('django_session').where('session_key', key).first();
}

async function reopen(key: string | null): Promise<SessionStore> {
  const s = new SessionStore(key);
  await s.preload();
  return s;
}

function store_suites(store: 'SQLite' | 'PostgreSQL', make: () => TestDatabase): void {
  const pg = store === 'PostgreSQL';

  for (const zone of ZONES) {
    const db = make();
    describe_session_engine(`db on ${store}, ${zone_label(zone)}`, {
      settings: { SESSION_ENGINE: 'db', DATABASES: { default: db.settings }, USE_TZ: zone.USE_TZ, TIME_ZONE: zone.TIME_ZONE },
      before: async () => {
        await db.create();
        await create_table();
      },
      after: async () => {
        await close_connections();
        await db.drop();
      },
    });
  }

  for (const zone of ZONES) {
    describe(`db engine on ${store}, ${zone_label(zone)}`, () => {
      const db = make();
      let unfreeze: () => void = () => undefined;
      const freeze = (seconds: number) => {
        unfreeze();
        unfreeze = freeze_time(seconds * 1000);
      };

      beforeAll(async () => {
        configure({
          SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'db', DATABASES: { default: db.settings },
          USE_TZ: zone.USE_TZ, TIME_ZONE: zone.TIME_ZONE,
        });
        await db.create();
        await create_table();
      });
      afterAll(async () => {
        await close_connections();
        await db.drop();
      });
      beforeEach(async () => {
        await get_connection()('django_session').del();
      });
      afterEach(() => {
        unfreeze();
        unfreeze = () => undefined;
      });

      test("writes Django's session_data and expire_date (48)", async () => {
        freeze(T);
        const s = new SessionStore();
        s.set('foo', 'bar');
        await s.save();
        const row = await raw_row(s.session_key as string);
        expect(row?.session_data).toBe(FOO_BAR);
        if (pg) {
          expect(row?.expire_date).toEqual(new Date((T + 1209600) * 1000));
          const text = await get_connection().raw(
            `SELECT to_char(expire_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS utc FROM django_session`);
          expect(text.rows[0].utc).toBe('2023-11-28 22:13:20');
        } else {
          expect(row?.expire_date).toBe(zone.sqlite_expire);
        }
      });

      test('what it writes decodes with Django’s format, compressed included (django/core/signing.py)', async () => {
        freeze(T);
        const s = new SessionStore();
        s.update(AUTH_DICT);
        await s.save();
        const row = await raw_row(s.session_key as string);
        expect(row?.session_data).toBe(AUTH_DATA);
        expect(loads(row?.session_data as string, { salt: SALT })).toEqual(AUTH_DICT);
      });

      test('a PostgreSQL connection runs in UTC under USE_TZ, in TIME_ZONE otherwise', async () => {
        if (!pg) return;
        const r = await get_connection().raw('SHOW TIME ZONE');
        expect(r.rows[0].TimeZone).toBe(zone.USE_TZ ? 'UTC' : zone.TIME_ZONE);
      });

      test('loads a row Django wrote, until it expires (strictly after now)', async () => {
        const key = 'djangowrote0000000000000000abcde';
        // Django binds naive local text under USE_TZ=false (PostgreSQL reads it
        // in the connection's zone) and an aware UTC value otherwise.
        const expire = pg ? (zone.USE_TZ ? '2023-11-14 23:13:20+00:00' : zone.sqlite_plus_hour) : zone.sqlite_plus_hour;
        const knex = get_connection();
        await knex.raw(
          `INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ${pg ? '?::timestamptz' : '?'})`,
          [key, FOO_BAR, expire]);
        freeze(T);
        const s = await reopen(key);
        expect(s.get('foo')).toBe('bar');
        expect(s.session_key).toBe(key);
        freeze(T + 3599);
        expect((await reopen(key)).get('foo')).toBe('bar');
        freeze(T + 3600);
        const gone = await reopen(key);
        expect(gone.get('foo')).toBeUndefined();
        expect(gone.session_key).toBeNull();
        // Expiring exactly now: neither loaded nor cleared (Django: > now to load, < now to clear).
        expect(await SessionStore.clear_expired()).toBe(0);
        expect(await new SessionStore().exists(key)).toBe(true);
        freeze(T + 3601);
        expect(await SessionStore.clear_expired()).toBe(1);
        expect(await new SessionStore().exists(key)).toBe(false);
      });

      test('reads an expire_date to the millisecond, microseconds and all (PostgreSQL)', async () => {
        if (!pg) return;
        const key = 'djangowrote0000000000000000micro';
        await get_connection().raw(
          'INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?::timestamptz)',
          [key, FOO_BAR, '2023-11-14 22:13:20.123456+00:00']);
        freeze(T + 0.122);
        expect((await reopen(key)).get('foo')).toBe('bar');
        freeze(T + 0.124);
        expect((await reopen(key)).get('foo')).toBeUndefined();
      });

      test('exists() ignores expiry', async () => {
        freeze(T);
        const s = new SessionStore();
        s.set('x', 1);
        s.set_expiry(60);
        await s.save();
        freeze(T + 120);
        expect(await s.exists(s.session_key as string)).toBe(true);
        expect((await reopen(s.session_key)).has('x')).toBe(false);
      });

      test('save(must_create) on an existing key is CreateError; create() moves on', async () => {
        const s = new SessionStore();
        await s.save();
        const dup = new SessionStore(s.session_key);
        dup.clear(); // data without loading, as must_create never loads
        dup.set('x', 1);
        await expect(dup.save(true)).rejects.toThrow(CreateError);
        await dup.create();
        expect(dup.session_key).not.toBe(s.session_key);
      });

      test('a key no store would hold loads as an empty session without an error', async () => {
        for (const key of ['x'.repeat(620), 'abcdefgh\0ijklmnop', "abcdefgh'; DROP TABLE django_session; --"]) {
          const s = new SessionStore(key);
          expect(await s.load()).toEqual({});
          expect(s.session_key).toBeNull();
          expect(await s.exists(key)).toBe(false);
        }
      });

      test('clear_expired removes exactly the expired rows and counts them', async () => {
        freeze(T);
        const live: string[] = [];
        const dead: string[] = [];
        for (const [expiry, into] of [[-3600, dead], [-1, dead], [3600, live], [1, live], [0, live]] as const) {
          const s = new SessionStore();
          s.set('n', expiry);
          // 0 means "until the browser closes": the row still gets now + SESSION_COOKIE_AGE.
          s.set_expiry(expiry === 0 ? 0 : new Date((T + expiry) * 1000));
          await s.save();
          into.push(s.session_key as string);
        }
        expect(await SessionStore.count_expired()).toBe(2);
        expect(await SessionStore.clear_expired()).toBe(2);
        const left = (await get_connection()('django_session').select('session_key')).map((r: { session_key: string }) => r.session_key);
        expect(left.sort()).toEqual([...live].sort());
        expect(await SessionStore.clear_expired()).toBe(0);
      });

      // Only zones with DST have anything to show here.
      if (zone.TIME_ZONE === 'America/New_York') describe('around DST changes (a session with an hour left is never refused or cleared; an expired one never accepted)', () => {
        // America/New_York: clocks go back at 2023-11-05 06:00Z (01:00-02:00 local happens twice)
        // and forward at 2024-03-10 07:00Z (02:00-03:00 local never happens).
        const transitions = [Date.UTC(2023, 10, 5, 6), Date.UTC(2024, 2, 10, 7)].map((ms) => ms / 1000);
        const expiries: number[] = [];
        for (const t of transitions) for (let m = -150; m <= 150; m += 10) expiries.push(t + m * 60 + (m % 20 === 0 ? 0 : 17));

        async function check(save_at: number, expiry_at: number, set: (s: SessionStore) => void): Promise<void> {
          freeze(save_at);
          const s = new SessionStore();
          s.set('v', 1);
          set(s);
          await s.save();
          const key = s.session_key as string;
          const where = `expiry at ${new Date(expiry_at * 1000).toISOString()}`;

          // One hour left, and (stronger) one minute left: loaded, and never cleared.
          for (const left of [3600, 60]) {
            freeze(expiry_at - left);
            expect([where, left, (await reopen(key)).get('v')]).toEqual([where, left, 1]);
            expect([where, left, await SessionStore.clear_expired()]).toEqual([where, left, 0]);
          }

          freeze(expiry_at + 1);
          const expired = await reopen(key);
          expect([where, expired.get('v'), expired.session_key]).toEqual([where, undefined, null]);

          freeze(expiry_at + 3601);
          expect([where, await SessionStore.clear_expired()]).toEqual([where, 1]);
        }

        test('with set_expiry(seconds)', async () => {
          for (const x of expiries) await check(x - 7200, x, (s) => s.set_expiry(7200));
        });

        test('with the default SESSION_COOKIE_AGE', async () => {
          const age = settings.SESSION_COOKIE_AGE;
          for (const x of expiries) await check(x - age, x, () => undefined);
        });
      });
    });
  }

  describe(`clear_expired in batches on ${store}`, () => {
    const db = make();
    beforeAll(async () => {
      configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'db', DATABASES: { default: db.settings } });
      await db.create();
      await create_table();
    });
    afterAll(async () => {
      await close_connections();
      await db.drop();
    });

    test('more rows than one batch all go, and the live ones stay', async () => {
      const knex = get_connection();
      const past = pg ? new Date(Date.now() - 86_400_000) : '2000-01-01 00:00:00';
      const future = pg ? new Date(Date.now() + 86_400_000) : '2999-01-01 00:00:00';
      const rows = Array.from({ length: 10_050 }, (_, i) => ({
        session_key: `k${String(i).padStart(31, '0')}`, session_data: 'x', expire_date: i < 10_010 ? past : future,
      }));
      await knex.batchInsert('django_session', rows, 400);
      expect(await SessionStore.clear_expired()).toBe(10_010);
      expect(await knex('django_session').count({ n: '*' })).toEqual([{ n: pg ? '40' : 40 }]);
    });

    // The purge picked the row while it was expired; the save that extended it commits while the DELETE waits on its lock.
    if (pg) test('an expired row that a concurrent transaction extends stays', async () => {
      const knex = get_connection();
      await knex('django_session').del();
      const [saved, other] = ['s'.repeat(32), 'o'.repeat(32)];
      const past = new Date(Date.now() - 86_400_000);
      await knex('django_session').insert([saved, other].map((session_key) => ({ session_key, session_data: 'x', expire_date: past })));
      const trx = await knex.transaction();
      try {
        const { rows } = await trx.raw<{ rows: { pid: number }[] }>('SELECT pg_backend_pid() AS pid');
        await trx('django_session').where('session_key', saved).update({ expire_date: new Date(Date.now() + 86_400_000) });
        let settled = false;
        const purge = SessionStore.clear_expired().finally(() => (settled = true));
        while (!settled) {
          const waiting = await knex.raw<{ rows: { n: number }[] }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))', [rows[0].pid]);
          if (waiting.rows[0].n > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await trx.commit();
        expect(await purge).toBe(1);
      } finally {
        if (!trx.isCompleted()) await trx.rollback();
      }
      expect((await knex('django_session').select('session_key')).map((r: { session_key: string }) => r.session_key)).toEqual([saved]);
    });
  });
}

store_suites('SQLite', sqlite_database);
describe_with('TEST_DATABASE_URL')('with TEST_DATABASE_URL', (url) => {
  store_suites('PostgreSQL', () => postgres_database(url));
});

describe_with('TEST_DATABASE_URL')('prepared statements on PostgreSQL', (url) => {
  const db = postgres_database(url);
  beforeAll(() => db.create());
  afterAll(async () => {
    await close_connections();
    await db.drop();
  });

  it.each([
    ['by default', {}, true],
    ['not with OPTIONS.prepare_threshold = null (a pooler such as pgbouncer in transaction mode)', { prepare_threshold: null }, false],
  ])('loads and saves run as named prepared statements %s', async (_label, extra, named) => {
    const base = db.settings as { OPTIONS?: Record<string, unknown> };
    // One pooled connection, so the statements it prepared are visible in pg_prepared_statements.
    configure({
      SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'db',
      DATABASES: { default: { ...db.settings, OPTIONS: { ...base.OPTIONS, ...extra }, POOL: { min: 0, max: 1 } } },
    });
    await create_table();
    const s = new SessionStore();
    s.set('n', 1);
    await s.save();
    const again = await reopen(s.session_key);
    again.set('n', 2);
    await again.save();
    expect((await reopen(s.session_key)).get('n')).toBe(2);
    // Asked on the statements' own (single) connection: prepared statements belong to the connection that made them.
    const probe = statement("SELECT name FROM pg_prepared_statements WHERE name LIKE 'tango\\_%' AND name <> ?");
    const { rows } = await run_statement<{ name: string }>(get_connection(), probe, [probe.name]);
    expect(rows.length > 0).toBe(named);
    await close_connections();
  });
});

describe('SQLite: statements never run inside a transaction another caller holds open', () => {
  const db = sqlite_database();
  beforeAll(async () => {
    await db.create();
  });
  afterAll(async () => {
    await close_connections();
    await db.drop();
  });

  it('a load while a transaction holds the one connection waits for it, and reads what was committed', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'db', DATABASES: { default: db.settings } });
    await create_table();
    const s = new SessionStore();
    s.set('who', 'committed');
    await s.save();
    const key = s.session_key as string;
    const other = new SessionStore();
    other.set('who', 'uncommitted');
    const uncommitted = other.encode({ who: 'uncommitted' });

    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let in_trx!: () => void;
    const started = new Promise<void>((resolve) => { in_trx = resolve; });
    const trx_done = get_connection().transaction(async (trx) => {
      await trx('django_session').where('session_key', key).update({ session_data: uncommitted });
      in_trx();
      await held;
      throw new Error('roll back');
    }).catch(() => undefined);
    await started;

    let loaded: string | undefined;
    const load = reopen(key).then((r) => { loaded = r.get('who') as string; });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Still waiting for the connection: it did not read inside the open transaction.
    expect(loaded).toBeUndefined();
    release();
    await trx_done;
    await load;
    expect(loaded).toBe('committed');
  });
});
