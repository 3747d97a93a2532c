/**
 * One database seen by both Tango and Django: a throw-away SQLite file, or a
 * PostgreSQL schema of its own (test files share one database and may run in
 * parallel, while the table must keep Django's name `django_session`; both
 * sides reach the schema through search_path).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Knex } from 'knex';
import type { DatabaseSettings } from '../packages/core/conf';
import type { DjangoSettings } from './django';

export interface SharedDatabase {
  kind: 'sqlite' | 'postgresql';
  /** Tango's DATABASES['default']. */
  tango: DatabaseSettings;
  /** The same database for interop_site/settings.py. */
  django: NonNullable<DjangoSettings['database']>;
  /** The PostgreSQL schema (search_path), for catalog queries. */
  schema?: string;
  drop(): Promise<void>;
}

export function sqlite_shared(): SharedDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-interop-'));
  const name = path.join(dir, 'db.sqlite3');
  return {
    kind: 'sqlite',
    tango: { ENGINE: 'sqlite3', NAME: name },
    django: { engine: 'sqlite3', name },
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function admin(url: string): Knex {
  const knex = (require('knex') as { default: (c: Knex.Config) => Knex }).default;
  return knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
}

export async function postgres_shared(url: string, label: string): Promise<SharedDatabase> {
  const schema = `interop_${label}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const k = admin(url);
  try {
    await k.raw(`CREATE SCHEMA "${schema}"`);
  } finally {
    await k.destroy();
  }
  return {
    kind: 'postgresql',
    tango: { ENGINE: 'postgresql', URL: url, OPTIONS: { search_path: schema } } as DatabaseSettings,
    django: { engine: 'postgresql', url, search_path: schema },
    schema,
    drop: async () => {
      const d = admin(url);
      try {
        await d.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await d.destroy();
      }
    },
  };
}

/**
 * The django_session table as the catalog describes it: the DDL on SQLite;
 * columns, types and index definitions on PostgreSQL (schema name masked, so
 * two schemas compare equal when their tables are the same).
 */
export async function session_table_shape(knex: Knex, db: SharedDatabase): Promise<unknown> {
  if (db.kind === 'sqlite') {
    return knex.raw(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'django_session' ORDER BY name`);
  }
  const cols = await knex.raw(
    `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'django_session' ORDER BY ordinal_position`);
  const idx = await knex.raw(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = 'django_session' ORDER BY indexname`);
  const mask = (s: string) => s.split(`${db.schema}.`).join('<schema>.');
  return {
    columns: cols.rows,
    indexes: (idx.rows as Array<{ indexname: string; indexdef: string }>).map((r) => ({ name: r.indexname, def: mask(r.indexdef) })),
  };
}

// One capture helper for the whole project's tests.
export { capture_stream } from '../packages/sessions/test/db_helpers';
