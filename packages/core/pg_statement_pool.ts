/**
 * The PostgreSQL connections that fixed statements (db_statements) run on: a
 * pg.Pool of their own whose clients stay checked out between statements
 * for a moment, so the next statement runs on one of them directly.
 * pg-pool's checkout and release around every query (its queue, the idle
 * timer it starts and clears, the error listener it adds and removes, the
 * promise around its callback) cost 4–5% of a session request on S3 and S5
 * (bench/NOTES.md, "PostgreSQL statements"). Only the pool's public API
 * is used: connect(), release(), waitingCount and end().
 *
 * A kept client goes back to the pool when someone waits in the pool for a
 * connection, when a statement on it failed or its connection broke, and
 * once it has been idle through a whole sweep (KEEP_MS to twice that), so
 * the pool's own idle timeout still closes the connections of an idle process.
 */
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';

/** How long an idle client is kept (ms): it goes back to the pool after KEEP_MS to 2 × KEEP_MS. */
export const KEEP_MS = 1000;

export class StatementPool {
  readonly pool: Pool;
  /** Kept clients idle since the last sweep, the most recently used last: handed out first. */
  #fresh: PoolClient[] = [];
  /** Kept clients idle through a whole sweep already: back to the pool at the next one. */
  #old: PoolClient[] = [];
  #sweep: NodeJS.Timeout | undefined = undefined;
  /** Clients this module has listened to for errors (a client the pool lends again keeps its listener). */
  readonly #watched = new WeakSet<PoolClient>();
  #ending = false;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /** Clients kept right now (for tests). */
  get kept(): number {
    return this.#fresh.length + this.#old.length;
  }

  /** Runs one statement on a kept client, or on one from the pool. */
  async query<R extends QueryResultRow>(config: QueryConfig | string, values: unknown[]): Promise<QueryResult<R>> {
    const client = this.#fresh.pop() ?? this.#old.pop() ?? await this.#connect();
    let result: QueryResult<R>;
    try {
      result = await client.query<R>(config, values);
    } catch (err) {
      // As pool.query does: a client whose statement failed is not lent again.
      client.release(err as Error);
      throw err;
    }
    this.#give_back(client);
    return result;
  }

  async #connect(): Promise<PoolClient> {
    const client = await this.pool.connect();
    if (!this.#watched.has(client)) {
      this.#watched.add(client);
      // While kept, the client is checked out, so the pool does not listen to it: a connection
      // that breaks (a server restart) would otherwise throw. A client in use finds out from its statement.
      const drop = (err?: Error): void => this.#drop(client, err ?? new Error('Connection ended'));
      client.on('error', drop);
      client.on('end', () => drop());
    }
    return client;
  }

  #give_back(client: PoolClient): void {
    if (this.#ending || this.pool.waitingCount > 0) {
      client.release();
      return;
    }
    this.#fresh.push(client);
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#sweep_idle(), KEEP_MS);
      this.#sweep.unref();
    }
  }

  #sweep_idle(): void {
    for (const client of this.#old) client.release();
    this.#old = this.#fresh;
    this.#fresh = [];
    if (this.#old.length === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /** A kept client whose connection broke is taken out and destroyed; one in use is left to its statement. */
  #drop(client: PoolClient, err: Error): void {
    for (const list of [this.#fresh, this.#old]) {
      const i = list.indexOf(client);
      if (i === -1) continue;
      list.splice(i, 1);
      client.release(err);
      return;
    }
  }

  /** Returns the kept clients and ends the pool (which waits for clients in use). */
  async end(): Promise<void> {
    this.#ending = true;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const client of [...this.#fresh, ...this.#old]) client.release();
    this.#fresh = [];
    this.#old = [];
    await this.pool.end();
  }
}
