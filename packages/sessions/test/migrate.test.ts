/**
 * `migrate` creates Django's django_session table exactly (columns, types,
 * index names), is idempotent, keeps its bookkeeping out of django_migrations,
 * and leaves a table Django already created alone.
 */
import * as path from 'node:path';
import { configure } from '../../core/conf';
import { close_connections, get_connection } from '../../core/db';
import { CommandError } from '../../core/errors';
import MigrateCommand, { MIGRATIONS_TABLE, migration_files } from '../../core/management/commands/migrate';
import { describe_with } from '../../core/testing/services';
import { capture_stream, postgres_database, sqlite_database, type TestDatabase } from './db_helpers';

async function migrate(options: Record<string, unknown> = {}): Promise<string> {
  const cmd = new MigrateCommand();
  const out = capture_stream();
  cmd.stdout = out;
  await cmd.handle([], { database: 'default', ...options });
  return out.text();
}

const APPLIED = [
  'Operations to perform:',
  '  Apply all migrations: sessions',
  'Running migrations:',
  '  Applying sessions.0001_initial... OK',
  '',
].join('\n');

const NOTHING = [
  'Operations to perform:',
  '  Apply all migrations: sessions',
  'Running migrations:',
  '  No migrations to apply.',
  '',
].join('\n');

// Django's `sqlmigrate sessions 0001` on SQLite.
const DJANGO_SQLITE_DDL = 'CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, ' +
  '"session_data" text NOT NULL, "expire_date" datetime NOT NULL)';

function suite(name: string, make: () => TestDatabase): void {
  describe(`migrate on ${name}`, () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = make();
      await db.create();
      configure({ SECRET_KEY: 'django-insecure-example-secret', DATABASES: { default: db.settings } }, __dirname);
    });
    afterEach(async () => {
      await close_connections();
      await db.drop();
    });

    test('applies sessions.0001_initial once, then has nothing to apply', async () => {
      expect(await migrate()).toBe(APPLIED);
      expect(await migrate()).toBe(NOTHING);
      const knex = get_connection();
      const rows = await knex(MIGRATIONS_TABLE).select('name');
      expect(rows.map((r: { name: string }) => r.name)).toEqual(['sessions.0001_initial']);
      // Django's own bookkeeping table is never touched.
      expect(await knex.schema.hasTable('django_migrations')).toBe(false);
    });

    test('creates the table and indexes Django creates', async () => {
      await migrate();
      const knex = get_connection();
      if (name === 'SQLite') {
        const master = await knex.raw(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'django_session' ORDER BY name`) as
          Array<{ type: string; name: string; sql: string | null }>;
        expect(master.find((r) => r.type === 'table')?.sql).toBe(DJANGO_SQLITE_DDL);
        expect(master.find((r) => r.name === 'django_session_expire_date_a5c62663')?.sql)
          .toBe('CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date")');
      } else {
        const cols = await knex.raw(
          `SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = 'django_session' ORDER BY ordinal_position`);
        expect(cols.rows).toEqual([
          { column_name: 'session_key', data_type: 'character varying', character_maximum_length: 40, is_nullable: 'NO' },
          { column_name: 'session_data', data_type: 'text', character_maximum_length: null, is_nullable: 'NO' },
          { column_name: 'expire_date', data_type: 'timestamp with time zone', character_maximum_length: null, is_nullable: 'NO' },
        ]);
        const idx = await knex.raw(
          `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'django_session' ORDER BY indexname`);
        expect(idx.rows.map((r: { indexname: string }) => r.indexname)).toEqual([
          'django_session_expire_date_a5c62663',
          'django_session_pkey',
          'django_session_session_key_c0390e0f_like',
        ]);
        expect(idx.rows[2].indexdef).toMatch(/varchar_pattern_ops/);
      }
    });

    test('leaves a table created by Django alone and records the migration', async () => {
      const knex = get_connection();
      await knex.raw(DJANGO_SQLITE_DDL.replace('datetime', name === 'SQLite' ? 'datetime' : 'timestamp with time zone'));
      await knex('django_session').insert({ session_key: 'k'.repeat(32), session_data: 'x', expire_date: '2030-01-01 00:00:00' });
      expect(await migrate()).toBe(APPLIED);
      const again = get_connection();
      expect(await again('django_session').count({ n: '*' })).toEqual([{ n: name === 'SQLite' ? 1 : '1' }]);
      expect(await migrate()).toBe(NOTHING);
    });
  });
}

suite('SQLite', () => sqlite_database());
describe_with('TEST_DATABASE_URL')('with TEST_DATABASE_URL', (url) => {
  suite('PostgreSQL', () => postgres_database(url));
});

describe('migration discovery', () => {
  test('finds sessions.0001_initial through the @tango/sessions package', () => {
    configure({ SECRET_KEY: 's', DATABASES: { default: { ENGINE: 'sqlite3', NAME: ':memory:' } } }, __dirname);
    const files = migration_files();
    expect(files.map((f) => f.name)).toEqual(['sessions.0001_initial']);
    expect(files[0].file).toBe(path.resolve(__dirname, '../migrations/0001_initial.ts'));
  });

  test("Django's app name and a folder under BASE_DIR count once", () => {
    configure({
      SECRET_KEY: 's',
      INSTALLED_APPS: ['django.contrib.sessions', '..'],
      DATABASES: { default: { ENGINE: 'sqlite3', NAME: ':memory:' } },
    }, __dirname);
    expect(migration_files().map((f) => f.name)).toEqual(['sessions.0001_initial']);
  });

  test('an unknown INSTALLED_APPS entry is a one-line CommandError', async () => {
    configure({
      SECRET_KEY: 's',
      INSTALLED_APPS: ['no-such-app'],
      DATABASES: { default: { ENGINE: 'sqlite3', NAME: ':memory:' } },
    }, __dirname);
    await expect(migrate()).rejects.toThrow(CommandError);
    await expect(migrate()).rejects.toThrow(/INSTALLED_APPS entry 'no-such-app'/);
  });

  test('an unreachable database is a one-line CommandError', async () => {
    configure({
      SECRET_KEY: 's',
      DATABASES: { default: { ENGINE: 'postgresql', URL: 'postgres://postgres@127.0.0.1:1/test' } },
    }, __dirname);
    await expect(migrate()).rejects.toThrow(/^Cannot reach the database 'default': connect ECONNREFUSED 127\.0\.0\.1:1$/);
  });
});
