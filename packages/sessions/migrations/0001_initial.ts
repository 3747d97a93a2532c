/**
 * sessions.0001_initial (django/contrib/sessions/migrations/0001_initial.py),
 * written as the SQL Django's schema editor emits for it, so that a table
 * created here and one created by Django's `migrate` are the same table:
 *
 *   SQLite:      expire_date is `datetime` (naive text).
 *   PostgreSQL:  expire_date is `timestamp with time zone`, and the varchar
 *                primary key also gets Django's `_like` index (varchar_pattern_ops).
 *
 * Index names are Django's: `<table>_<column>_<md5(table, column)[:8]>[_like]`
 * (BaseDatabaseSchemaEditor._create_index_name).
 */
import type { Knex } from 'knex';

const TABLE = 'django_session';

export async function up(knex: Knex): Promise<void> {
  // Django's migrate (or an earlier Tango run under another migrations table)
  // may have created it already: then there is nothing to do.
  if (await knex.schema.hasTable(TABLE)) return;
  const pg = (knex.client as { dialect?: string }).dialect === 'postgresql';
  const expire = pg ? 'timestamp with time zone' : 'datetime';
  await knex.raw(
    `CREATE TABLE "${TABLE}" ("session_key" varchar(40) NOT NULL PRIMARY KEY, ` +
    `"session_data" text NOT NULL, "expire_date" ${expire} NOT NULL)`);
  if (pg) {
    await knex.raw(`CREATE INDEX "django_session_session_key_c0390e0f_like" ON "${TABLE}" ("session_key" varchar_pattern_ops)`);
  }
  await knex.raw(`CREATE INDEX "django_session_expire_date_a5c62663" ON "${TABLE}" ("expire_date")`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(TABLE);
}
