/**
 * @tango/core/db_statements on SQLite: rows come back as the objects knex
 * gives for the same SELECT (readers run in better-sqlite3's raw mode and the
 * objects are built from the column names), and the synchronous path agrees.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configure } from '../conf';
import { close_connections, get_connection } from '../db';
import { run_statement, run_statement_now, statement } from '../db_statements';

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
