/**
 * @tango/core/db: one connection per alias, rebuilt when its settings change,
 * and Django's datetime conventions (django/db/backends/sqlite3/operations.py) for SQLite text.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configure } from '../conf';
import {
  close_connections, db_datetime, db_datetime_candidates, db_datetime_lower_bound, from_db_datetime, get_connection,
  is_connection_error, is_integrity_error, vendor,
} from '../db';
import { ImproperlyConfigured } from '../errors';

const base = { SECRET_KEY: 's' };
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-core-db-'));
});
afterEach(async () => {
  await close_connections();
  fs.rmSync(dir, { recursive: true, force: true });
});

function sqlite(extra: Record<string, unknown> = {}): void {
  configure({ ...base, DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'sub.sqlite3' } }, ...extra }, dir);
}

test('a SQLite NAME is relative to BASE_DIR, and the connection is reused', async () => {
  sqlite();
  const knex = get_connection();
  await knex.raw('CREATE TABLE t (x integer)');
  expect(fs.existsSync(path.join(dir, 'sub.sqlite3'))).toBe(true);
  expect(get_connection('default')).toBe(knex);
  expect(vendor(knex)).toBe('sqlite');
});

test('the connection is rebuilt when settings that shape it change, kept otherwise', () => {
  sqlite();
  const first = get_connection();
  sqlite({ SESSION_COOKIE_AGE: 60 });
  expect(get_connection()).toBe(first);
  sqlite({ USE_TZ: false, TIME_ZONE: 'Asia/Shanghai' });
  expect(get_connection()).not.toBe(first);
});

test("an unknown alias is Django's ConnectionDoesNotExist message", () => {
  sqlite();
  expect(() => get_connection('other')).toThrow(new ImproperlyConfigured("The connection 'other' doesn't exist."));
});

test('a refused PostgreSQL connection fails at once with the driver error', async () => {
  configure({ ...base, DATABASES: { default: { ENGINE: 'postgresql', HOST: '127.0.0.1', PORT: 1, NAME: 'test', USER: 'postgres' } } }, dir);
  const started = Date.now();
  const err = await get_connection().raw('SELECT 1').then(() => null, (e: unknown) => e);
  expect((err as Error).message).toBe('connect ECONNREFUSED 127.0.0.1:1');
  expect(is_connection_error(err)).toBe(true);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('SQLite datetimes are naive text: UTC under USE_TZ, TIME_ZONE otherwise', () => {
  const d = new Date(Date.UTC(2023, 10, 28, 22, 13, 20));
  sqlite();
  expect(db_datetime(d, get_connection())).toBe('2023-11-28 22:13:20');
  expect(db_datetime(new Date(d.getTime() + 123), get_connection())).toBe('2023-11-28 22:13:20.123000');
  expect(from_db_datetime('2023-11-28 22:13:20', get_connection())).toEqual(d);
  sqlite({ USE_TZ: false, TIME_ZONE: 'Asia/Shanghai' });
  expect(db_datetime(d, get_connection())).toBe('2023-11-29 06:13:20');
  expect(from_db_datetime('2023-11-29 06:13:20', get_connection())).toEqual(d);
});

test('a naive time in the repeated DST hour has two readings; a lower bound never passes a live instant', () => {
  sqlite({ USE_TZ: false, TIME_ZONE: 'America/New_York' });
  const knex = get_connection();
  expect(db_datetime_candidates('2023-11-05 01:30:00', knex)).toEqual([
    new Date(Date.UTC(2023, 10, 5, 5, 30)), new Date(Date.UTC(2023, 10, 5, 6, 30)),
  ]);
  expect(db_datetime_candidates('2023-11-05 03:30:00', knex)).toEqual([new Date(Date.UTC(2023, 10, 5, 8, 30))]);
  expect(db_datetime_candidates('2024-03-10 03:30:00', knex)).toEqual([new Date(Date.UTC(2024, 2, 10, 7, 30))]);
  // Every instant after `now` is written as text >= the bound.
  for (let m = -180; m <= 180; m += 7) {
    const now = new Date(Date.UTC(2023, 10, 5, 6) + m * 60_000);
    const bound = db_datetime_lower_bound(now, knex) as string;
    for (let ahead = 1; ahead <= 7200; ahead += 97) {
      expect([m, ahead, (db_datetime(new Date(now.getTime() + ahead * 1000), knex) as string) >= bound]).toEqual([m, ahead, true]);
    }
  }
  // Far from a change it is just now.
  const july = new Date(Date.UTC(2023, 6, 1, 12));
  expect(db_datetime_lower_bound(july, knex)).toBe(db_datetime(july, knex));
});

test('integrity errors are recognised on SQLite', async () => {
  sqlite();
  const knex = get_connection();
  await knex.raw('CREATE TABLE u (k varchar(40) PRIMARY KEY)');
  await knex('u').insert({ k: 'a' });
  const err = await knex('u').insert({ k: 'a' }).then(() => null, (e: unknown) => e);
  expect(is_integrity_error(err)).toBe(true);
  expect(is_connection_error(err)).toBe(false);
});

describe("SQLite OPTIONS['init_command'] (Django 5.1)", () => {
  test('runs on each new connection: WAL journal mode for a file database', async () => {
    configure({ ...base, DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'wal.sqlite3', OPTIONS: { init_command: 'PRAGMA journal_mode=WAL' } } } }, dir);
    const knex = get_connection();
    expect(await knex.raw('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    await knex.raw('CREATE TABLE t (x integer)');
    await knex('t').insert({ x: 1 });
    expect(fs.existsSync(path.join(dir, 'wal.sqlite3-wal'))).toBe(true);
    // A rebuilt connection runs it again (WAL sticks to the file; synchronous is per connection).
    configure({ ...base, DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'wal.sqlite3', OPTIONS: { init_command: 'PRAGMA synchronous=NORMAL' } } } }, dir);
    expect(await get_connection().raw('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
  });

  test('without it the connection keeps SQLite defaults', async () => {
    sqlite();
    expect(await get_connection().raw('PRAGMA journal_mode')).toEqual([{ journal_mode: 'delete' }]);
  });

  test('a failing init_command fails the query with SQLite\'s own message, within TIMEOUT', async () => {
    configure({ ...base, DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'bad.sqlite3', TIMEOUT: 300, OPTIONS: { init_command: 'PRAGMA nonsense syntax here' } } } }, dir);
    const started = Date.now();
    // Not `.rejects.toThrow`: better-sqlite3's error class may come from the realm of an earlier test file in this worker.
    const outcome = await Promise.resolve(get_connection().raw('SELECT 1')).then((rows: unknown) => ({ rows }), (err: unknown) => ({ err: String(err) }));
    expect(outcome).toEqual({ err: expect.stringMatching(/syntax error/) });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a non-string init_command stops configure with one line naming it', () => {
    expect(() => configure({ ...base, DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'x.sqlite3', OPTIONS: { init_command: 42 } } } }, dir))
      .toThrow(/DATABASES\.default\.OPTIONS\.init_command/);
  });
});
