/**
 * @tango/core/db_statements: on SQLite, rows come back as the objects knex
 * gives for the same SELECT, the synchronous path agrees, and a statement
 * waits for an open transaction; on PostgreSQL (pg.Pool), statements see the
 * connection settings knex's connections have, and broken connections are
 * not used again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Knex } from 'knex';
import { configure } from '../conf';
import { close_connections, get_connection } from '../db';
import { run_statement, run_statement_now, statement } from '../db_statements';
import { describe_with } from '../testing/services';

let dir: string;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-core-statements-'));
  configure({ SECRET_KEY: 's', DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'st.sqlite3' } } }, dir);
  const knex = get_connection();
  await knex.raw('CREATE TABLE t (k text primary key, v text, n integer, f real, b blob)');
  await knex('t').insert([
    { k: 'a', v: 'one', n: 1, f: 1.5, b: Buffer.from([1, 2]) },
    { k: 'b', v: null, n: 2, f: null, b: null },
  ]);
});
afterEach(async () => {
  await close_connections();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a one-row SELECT gives the row object knex gives, or no row', async () => {
  const knex = get_connection();
  const one = statement('SELECT v, n, f, b, k FROM t WHERE k = ?', undefined, { one_row: true });
  for (const key of ['a', 'b']) {
    const expected = (await knex.raw('SELECT v, n, f, b, k FROM t WHERE k = ?', [key])) as Record<string, unknown>[];
    const { rows } = await run_statement(knex, one, [key]);
    expect(rows).toEqual(expected);
    expect(Object.keys(rows[0])).toEqual(['v', 'n', 'f', 'b', 'k']);
    expect(run_statement_now(knex, one, [key])?.rows).toEqual(expected);
  }
  expect((await run_statement(knex, one, ['missing'])).rows).toEqual([]);
});

test('a many-row SELECT gives every row in order; aliases and a repeated name (the later wins) as knex', async () => {
  const knex = get_connection();
  const sql = 'SELECT k AS key, n, n * 10 AS n FROM t ORDER BY k';
  const expected = (await knex.raw(sql)) as Record<string, unknown>[];
  expect(expected).toEqual([{ key: 'a', n: 10 }, { key: 'b', n: 20 }]);
  expect((await run_statement(knex, statement(sql), [])).rows).toEqual(expected);
});

test('writes still report the rows they changed', async () => {
  const knex = get_connection();
  expect((await run_statement(knex, statement('UPDATE t SET n = n + 1'), [])).count).toBe(2);
  expect((await run_statement(knex, statement('DELETE FROM t WHERE k = ?'), ['a'])).count).toBe(1);
  expect((await run_statement(knex, statement('SELECT n FROM t'), [])).rows).toEqual([{ n: 3 }]);
});

test('while a transaction is open on the connection, a statement waits for it and then sees its writes', async () => {
  const knex = get_connection();
  const read = statement('SELECT v FROM t WHERE k = ?', undefined, { one_row: true });
  await run_statement(knex, read, ['a']); // knex's connection is made
  const trx = await knex.transaction();
  await trx('t').where('k', 'a').update({ v: 'changed' });
  expect(run_statement_now(knex, read, ['a'])).toBeUndefined();
  const pending = run_statement<{ v: string }>(knex, read, ['a']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await trx.commit();
  expect((await pending).rows).toEqual([{ v: 'changed' }]);
  expect(run_statement_now(knex, read, ['a'])?.rows).toEqual([{ v: 'changed' }]);
});

test("a statement fires knex's query event with its SQL and bindings", async () => {
  const knex = get_connection();
  const seen: { sql: string; bindings: unknown[] }[] = [];
  const on_query = (q: { sql: string; bindings: unknown[] }) => seen.push(q);
  knex.on('query', on_query);
  try {
    await run_statement(knex, statement('SELECT v FROM t WHERE k = ?'), ['b']);
  } finally {
    knex.off('query', on_query);
  }
  expect(seen).toEqual([expect.objectContaining({ sql: 'SELECT v FROM t WHERE k = ?', bindings: ['b'] })]);
});

describe_with('TEST_DATABASE_URL')('on PostgreSQL (pg.Pool)', (url) => {
  const BACKEND = statement('SELECT pg_backend_pid() AS pid');
  const FAILING = statement('SELECT no_such_column FROM pg_class');

  async function connect(options: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<Knex> {
    await close_connections();
    configure({ SECRET_KEY: 's', DATABASES: { default: { ENGINE: 'postgresql', URL: url, OPTIONS: options, ...extra } } }, os.tmpdir());
    return get_connection();
  }

  async function backend_pid(knex: Knex): Promise<number> {
    return (await run_statement<{ pid: number }>(knex, BACKEND, [])).rows[0].pid;
  }

  afterAll(() => close_connections());

  test('statements run with the time zone and search_path knex sets', async () => {
    const knex = await connect({ search_path: ['tango stmt schema', 'public'] });
    await knex.raw('CREATE SCHEMA IF NOT EXISTS "tango stmt schema"');
    await knex.raw('CREATE TABLE IF NOT EXISTS "tango stmt schema".sp_probe (v text)');
    try {
      const show = statement("SELECT current_setting('TimeZone') AS tz, current_schemas(false)::text AS sp, (SELECT count(*)::int FROM sp_probe) AS n");
      const { rows } = await run_statement<{ tz: string; sp: string; n: number }>(knex, show, []);
      const via_knex = (await knex.raw(show.postgresql)).rows[0];
      expect(rows[0]).toEqual(via_knex);
      expect(rows[0]).toEqual({ tz: 'UTC', sp: '{"tango stmt schema",public}', n: 0 });
    } finally {
      await knex.raw('DROP SCHEMA "tango stmt schema" CASCADE');
    }
  });

  test('named and unnamed statements give the same rows and counts', async () => {
    for (const options of [{}, { prepare_threshold: null }]) {
      const knex = await connect(options);
      await knex.raw('CREATE TEMP TABLE IF NOT EXISTS pg_t (k text)');
      const n = (await run_statement(knex, statement('SELECT 1 AS one, $1::text AS two', 'SELECT 1 AS one, $1::text AS two'), ['x'])).rows;
      expect(n).toEqual([{ one: 1, two: 'x' }]);
    }
  });

  test('a statement runs as a named prepared statement on the server; with prepare_threshold null, unnamed', async () => {
    const probe = statement('SELECT pg_backend_pid() AS pid, array(SELECT name FROM pg_prepared_statements ORDER BY name) AS names');
    for (const [options, prepared] of [[{}, true], [{ prepare_threshold: null }, false]] as const) {
      const knex = await connect(options);
      const runs: Array<{ pid: number; names: string[] }> = [];
      for (let i = 0; i < 3; i++) runs.push((await run_statement<{ pid: number; names: string[] }>(knex, probe, [])).rows[0]);
      // Statements one after another run on one connection, whose session holds the statement from the first run on.
      expect(new Set(runs.map((r) => r.pid)).size).toBe(1);
      for (const r of runs) expect(r.names).toEqual(prepared ? [probe.name] : []);
    }
  });

  test("a failed statement's error has a stack that leads back to its caller", async () => {
    const knex = await connect();
    const err = await run_statement(knex, FAILING, []).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/no_such_column/);
    expect(err?.stack).toMatch(/db_statements\.test\.ts/);
    // The pool is still usable afterwards.
    expect(typeof (await backend_pid(knex))).toBe('number');
  });

  test('a connection whose server process died is not used again', async () => {
    const knex = await connect();
    const pid = await backend_pid(knex);
    await knex.raw('SELECT pg_terminate_backend(?)', [pid]);
    // Whether the client noticed yet or not, a fixed statement now runs on another live backend.
    let next: number | undefined;
    for (let attempt = 0; attempt < 2 && next === undefined; attempt++) {
      next = await backend_pid(knex).catch(() => undefined);
    }
    expect(next).toBeDefined();
    expect(next).not.toBe(pid);
  });

  test('closing the connections ends the statement pool', async () => {
    const knex = await connect();
    const pid = await backend_pid(knex);
    const started = Date.now();
    await close_connections();
    expect(Date.now() - started).toBeLessThan(1000);
    const other = await connect();
    const live = (await other.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ?', [pid])).rows[0].n;
    expect(live).toBe(0);
  });
});
