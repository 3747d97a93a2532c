/**
 * Database connections (django.db.connections) on knex.
 *
 * One knex instance per alias of settings.DATABASES, created on first use and
 * dropped when the settings it was built from change. knex and its drivers
 * (pg, better-sqlite3) are required only here and only when a connection is
 * first asked for, so an app on signed cookies never loads a database driver.
 *
 * Datetimes follow Django's backends (django.db.backends.sqlite3.operations,
 * django.db.backends.postgresql.base): SQLite stores naive text, in UTC when
 * USE_TZ is true and in TIME_ZONE otherwise; PostgreSQL stores
 * `timestamp with time zone` and the connection's time zone is UTC or TIME_ZONE.
 */
import * as path from 'node:path';
import type { Knex } from 'knex';
import { settings, on_settings_changed, type Settings, type DatabaseSettings } from './conf';
import { ImproperlyConfigured } from './errors';
import { get_logger } from './log';
import { StatementPool } from './pg_statement_pool';
import { on_shutdown } from './shutdown';
import { naive_instant, naive_string, naive_wall_ms, utc_offset_at, utc_offset_ms } from './timezone';

export type { Knex } from 'knex';
export type Vendor = 'sqlite' | 'postgresql';

/** How long to wait for a connection or a statement when DATABASES[alias].TIMEOUT is unset. */
export const DEFAULT_DB_TIMEOUT_MS = 5000;

interface Entry {
  knex: Knex;
  fingerprint: string;
  /** The settings object the fingerprint was last checked against: the same object needs no new check. */
  checked: Settings;
  /** How db_statements reaches the same database (see statement_driver). */
  driver: StatementDriver;
}

/** The better-sqlite3 calls db_statements makes (all public better-sqlite3 API). */
export interface SqliteDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
}

export interface SqliteStatement {
  readonly reader: boolean;
  all(...bindings: unknown[]): unknown[];
  get(...bindings: unknown[]): unknown;
  run(...bindings: unknown[]): { changes: number };
}

/**
 * The database behind a knex instance, for the session engine's few fixed
 * statements (db_statements), through the drivers' public APIs only:
 *  - PostgreSQL: a pg.Pool of its own, built from the same settings (time
 *    zone, search_path, timeouts, POOL.max) and made on first use;
 *  - SQLite: knex's one connection, as knex's documented `pool.afterCreate`
 *    hook hands it over (knex gives SQLite a single connection; a second one
 *    would wait on the file lock while blocking the event loop).
 */
export type StatementDriver =
  | { vendor: 'postgresql'; pool(): StatementPool; prepared: boolean; end(): Promise<void> }
  | { vendor: 'sqlite'; connection(): SqliteDatabase | undefined };

const connections = new Map<string, Entry>();
/** Destroys started by a settings change; close_connections() waits for them too. */
const closing = new Set<Promise<void>>();

function database_settings(alias: string, s: Settings = settings): DatabaseSettings {
  const db = s.DATABASES[alias];
  // Django: django.utils.connection.ConnectionDoesNotExist
  if (!db) throw new ImproperlyConfigured(`The connection '${alias}' doesn't exist.`);
  return db;
}

/** Everything a connection was built from: when any of it changes, the connection is stale. */
function fingerprint(alias: string, s: Settings): string {
  return JSON.stringify([s.DATABASES[alias] ?? null, s.USE_TZ, s.TIME_ZONE, s.BASE_DIR]);
}

export function vendor_of_engine(engine: string): Vendor {
  if (/(^|\.)sqlite3$/.test(engine)) return 'sqlite';
  if (/(^|\.)(postgresql|postgres)$/.test(engine)) return 'postgresql';
  throw new ImproperlyConfigured(`Unsupported database ENGINE '${engine}': expected 'sqlite3' or 'postgresql'.`);
}

/** Driver options from Django's DATABASES[alias].OPTIONS (search_path goes to knex). */
function options_of(db: DatabaseSettings): Record<string, unknown> {
  const o = (db as Record<string, unknown>).OPTIONS;
  return o && typeof o === 'object' ? { ...(o as Record<string, unknown>) } : {};
}

const logger = get_logger('tango.db');

/**
 * knex logs to console.log by default; send it to our logger instead. Its
 * "Acquire connection error" duplicates an error the caller receives anyway,
 * so it is debug-level: a failing command still prints exactly one line.
 */
const knex_log = {
  warn: (m: unknown) => (String(m).startsWith('Acquire connection error') ? logger.debug : logger.warn)(String(m)),
  error: (m: unknown) => logger.error(String(m)),
  deprecate: (m: unknown) => logger.warn(String(m)),
  debug: (m: unknown) => logger.debug(typeof m === 'string' ? m : JSON.stringify(m)),
};

function build_config(alias: string, s: Settings): { config: Knex.Config; driver: StatementDriver } {
  const db = database_settings(alias, s);
  const timeout = db.TIMEOUT ?? DEFAULT_DB_TIMEOUT_MS;
  const opts = options_of(db);
  const vendor = vendor_of_engine(db.ENGINE);
  if (vendor === 'sqlite') {
    if (!db.NAME) {
      // Django's message for the same mistake (django.db.backends.sqlite3.base).
      throw new ImproperlyConfigured(`settings.DATABASES['${alias}'] is improperly configured. Please supply the NAME value.`);
    }
    const special = db.NAME === ':memory:' || db.NAME.startsWith('file:');
    let raw: SqliteDatabase | undefined;
    const driver: StatementDriver = { vendor: 'sqlite', connection: () => (raw?.open ? raw : undefined) };
    const config: Knex.Config = {
      client: 'better-sqlite3',
      log: knex_log,
      connection: { filename: special ? db.NAME : path.resolve(s.BASE_DIR, db.NAME), options: opts },
      useNullAsDefault: true,
      acquireConnectionTimeout: timeout,
      pool: {
        // knex gives SQLite a single connection; a second writer waits on the file lock for `timeout`.
        afterCreate(conn: { pragma(sql: string): unknown; exec(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          try {
            conn.pragma(`busy_timeout = ${Math.floor(timeout)}`);
            // Django 5.1's OPTIONS['init_command'], run on every new connection (e.g. 'PRAGMA journal_mode=WAL').
            if (typeof opts.init_command === 'string' && opts.init_command.trim()) conn.exec(opts.init_command);
            raw = conn as unknown as SqliteDatabase;
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    };
    return { config, driver };
  }
  // PostgreSQL. The session time zone decides how timestamptz values read back
  // as text and how naive literals are interpreted: Django sets it to UTC under
  // USE_TZ and to TIME_ZONE otherwise (DatabaseWrapper.timezone_name).
  // prepare_threshold is psycopg 3's name, which Django passes through: None turns prepared statements off.
  const { search_path, options: extra_options, prepare_threshold, ...driver_options } = opts;
  const tz = s.USE_TZ ? 'UTC' : s.TIME_ZONE;
  const startup = [`-c TimeZone=${tz}`, typeof extra_options === 'string' ? extra_options : ''].filter(Boolean).join(' ');
  const target: Record<string, unknown> = db.URL
    ? { connectionString: db.URL }
    : {
      host: db.HOST || 'localhost',
      port: db.PORT === undefined || db.PORT === '' ? 5432 : Number(db.PORT),
      database: db.NAME,
      user: db.USER,
      password: db.PASSWORD,
    };
  const connection = {
    ...driver_options,
    ...target,
    options: startup,
    // A dead or partitioned server fails fast instead of hanging a request:
    // connect, server-side statement and client-side read all give up after `timeout`.
    connectionTimeoutMillis: timeout,
    statement_timeout: timeout,
    query_timeout: timeout,
    keepAlive: true,
  };
  const config: Knex.Config = {
    client: 'pg',
    log: knex_log,
    connection: connection as Knex.PgConnectionConfig,
    acquireConnectionTimeout: timeout,
    pool: {
      min: db.POOL?.min ?? 0,
      max: db.POOL?.max ?? 10,
      createTimeoutMillis: timeout,
      // Report the driver's own error (ECONNREFUSED, bad password) at once instead of retrying until the timeout.
      propagateCreateError: true,
    },
  };
  if (search_path !== undefined) config.searchPath = search_path as string | string[];
  let pool: StatementPool | undefined;
  const driver: StatementDriver = {
    vendor: 'postgresql',
    // prepare_threshold: null (psycopg 3's way, which Django passes through) turns named statements off.
    prepared: prepare_threshold !== null,
    pool: () => (pool ??= pg_pool(connection, db.POOL?.max ?? 10, search_path as string | string[] | undefined)),
    // Only a pool that was made has connections to close; it is forgotten, so ending twice ends it once.
    end: () => {
      const p = pool;
      pool = undefined;
      return p === undefined ? Promise.resolve() : p.end();
    },
  };
  return { config, driver };
}

/**
 * The pg.Pool for fixed statements. Its connections start as knex's do (the
 * same startup options, so the same time zone), with search_path among those
 * options, quoted as knex quotes it, so no statement waits for a SET; and its
 * waiters give up after the same timeout (connectionTimeoutMillis bounds both
 * connecting and waiting for a free connection).
 */
function pg_pool(connection: Record<string, unknown>, max: number, search_path: string | string[] | undefined): StatementPool {
  // Required lazily: see the module comment.
  const { Pool } = require('pg') as typeof import('pg');
  let options = String(connection.options ?? '');
  if (search_path !== undefined) {
    const value = (Array.isArray(search_path) ? search_path : [search_path]).map((p) => `"${String(p).replace(/"/g, '""')}"`).join(',');
    // libpq's options string: a backslash escapes a space or a backslash inside one -c value.
    options = `${options} -c search_path=${value.replace(/[\\ ]/g, (c) => `\\${c}`)}`.trim();
  }
  const pool = new Pool({ ...connection, options, max, idleTimeoutMillis: 10_000 });
  // An idle connection that breaks (server restart) is dropped by the pool; without a listener the error would be thrown.
  pool.on('error', (err) => logger.warn(`PostgreSQL connection dropped from the statement pool: ${err.message}`));
  return new StatementPool(pool);
}

/** The knex instance for `alias` (django.db.connections[alias]), created on first use. */
export function get_connection(alias = 'default'): Knex {
  const entry = connections.get(alias);
  // Settings objects are frozen and replaced whole on change, so identity is enough on the hot path.
  if (entry && entry.checked === settings) return entry.knex;
  const fp = fingerprint(alias, settings);
  if (entry && entry.fingerprint === fp) {
    entry.checked = settings;
    return entry.knex;
  }
  if (entry) drop(alias, entry);
  const { config, driver } = build_config(alias, settings);
  // Required lazily: see the module comment.
  const knex = (require('knex') as { default: (c: Knex.Config) => Knex }).default(config);
  connections.set(alias, { knex, fingerprint: fp, checked: settings, driver });
  drivers.set(knex, driver);
  return knex;
}

const drivers = new WeakMap<Knex, StatementDriver>();

/** How db_statements reaches the database behind `conn` (a knex instance from get_connection). */
export function statement_driver(conn: Knex): StatementDriver {
  const driver = drivers.get(conn);
  if (driver === undefined) throw new ImproperlyConfigured('Fixed statements run only on a connection from get_connection().');
  return driver;
}

/**
 * Whether fixed statements (db_statements) run as named server-side prepared
 * statements on this connection: yes on PostgreSQL unless
 * `OPTIONS: { prepare_threshold: null }` (as with psycopg 3 under Django),
 * which a pooler without prepared-statement support (pgbouncer before 1.21 in
 * transaction mode) needs.
 */
export function uses_prepared_statements(conn: Knex): boolean {
  const driver = drivers.get(conn);
  return driver?.vendor === 'postgresql' && driver.prepared;
}

function drop(alias: string, entry: Entry): void {
  connections.delete(alias);
  const p: Promise<void> = Promise.all([entry.knex.destroy(), entry.driver.vendor === 'postgresql' ? entry.driver.end() : undefined])
    .then(() => undefined, () => undefined)
    .finally(() => closing.delete(p));
  closing.add(p);
}

/** Closes every connection (end of a command, end of a test file). */
export async function close_connections(): Promise<void> {
  for (const [alias, entry] of [...connections]) drop(alias, entry);
  await Promise.all([...closing]);
}

on_settings_changed((s) => {
  for (const [alias, entry] of [...connections]) {
    if (entry.fingerprint !== fingerprint(alias, s)) drop(alias, entry);
  }
});

/** 'sqlite' or 'postgresql', from the knex client behind `conn`. */
export function vendor(conn: Knex): Vendor {
  const dialect = (conn.client as { dialect?: string }).dialect;
  if (dialect === 'sqlite3' || dialect === 'better-sqlite3') return 'sqlite';
  if (dialect === 'postgresql' || dialect === 'pg') return 'postgresql';
  throw new ImproperlyConfigured(`Unsupported knex dialect '${String(dialect)}'.`);
}

/** The zone naive SQLite datetimes are written in (Django: connection.timezone). */
function sqlite_zone(): string {
  return settings.USE_TZ ? 'UTC' : settings.TIME_ZONE;
}

/**
 * The value Django would bind for a datetime column. SQLite: naive text
 * `YYYY-MM-DD HH:MM:SS[.ffffff]`, as str(datetime) writes it
 * (DatabaseOperations.adapt_datetimefield_value), which sorts correctly as text.
 * PostgreSQL: the instant itself, as ISO 8601 text in UTC, so the timestamptz
 * column holds the same instant whatever the session time zone. (pg's own
 * formatting of a Date, in the process's local time with an offset, costs
 * about ten times toISOString. Measured: bench/NOTES.md.)
 */
export function db_datetime(d: Date, conn: Knex): string {
  return vendor(conn) === 'sqlite' ? naive_string(d, sqlite_zone()) : d.toISOString();
}

/**
 * Every instant a datetime column value can denote (the reverse of
 * db_datetime). One, except for naive local text written in the hour a DST
 * change repeats (USE_TZ=false on SQLite): then both readings, earlier first.
 * A wall time that never happened (skipped by DST) reads as parse_naive reads it.
 */
export function db_datetime_candidates(value: unknown, conn: Knex): Date[] {
  if (typeof value !== 'string') {
    if (typeof value === 'number') return [new Date(value)];
    // Not instanceof: a driver's Date may come from another realm. (Tested after the
    // primitives: Object.prototype.toString on a string wraps it in an object first.)
    if (Object.prototype.toString.call(value) === '[object Date]') return [new Date((value as Date).getTime())];
    throw new TypeError(`Not a datetime column value: ${String(value)}`);
  }
  if (vendor(conn) !== 'sqlite') return [new Date(value)];
  const tz = sqlite_zone();
  const wall = naive_wall_ms(value);
  if (tz === 'UTC') return [new Date(wall)];
  const DAY = 86_400_000;
  // Each offset in force within a day gives one reading; it counts if that offset holds at the instant read.
  // Usually all three are one offset, checked once.
  let first = NaN;
  let found: number[] | undefined;
  for (let d = -DAY; d <= DAY; d += DAY) {
    const off = utc_offset_at(wall + d, tz);
    const t = wall - off;
    if (t === first || found?.includes(t) || utc_offset_at(t, tz) !== off) continue;
    if (Number.isNaN(first)) first = t;
    else (found ??= [first]).push(t);
  }
  if (found) return found.sort((a, b) => a - b).map((t) => new Date(t));
  return [new Date(Number.isNaN(first) ? naive_instant(wall, tz) : first)];
}

/** The instant a datetime column value denotes; in a repeated DST hour, the first reading (Python's fold=0). */
export function from_db_datetime(value: unknown, conn: Knex): Date {
  return db_datetime_candidates(value, conn)[0];
}

/**
 * A bound for `column < bound` that selects only instants before `d`. It is
 * db_datetime(d), except for naive local text when a DST change that repeats
 * an hour lies ahead: local wall time then runs backwards, and a value written
 * for an instant after `d` can sort below db_datetime(d). The bound is then
 * lowered by the offset change, so nothing still live is ever selected.
 */
export function db_datetime_lower_bound(d: Date, conn: Knex): string {
  if (vendor(conn) !== 'sqlite' || sqlite_zone() === 'UTC') return db_datetime(d, conn);
  const tz = sqlite_zone();
  const lowest_offset = Math.min(utc_offset_ms(d, tz), utc_offset_ms(new Date(d.getTime() + 86_400_000), tz));
  return naive_string(new Date(d.getTime() + lowest_offset), 'UTC');
}

/**
 * True for a unique or primary-key violation (Django's IntegrityError as the
 * session backends see it): SQLite's SQLITE_CONSTRAINT_* and PostgreSQL's 23505.
 */
export function is_integrity_error(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || (typeof code === 'string' && /^SQLITE_CONSTRAINT/.test(code));
}

/**
 * True when the error means the database could not be reached or opened
 * (refused, timed out, unknown host, bad credentials, missing database or file),
 * as opposed to a failing statement.
 */
export function is_connection_error(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|EPIPE|SQLITE_CANTOPEN|SQLITE_BUSY)$/.test(code) ||
    // PostgreSQL: 08xxx connection exceptions, 28xxx authorization, 3D000 unknown database, 57P0x shutdown.
    /^(08|28|3D000|57P0)/.test(code) ||
    e?.name === 'KnexTimeoutError' ||
    /Connection terminated|timeout exceeded when trying to connect|Query read timeout|directory does not exist/i.test(message);
}

// A graceful stop (serve, runserver) closes the pools.
on_shutdown(close_connections);
