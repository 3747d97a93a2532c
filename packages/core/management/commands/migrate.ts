/**
 * `manage.ts migrate` (django.core.management.commands.migrate): applies the
 * migrations of Tango's own packages and of settings.INSTALLED_APPS to a
 * database, and prints Django's progress lines.
 *
 * Migrations are knex migrations (`export async function up(knex)` / `down`)
 * in each app's `migrations/` folder, named `NNNN_name.ts` like Django's and
 * applied in app order, then file order. Which ones ran is recorded in knex's
 * table `tango_migrations`, never in Django's `django_migrations`, so a Django
 * project sharing the database keeps its own bookkeeping; our migrations skip
 * what Django already created.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Knex } from 'knex';
import { BaseCommand } from '../base';
import { app_dir, DJANGO_APP_NAMES } from '../discovery';
import { settings } from '../../conf';
import { CommandError } from '../../errors';
import { close_connections, get_connection, is_connection_error } from '../../db';

/** knex's bookkeeping table (plus `<name>_lock`), deliberately not Django's `django_migrations`. */
export const MIGRATIONS_TABLE = 'tango_migrations';

/** Packages whose migrations Tango always applies, as Django's default project installs contrib apps. */
export const BUILTIN_MIGRATION_APPS: readonly string[] = ['@tango/sessions'];

export interface MigrationApp {
  /** The app label, as in `sessions.0001_initial`. */
  label: string;
  dir: string;
}

export interface MigrationFile {
  /** `<app label>.<file name without extension>`, the name recorded in tango_migrations. */
  name: string;
  app: string;
  file: string;
}

function resolve_app(entry: string, base_dir: string): MigrationApp {
  const spec = DJANGO_APP_NAMES[entry] ?? entry;
  // The same lookup the command runner uses to find an app's management commands.
  const dir = app_dir(spec, base_dir);
  if (!dir) {
    throw new CommandError(`INSTALLED_APPS entry '${entry}' is neither an installed package nor a folder under BASE_DIR (${base_dir}).`);
  }
  const local = fs.existsSync(path.resolve(base_dir, spec));
  // Django's default label is the last component of the app's name.
  const label = local ? path.basename(dir) : spec.split('/').filter(Boolean).pop() ?? spec;
  return { label, dir };
}

/** The apps whose migrations `migrate` considers: Tango's packages, then INSTALLED_APPS, each once. */
export function migration_apps(): MigrationApp[] {
  const apps: MigrationApp[] = [];
  const seen = new Set<string>();
  const labels = new Map<string, string>();
  const add = (entry: string, optional: boolean) => {
    let app: MigrationApp;
    try {
      app = resolve_app(entry, settings.BASE_DIR);
    } catch (err) {
      if (optional) return;
      throw err;
    }
    const real = fs.realpathSync(app.dir);
    if (seen.has(real)) return;
    const other = labels.get(app.label);
    if (other !== undefined) {
      // Django: ImproperlyConfigured("Application labels aren't unique, duplicates: ...")
      throw new CommandError(`Application labels aren't unique, duplicates: ${app.label} (${other} and ${entry}).`);
    }
    seen.add(real);
    labels.set(app.label, entry);
    apps.push(app);
  };
  for (const p of BUILTIN_MIGRATION_APPS) add(p, true);
  for (const a of settings.INSTALLED_APPS) add(a, false);
  return apps;
}

const MIGRATION_FILE = /^(\d{4}_[A-Za-z0-9_]+)\.(ts|js)$/;

/** Every migration file of `apps`, in the order they are applied. */
export function migration_files(apps: MigrationApp[] = migration_apps()): MigrationFile[] {
  const out: MigrationFile[] = [];
  for (const app of apps) {
    const dir = path.join(app.dir, 'migrations');
    if (!fs.existsSync(dir)) continue;
    const stems = new Map<string, string>();
    for (const f of fs.readdirSync(dir).sort()) {
      const m = MIGRATION_FILE.exec(f);
      // A compiled copy next to its source (0001_x.js beside 0001_x.ts) is the same migration.
      if (m && !f.endsWith('.d.ts') && !stems.has(m[1])) stems.set(m[1], path.join(dir, f));
    }
    for (const [stem, file] of stems) out.push({ name: `${app.label}.${stem}`, app: app.label, file });
  }
  return out;
}

type MigrationModule = { up: (knex: Knex) => Promise<unknown>; down?: (knex: Knex) => Promise<unknown> };

/** knex's MigrationSource over our files; `on_apply` reports progress around each `up`. */
class AppMigrationSource implements Knex.MigrationSource<MigrationFile> {
  readonly #files: MigrationFile[];
  readonly #on_apply: (name: string, done: boolean) => void;

  constructor(files: MigrationFile[], on_apply: (name: string, done: boolean) => void) {
    this.#files = files;
    this.#on_apply = on_apply;
  }

  async getMigrations(): Promise<MigrationFile[]> {
    return this.#files;
  }

  getMigrationName(m: MigrationFile): string {
    return m.name;
  }

  async getMigration(m: MigrationFile): Promise<Knex.Migration> {
    // TS migrations load through whatever compiles TS in this process (ts-node, jest).
    const mod = require(m.file) as MigrationModule;
    if (typeof mod.up !== 'function') throw new CommandError(`Migration ${m.name} (${m.file}) exports no up() function.`);
    return {
      up: async (knex: Knex) => {
        this.#on_apply(m.name, false);
        await mod.up(knex);
        this.#on_apply(m.name, true);
      },
      down: mod.down ? (knex: Knex) => mod.down!(knex) : undefined,
    };
  }
}

/**
 * The migrations not yet recorded in the database `alias`, read without
 * creating anything (runserver's start-up warning, as Django's
 * BaseCommand.check_migrations).
 */
export async function unapplied_migrations(alias = 'default'): Promise<MigrationFile[]> {
  const files = migration_files();
  const knex = get_connection(alias);
  if (!(await knex.schema.hasTable(MIGRATIONS_TABLE))) return files;
  const rows = (await knex(MIGRATIONS_TABLE).select('name')) as Array<{ name: string }>;
  const applied = new Set(rows.map((r) => r.name));
  return files.filter((f) => !applied.has(f.name));
}

export default class MigrateCommand extends BaseCommand {
  readonly help = 'Updates database schema: applies the migrations of Tango and of INSTALLED_APPS.';

  override add_arguments(parser: Command): void {
    parser.option('--database <alias>', 'Nominates a database to synchronize.', 'default');
  }

  async handle(_args: string[], options: Record<string, unknown>): Promise<void> {
    const alias = typeof options.database === 'string' ? options.database : 'default';
    try {
      await this.#migrate(alias);
    } catch (err) {
      if (is_connection_error(err)) {
        throw new CommandError(`Cannot reach the database '${alias}': ${(err as Error).message}`);
      }
      throw err;
    } finally {
      await close_connections();
    }
  }

  async #migrate(alias: string): Promise<void> {
    const files = migration_files();
    const knex = get_connection(alias);
    const source = new AppMigrationSource(files, (name, done) => {
      // Django writes the name, flushes, runs the migration, then " OK".
      this.stdout.write(done ? ' OK\n' : `  Applying ${name}...`);
    });
    const config: Knex.MigratorConfig = {
      tableName: MIGRATIONS_TABLE,
      migrationSource: source,
      // Other projects (or an older INSTALLED_APPS) may have recorded migrations we do not know.
      disableMigrationsListValidation: true,
    };
    const labels = [...new Set(files.map((f) => f.app))].sort();
    this.write('Operations to perform:');
    this.write(`  Apply all migrations: ${labels.length ? labels.join(', ') : '(none)'}`);
    this.write('Running migrations:');
    const [, pending] = (await knex.migrate.list(config)) as [unknown[], MigrationFile[]];
    if (pending.length === 0) {
      this.write('  No migrations to apply.');
      return;
    }
    await knex.migrate.latest(config);
  }
}
