/**
 * Fixed statements for hot paths (a session load or save per request), run
 * straight on the driver connection that knex's pool lends. The query builder
 * costs more CPU than a primary-key lookup: it rebuilds and recompiles the SQL
 * on every call, and on SQLite prepares the statement each time. Here the SQL
 * text is fixed once, SQLite statements are prepared once per connection, and
 * everything the pool gives (limits, acquire timeout, search_path, dropping
 * broken connections, the driver's query timeouts) is kept. knex's `query`
 * event still fires, so query logging and counting see these statements too.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { give_back, lease, type LeasePool } from './connection_lease';
import { uses_prepared_statements, vendor } from './db';

/** A statement written once with `?` placeholders; PostgreSQL gets `$1…$n`. */
export interface Statement {
  readonly sqlite: string;
  readonly postgresql: string;
  /** The PostgreSQL prepared statement's name: from the text, so two texts never share one. */
  readonly name: string;
  /** A SELECT by primary key: SQLite stops at the first row instead of stepping on to prove there is no second. */
  readonly one_row: boolean;
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
  return { sqlite: sql, postgresql, name, one_row: opts.one_row ?? false };
}

/** A double-quoted SQL identifier (both SQLite and PostgreSQL read it so). */
export function quote_name(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface KnexClient {
  pool?: LeasePool | null;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
  emit(event: 'query', data: { sql: string; bindings: readonly unknown[]; method: 'raw' }): boolean;
}

interface SqliteStatement {
  readonly reader: boolean;
  all(...bindings: unknown[]): unknown[];
  get(...bindings: unknown[]): unknown;
  run(...bindings: unknown[]): { changes: number };
  raw(on: boolean): SqliteStatement;
  columns(): { name: string }[];
}

/** A prepared statement, and for a reader (which runs in raw mode) the names of its columns. */
interface SqlitePrepared {
  st: SqliteStatement;
  columns: readonly string[];
}

interface SqliteConnection {
  readonly open: boolean;
  prepare(sql: string): SqliteStatement;
}

interface PgResult {
  rows: unknown[];
  rowCount: number | null;
}

interface PgConnection {
  query(text: string, values: readonly unknown[]): Promise<PgResult>;
  query(submittable: import('pg').Query): unknown;
}

/** pg, loaded with the first PostgreSQL statement: SQLite-only projects never load it. */
let pg_query: typeof import('pg').Query | undefined;

/**
 * A named (prepared) statement as a pg Query handed to client.query as it is.
 * The config-object form would have pg copy the config through property
 * descriptors and chain a promise of its own onto each query, per statement.
 */
function run_named(connection: PgConnection, st: Statement, bindings: readonly unknown[]): Promise<PgResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Query = (pg_query ??= (require('pg') as typeof import('pg')).Query);
  return new Promise<PgResult>((resolve, reject) => {
    const query = new Query(st.postgresql, bindings as unknown[], (err: Error | undefined, result: PgResult) => (err ? reject(err) : resolve(result)));
    // Query's constructor takes the name only from a config object (which it copies); it reads the field when submitted.
    (query as { name?: string }).name = st.name;
    connection.query(query);
  });
}

// better-sqlite3 re-prepares a statement itself when the schema changes, so a
// prepared statement stays valid as long as its connection lives.
const prepared = new WeakMap<object, Map<string, SqlitePrepared>>();

function sqlite_statement(connection: SqliteConnection, sql: string): SqlitePrepared {
  let cache = prepared.get(connection);
  if (!cache) prepared.set(connection, (cache = new Map()));
  let p = cache.get(sql);
  if (!p) {
    const st = connection.prepare(sql);
    // Readers run in raw mode (rows as arrays): for a row object, better-sqlite3
    // makes a V8 string of every column name on every row, which cost more
    // than the rest of a primary-key SELECT. The object is built here instead.
    p = st.reader ? { st: st.raw(true), columns: st.columns().map((c) => c.name) } : { st, columns: [] };
    cache.set(sql, p);
  }
  return p;
}

/** The row object better-sqlite3 would have made from `values` (a later column of the same name wins, as there). */
function row_object(columns: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]] = values[i];
  return row;
}

function run_sqlite<Row>(connection: SqliteConnection, st: Statement, bindings: readonly unknown[]): StatementResult<Row> {
  const { st: prepared_st, columns } = sqlite_statement(connection, st.sqlite);
  if (prepared_st.reader && st.one_row) {
    const values = prepared_st.get(...bindings) as unknown[] | undefined;
    return { rows: values === undefined ? [] : [row_object(columns, values) as Row], count: 0 };
  }
  if (prepared_st.reader) return { rows: (prepared_st.all(...bindings) as unknown[][]).map((v) => row_object(columns, v) as Row), count: 0 };
  return { rows: [], count: prepared_st.run(...bindings).changes };
}

// knex gives SQLite one pooled connection, and better-sqlite3 runs a
// statement synchronously: while nobody holds or waits for that connection
// (no transaction is open on it), a statement can run on it at once, with
// nothing able to come between, instead of a round through the pool.
const idle_sqlite = new WeakMap<object, SqliteConnection>();

function idle_sqlite_connection(client: KnexClient): SqliteConnection | undefined {
  const connection = idle_sqlite.get(client);
  const pool = client.pool;
  if (connection === undefined || !connection.open || !pool) return undefined;
  return pool.numUsed() === 0 && pool.numPendingAcquires() === 0 && pool.numFree() > 0 ? connection : undefined;
}

/** Runs `st` with `bindings` on a pooled connection of `conn`. */
export function run_statement<Row = Record<string, unknown>>(conn: Knex, st: Statement, bindings: readonly unknown[]): Promise<StatementResult<Row>> {
  const client = conn.client as unknown as KnexClient;
  if (vendor(conn) === 'sqlite') return run_sqlite_pooled<Row>(conn, client, st, bindings);
  client.emit('query', { sql: st.postgresql, bindings, method: 'raw' });
  return run_pg<Row>(conn, client, st, bindings);
}

/**
 * Runs `st` at once when it needs no wait: on SQLite, with the connection idle
 * (see idle_sqlite_connection). Undefined when it would have to wait, or on
 * PostgreSQL: run_statement then. A caller that gets the result here skips the
 * promise turns and the store timeout of the asynchronous path.
 */
export function run_statement_now<Row = Record<string, unknown>>(conn: Knex, st: Statement, bindings: readonly unknown[]): StatementResult<Row> | undefined {
  if (vendor(conn) !== 'sqlite') return undefined;
  const client = conn.client as unknown as KnexClient;
  const idle = idle_sqlite_connection(client);
  if (idle === undefined) return undefined;
  client.emit('query', { sql: st.sqlite, bindings, method: 'raw' });
  return run_sqlite<Row>(idle, st, bindings);
}

async function run_sqlite_pooled<Row>(conn: Knex, client: KnexClient, st: Statement, bindings: readonly unknown[]): Promise<StatementResult<Row>> {
  const now = run_statement_now<Row>(conn, st, bindings);
  if (now !== undefined) return now;
  client.emit('query', { sql: st.sqlite, bindings, method: 'raw' });
  const connection = await client.acquireConnection();
  try {
    idle_sqlite.set(client, connection as SqliteConnection);
    return run_sqlite<Row>(connection as SqliteConnection, st, bindings);
  } finally {
    await client.releaseConnection(connection);
  }
}

async function run_pg<Row>(conn: Knex, client: KnexClient, st: Statement, bindings: readonly unknown[]): Promise<StatementResult<Row>> {
  const pool = client.pool;
  const acquire = () => client.acquireConnection() as Promise<object>;
  const leased = pool ? lease(pool, acquire) : acquire();
  const connection = (leased instanceof Promise ? await leased : leased) as PgConnection;
  let healthy = false;
  try {
    // A named statement is parsed and planned once per connection.
    const result = uses_prepared_statements(conn)
      ? await run_named(connection, st, bindings)
      : await connection.query(st.postgresql, bindings);
    healthy = true;
    return { rows: result.rows as Row[], count: result.rowCount ?? 0 };
  } catch (err) {
    // Rejected from a socket read: captured again here, the stack leads back through the awaiting callers, as pg's own promises do.
    if (err instanceof Error) Error.captureStackTrace(err);
    throw err;
  } finally {
    if (pool) give_back(pool, connection, healthy);
    else await client.releaseConnection(connection);
  }
}
