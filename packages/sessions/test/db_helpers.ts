/**
 * Helpers for tests that need a real database: a throw-away SQLite file, or a
 * PostgreSQL schema of its own (test files share one database and may run in
 * parallel, while the table must keep Django's name `django_session`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import type { DatabaseSettings } from '../../core/conf';

export interface TestDatabase {
  /** The DATABASES['default'] entry that points at it (known before create(), for settings built at describe time). */
  settings: DatabaseSettings;
  /** Makes the empty database: the directory or the schema. */
  create(): Promise<void>;
  /** Removes the schema or the temporary directory. */
  drop(): Promise<void>;
}

export function sqlite_database(): TestDatabase {
  const dir = path.join(os.tmpdir(), `tango-db-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  return {
    settings: { ENGINE: 'sqlite3', NAME: path.join(dir, 'db.sqlite3') },
    create: async () => {
      fs.mkdirSync(dir, { recursive: true });
    },
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

async function on_admin<T>(url: string, fn: (k: Knex) => Promise<T>): Promise<T> {
  const knex = (require('knex') as { default: (c: Knex.Config) => Knex }).default;
  const k = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    return await fn(k);
  } finally {
    await k.destroy();
  }
}

export function postgres_database(url: string): TestDatabase {
  const schema = `tango_test_${Math.random().toString(36).slice(2, 10)}`;
  return {
    settings: { ENGINE: 'postgresql', URL: url, OPTIONS: { search_path: schema } } as DatabaseSettings,
    create: () => on_admin(url, async (k) => {
      await k.raw(`CREATE SCHEMA "${schema}"`);
    }),
    drop: () => on_admin(url, async (k) => {
      await k.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }),
  };
}

/** A stdout for commands run in-process; `text()` is everything written. */
export function capture_stream(): Writable & { text(): string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text(): string };
  w.text = () => chunks.join('');
  return w;
}
