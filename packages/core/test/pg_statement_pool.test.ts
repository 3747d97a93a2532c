/**
 * StatementPool (pg_statement_pool.ts) against a real PostgreSQL: clients
 * kept between statements and given back when idle, when someone waits in
 * the pool, when a statement failed and when their connection broke; end()
 * leaves nothing open.
 */
import { Pool } from 'pg';
import { describe_with } from '../testing/services';
import { KEEP_MS, StatementPool } from '../pg_statement_pool';

const PID = 'SELECT pg_backend_pid() AS pid';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe_with('TEST_DATABASE_URL')('StatementPool', (url) => {
  let pools: StatementPool[] = [];

  function make(max: number): StatementPool {
    const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 10_000 });
    pool.on('error', () => undefined);
    const statements = new StatementPool(pool);
    pools.push(statements);
    return statements;
  }

  async function pid(p: StatementPool): Promise<number> {
    return (await p.query<{ pid: number }>(PID, [])).rows[0].pid;
  }

  afterEach(async () => {
    await Promise.all(pools.map((p) => p.end()));
    pools = [];
  });

  it('keeps a client between statements, on one connection, out of the pool', async () => {
    const p = make(4);
    const first = await pid(p);
    expect(p.kept).toBe(1);
    expect(p.pool.idleCount).toBe(0);
    for (let i = 0; i < 5; i++) expect(await pid(p)).toBe(first);
    expect(p.pool.totalCount).toBe(1);
  });

  it('gives an idle client back to the pool after one to two sweeps', async () => {
    const p = make(4);
    await pid(p);
    expect(p.kept).toBe(1);
    await sleep(2 * KEEP_MS + 300);
    expect(p.kept).toBe(0);
    expect(p.pool.idleCount).toBe(1);
  });

  it('with every connection busy, a finished statement hands its client to the one waiting in the pool', async () => {
    const p = make(2);
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      p.query<{ n: number }>('SELECT $1::int AS n, pg_sleep(0.05)', [i])));
    expect(results.map((r) => r.rows[0].n)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    // Two at a time: six rounds of 50 ms, not a wait for a sweep.
    expect(Date.now() - started).toBeLessThan(KEEP_MS);
    expect(p.pool.totalCount).toBeLessThanOrEqual(2);
    expect(p.pool.waitingCount).toBe(0);
  });

  it('does not lend again a client whose statement failed', async () => {
    const p = make(4);
    const before = await pid(p);
    await expect(p.query('SELECT no_such_column FROM pg_class', [])).rejects.toThrow(/no_such_column/);
    expect(p.kept).toBe(0);
    expect(await pid(p)).not.toBe(before);
  });

  it('drops a kept client whose connection broke, and the next statement runs on a new one', async () => {
    const p = make(4);
    const before = await pid(p);
    const other = new Pool({ connectionString: url, max: 1 });
    try {
      await other.query('SELECT pg_terminate_backend($1)', [before]);
    } finally {
      await other.end();
    }
    // The kept client hears of the end of its connection without being used.
    for (let i = 0; i < 50 && p.kept > 0; i++) await sleep(20);
    expect(p.kept).toBe(0);
    const after = await pid(p);
    expect(after).not.toBe(before);
  });

  it('end() gives back the kept clients and closes every connection', async () => {
    const p = make(4);
    await Promise.all([pid(p), pid(p), pid(p)]);
    expect(p.kept).toBeGreaterThan(0);
    await p.end();
    expect(p.kept).toBe(0);
    expect(p.pool.totalCount).toBe(0);
    pools = pools.filter((x) => x !== p);
  });
});
