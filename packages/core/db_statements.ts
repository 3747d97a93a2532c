/**
 * Fixed statements for the session engine's hot path (a session load or save
 * per request), run through the drivers' public APIs (see statement_driver in
 * ./db); knex stays for migrations, clearsessions --dry-run and user code.
 *
 *  - PostgreSQL: a named statement (its query config made once) on a pg.Pool
 *    whose clients are kept between statements (pg_statement_pool.ts): the
 *    statement is parsed and planned once per connection (pg's named
 *    statements), unless OPTIONS.prepare_threshold is null.
 *  - SQLite: better-sqlite3 statements prepared once per connection, run on
 *    knex's one connection when no transaction is open on it (better-sqlite3
 *    runs a statement synchronously, so nothing can come between); while one
 *    is open, the statement queues through knex like any other query.
 *
 * Each statement fires knex's documented `query` event on the knex instance,
 * so query logging and counting see these statements too.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { statement_driver, type SqliteDatabase, type SqliteStatement } from './db';
import type { StatementPool } from './pg_statement_pool';
import { register_memo } from './memos';

/** A statement written once with `?` placeholders; PostgreSQL gets `$1…$n`. */
export interface Statement {
  readonly sqlite: string;
  readonly postgresql: string;
  /** The PostgreSQL prepared statement's name: from the text, so two texts never share one. */
  readonly name: string;
  /** A SELECT by primary key: SQLite stops at the first row instead of stepping on to prove there is no second. */
  readonly one_row: boolean;
  /**
   * The named statement as pg's query config, made once. Its name and text
   * are on its prototype: pg copies a config's own properties into a new
   * object for every query (keeping the prototype), and with none of its own
   * that copy costs nothing (bench/NOTES.md, "PostgreSQL statements").
   */
  readonly pg_named: Readonly<{ name: string; text: string }>;
}

export interface StatementResult<Row> {
  rows: Row[];
  /** Rows changed by INSERT / UPDATE / DELETE. */
  count: number;
}

/** `sql` for both databases, or a PostgreSQL text of its own (with `$n` placeholders) where the two differ. */
export function statement(sql: string, postgresql_sql?: string, opts: { one_row?: boolean } = {}): Statement {
  let n = 0;
  const postgresql = postgresql_sql ?? sql.replace(/\?/g, () => `$${++n}`);
  const name = `tango_${createHash('sha1').update(postgresql).digest('hex').slice(0, 24)}`;
  const pg_named = Object.create(Object.freeze({ name, text: postgresql })) as { name: string; text: string };
  return { sqlite: sql, postgresql, name, one_row: opts.one_row ?? false, pg_named: Object.freeze(pg_named) };
}

/** A double-quoted SQL identifier (both SQLite and PostgreSQL read it so). */
export function quote_name(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

// better-sqlite3 re-prepares a statement itself when the schema changes, so a
// prepared statement stays valid as long as its connection lives.
let prepared = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();
register_memo('db_statements.sqlite_prepared', () => {
  prepared = new WeakMap();
});

function sqlite_statement(db: SqliteDatabase, sql: string): SqliteStatement {
  let cache = prepared.get(db);
  if (!cache) prepared.set(db, (cache = new Map()));
  let st = cache.get(sql);
  if (!st) cache.set(sql, (st = db.prepare(sql)));
  return st;
}

function run_sqlite<Row>(db: SqliteDatabase, st: Statement, bindings: readonly unknown[]): StatementResult<Row> {
  const prepared_st = sqlite_statement(db, st.sqlite);
  if (prepared_st.reader && st.one_row) {
    const row = prepared_st.get(...bindings) as Row | undefined;
    return { rows: row === undefined ? [] : [row], count: 0 };
  }
  if (prepared_st.reader) return { rows: prepared_st.all(...bindings) as Row[], count: 0 };
  return { rows: [], count: prepared_st.run(...bindings).changes };
}

/** knex's SQLite connection when a statement can run on it at once: open, and no transaction open on it. */
function idle_sqlite(conn: Knex): SqliteDatabase | undefined {
  const driver = statement_driver(conn);
  if (driver.vendor !== 'sqlite') return undefined;
  const db = driver.connection();
  return db !== undefined && !db.inTransaction ? db : undefined;
}

/** Runs `st` with `bindings` on the database behind `conn`. */
export function run_statement<Row = Record<string, unknown>>(conn: Knex, st: Statement, bindings: readonly unknown[]): Promise<StatementResult<Row>> {
  const driver = statement_driver(conn);
  if (driver.vendor === 'sqlite') {
    const now = run_statement_now<Row>(conn, st, bindings);
    return now !== undefined ? Promise.resolve(now) : run_through_knex<Row>(conn, st, bindings);
  }
  conn.emit('query', { sql: st.postgresql, bindings, method: 'raw' });
  return run_pg<Row>(driver.pool(), driver.prepared, st, bindings);
}

/**
 * Runs `st` at once when it needs no wait: on SQLite, with the connection open
 * and no transaction on it. Undefined when it would have to wait, or on
 * PostgreSQL: run_statement then. A caller that gets the result here skips the
 * promise turns and the store timeout of the asynchronous path.
 */
export function run_statement_now<Row = Record<string, unknown>>(conn: Knex, st: Statement, bindings: readonly unknown[]): StatementResult<Row> | undefined {
  const db = idle_sqlite(conn);
  if (db === undefined) return undefined;
  conn.emit('query', { sql: st.sqlite, bindings, method: 'raw' });
  return run_sqlite<Row>(db, st, bindings);
}

/**
 * SQLite with a transaction open (or before knex made its connection): the
 * statement queues for the connection through knex.raw, which fires its own
 * `query` event. knex answers a reader with its rows and a writer with
 * better-sqlite3's run() result.
 */
async function run_through_knex<Row>(conn: Knex, st: Statement, bindings: readonly unknown[]): Promise<StatementResult<Row>> {
  const result = (await conn.raw(st.sqlite, bindings as Knex.RawBinding[])) as unknown;
  if (Array.isArray(result)) return { rows: (st.one_row ? result.slice(0, 1) : result) as Row[], count: 0 };
  return { rows: [], count: (result as { changes?: number }).changes ?? 0 };
}

async function run_pg<Row>(pool: StatementPool, named: boolean, st: Statement, bindings: readonly unknown[]): Promise<StatementResult<Row>> {
  try {
    // A named statement is parsed and planned once per connection.
    const result = named
      ? await pool.query(st.pg_named, bindings as unknown[])
      : await pool.query(st.postgresql, bindings as unknown[]);
    return { rows: result.rows as Row[], count: result.rowCount ?? 0 };
  } catch (err) {
    // Rejected from a socket read: captured again here, the stack leads back through the awaiting callers.
    if (err instanceof Error) Error.captureStackTrace(err);
    throw err;
  }
}
