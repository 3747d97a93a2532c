/**
 * The tables of django.contrib.auth as Django's migrations 0001_initial to
 * 0012_alter_user_first_name_max_length leave them, written as the SQL
 * Django 3.2's schema editor emits, so a table made here and one made by
 * Django's `migrate` are the same table (interop/auth_tables.test.ts compares
 * them) and Django's `migrate --fake-initial` adopts these.
 *
 * Tango reads and writes only auth_user. The group and permission tables are
 * here because Django's ModelBackend reads them (user.has_perm) on a shared
 * database. auth_permission.content_type_id references Django's
 * django_content_type, which belongs to django.contrib.contenttypes: on
 * SQLite the reference is declared as Django declares it (it is not checked
 * until a row is written), on PostgreSQL the constraint is added only when
 * that table exists already.
 *
 * SQLite keeps the column order of Django's table rebuilds (first_name last);
 * PostgreSQL keeps the order of the original CREATE TABLE (ALTER COLUMN
 * does not move columns). Index and constraint names are Django's
 * (BaseDatabaseSchemaEditor._create_index_name); `serial` ids as Django 3.2
 * writes them (Django 4.1+ writes identity columns; both behave the same).
 */
import type { Knex } from 'knex';

const DEFERRED = 'DEFERRABLE INITIALLY DEFERRED';

interface Table {
  name: string;
  sqlite: string[];
  postgresql: string[];
}

const TABLES: Table[] = [
  {
    name: 'auth_permission',
    sqlite: [
      `CREATE TABLE "auth_permission" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "content_type_id" integer NOT NULL REFERENCES "django_content_type" ("id") ${DEFERRED}, "codename" varchar(100) NOT NULL, "name" varchar(255) NOT NULL)`,
      'CREATE UNIQUE INDEX "auth_permission_content_type_id_codename_01ab375a_uniq" ON "auth_permission" ("content_type_id", "codename")',
      'CREATE INDEX "auth_permission_content_type_id_2f476e4b" ON "auth_permission" ("content_type_id")',
    ],
    postgresql: [
      'CREATE TABLE "auth_permission" ("id" serial NOT NULL PRIMARY KEY, "name" varchar(255) NOT NULL, "content_type_id" integer NOT NULL, "codename" varchar(100) NOT NULL)',
      'ALTER TABLE "auth_permission" ADD CONSTRAINT "auth_permission_content_type_id_codename_01ab375a_uniq" UNIQUE ("content_type_id", "codename")',
      'CREATE INDEX "auth_permission_content_type_id_2f476e4b" ON "auth_permission" ("content_type_id")',
    ],
  },
  {
    name: 'auth_group',
    sqlite: ['CREATE TABLE "auth_group" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(150) NOT NULL UNIQUE)'],
    postgresql: [
      'CREATE TABLE "auth_group" ("id" serial NOT NULL PRIMARY KEY, "name" varchar(150) NOT NULL UNIQUE)',
      'CREATE INDEX "auth_group_name_a6ea08ec_like" ON "auth_group" ("name" varchar_pattern_ops)',
    ],
  },
  {
    name: 'auth_group_permissions',
    sqlite: [
      `CREATE TABLE "auth_group_permissions" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "group_id" integer NOT NULL REFERENCES "auth_group" ("id") ${DEFERRED}, "permission_id" integer NOT NULL REFERENCES "auth_permission" ("id") ${DEFERRED})`,
      'CREATE UNIQUE INDEX "auth_group_permissions_group_id_permission_id_0cd325b0_uniq" ON "auth_group_permissions" ("group_id", "permission_id")',
      'CREATE INDEX "auth_group_permissions_group_id_b120cbf9" ON "auth_group_permissions" ("group_id")',
      'CREATE INDEX "auth_group_permissions_permission_id_84c5c92e" ON "auth_group_permissions" ("permission_id")',
    ],
    postgresql: [
      'CREATE TABLE "auth_group_permissions" ("id" serial NOT NULL PRIMARY KEY, "group_id" integer NOT NULL, "permission_id" integer NOT NULL)',
      'ALTER TABLE "auth_group_permissions" ADD CONSTRAINT "auth_group_permissions_group_id_permission_id_0cd325b0_uniq" UNIQUE ("group_id", "permission_id")',
      `ALTER TABLE "auth_group_permissions" ADD CONSTRAINT "auth_group_permissions_group_id_b120cbf9_fk_auth_group_id" FOREIGN KEY ("group_id") REFERENCES "auth_group" ("id") ${DEFERRED}`,
      `ALTER TABLE "auth_group_permissions" ADD CONSTRAINT "auth_group_permissio_permission_id_84c5c92e_fk_auth_perm" FOREIGN KEY ("permission_id") REFERENCES "auth_permission" ("id") ${DEFERRED}`,
      'CREATE INDEX "auth_group_permissions_group_id_b120cbf9" ON "auth_group_permissions" ("group_id")',
      'CREATE INDEX "auth_group_permissions_permission_id_84c5c92e" ON "auth_group_permissions" ("permission_id")',
    ],
  },
  {
    name: 'auth_user',
    sqlite: [
      'CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, ' +
      '"is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, ' +
      '"is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL)',
    ],
    postgresql: [
      'CREATE TABLE "auth_user" ("id" serial NOT NULL PRIMARY KEY, "password" varchar(128) NOT NULL, "last_login" timestamp with time zone NULL, ' +
      '"is_superuser" boolean NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, ' +
      '"email" varchar(254) NOT NULL, "is_staff" boolean NOT NULL, "is_active" boolean NOT NULL, "date_joined" timestamp with time zone NOT NULL)',
      'CREATE INDEX "auth_user_username_6821ab7c_like" ON "auth_user" ("username" varchar_pattern_ops)',
    ],
  },
  {
    name: 'auth_user_groups',
    sqlite: [
      `CREATE TABLE "auth_user_groups" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "user_id" integer NOT NULL REFERENCES "auth_user" ("id") ${DEFERRED}, "group_id" integer NOT NULL REFERENCES "auth_group" ("id") ${DEFERRED})`,
      'CREATE UNIQUE INDEX "auth_user_groups_user_id_group_id_94350c0c_uniq" ON "auth_user_groups" ("user_id", "group_id")',
      'CREATE INDEX "auth_user_groups_user_id_6a12ed8b" ON "auth_user_groups" ("user_id")',
      'CREATE INDEX "auth_user_groups_group_id_97559544" ON "auth_user_groups" ("group_id")',
    ],
    postgresql: [
      'CREATE TABLE "auth_user_groups" ("id" serial NOT NULL PRIMARY KEY, "user_id" integer NOT NULL, "group_id" integer NOT NULL)',
      'ALTER TABLE "auth_user_groups" ADD CONSTRAINT "auth_user_groups_user_id_group_id_94350c0c_uniq" UNIQUE ("user_id", "group_id")',
      `ALTER TABLE "auth_user_groups" ADD CONSTRAINT "auth_user_groups_user_id_6a12ed8b_fk_auth_user_id" FOREIGN KEY ("user_id") REFERENCES "auth_user" ("id") ${DEFERRED}`,
      `ALTER TABLE "auth_user_groups" ADD CONSTRAINT "auth_user_groups_group_id_97559544_fk_auth_group_id" FOREIGN KEY ("group_id") REFERENCES "auth_group" ("id") ${DEFERRED}`,
      'CREATE INDEX "auth_user_groups_user_id_6a12ed8b" ON "auth_user_groups" ("user_id")',
      'CREATE INDEX "auth_user_groups_group_id_97559544" ON "auth_user_groups" ("group_id")',
    ],
  },
  {
    name: 'auth_user_user_permissions',
    sqlite: [
      `CREATE TABLE "auth_user_user_permissions" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "user_id" integer NOT NULL REFERENCES "auth_user" ("id") ${DEFERRED}, "permission_id" integer NOT NULL REFERENCES "auth_permission" ("id") ${DEFERRED})`,
      'CREATE UNIQUE INDEX "auth_user_user_permissions_user_id_permission_id_14a6b632_uniq" ON "auth_user_user_permissions" ("user_id", "permission_id")',
      'CREATE INDEX "auth_user_user_permissions_user_id_a95ead1b" ON "auth_user_user_permissions" ("user_id")',
      'CREATE INDEX "auth_user_user_permissions_permission_id_1fbb5f2c" ON "auth_user_user_permissions" ("permission_id")',
    ],
    postgresql: [
      'CREATE TABLE "auth_user_user_permissions" ("id" serial NOT NULL PRIMARY KEY, "user_id" integer NOT NULL, "permission_id" integer NOT NULL)',
      'ALTER TABLE "auth_user_user_permissions" ADD CONSTRAINT "auth_user_user_permissions_user_id_permission_id_14a6b632_uniq" UNIQUE ("user_id", "permission_id")',
      `ALTER TABLE "auth_user_user_permissions" ADD CONSTRAINT "auth_user_user_permissions_user_id_a95ead1b_fk_auth_user_id" FOREIGN KEY ("user_id") REFERENCES "auth_user" ("id") ${DEFERRED}`,
      `ALTER TABLE "auth_user_user_permissions" ADD CONSTRAINT "auth_user_user_permi_permission_id_1fbb5f2c_fk_auth_perm" FOREIGN KEY ("permission_id") REFERENCES "auth_permission" ("id") ${DEFERRED}`,
      'CREATE INDEX "auth_user_user_permissions_user_id_a95ead1b" ON "auth_user_user_permissions" ("user_id")',
      'CREATE INDEX "auth_user_user_permissions_permission_id_1fbb5f2c" ON "auth_user_user_permissions" ("permission_id")',
    ],
  },
];

function is_postgresql(knex: Knex): boolean {
  const dialect = (knex.client as { dialect?: string }).dialect;
  return dialect === 'postgresql' || dialect === 'pg';
}

export async function up(knex: Knex): Promise<void> {
  const pg = is_postgresql(knex);
  for (const table of TABLES) {
    // Django's migrate (or an earlier Tango run) may have made it: leave it as it is.
    if (await knex.schema.hasTable(table.name)) continue;
    for (const sql of pg ? table.postgresql : table.sqlite) await knex.raw(sql);
    if (pg && table.name === 'auth_permission' && await knex.schema.hasTable('django_content_type')) {
      await knex.raw(`ALTER TABLE "auth_permission" ADD CONSTRAINT "auth_permission_content_type_id_2f476e4b_fk_django_co" ` +
        `FOREIGN KEY ("content_type_id") REFERENCES "django_content_type" ("id") ${DEFERRED}`);
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [...TABLES].reverse()) await knex.schema.dropTableIfExists(table.name);
}
