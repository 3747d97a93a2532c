/** Databases, settings and commands for the @tango/auth suites. */
import { configure, settings, type SettingsInput } from '../../core/conf';
import { close_connections } from '../../core/db';
import MigrateCommand from '../../core/management/commands/migrate';
import { service_url } from '../../core/testing/services';
import { capture_stream, postgres_database, sqlite_database, type TestDatabase } from '../../sessions/test/db_helpers';
import { PBKDF2PasswordHasher } from '../hashers';

export { capture_stream, type TestDatabase };

/** pbkdf2_sha256 hashes in Django's format with few iterations, so suites that are not about hashing stay quick. */
export class FastPBKDF2 extends PBKDF2PasswordHasher {
  override readonly iterations: number = 1000;
}

export const TEST_SECRET_KEY = 'django-insecure-auth-tests';

/** SQLite always; PostgreSQL when TEST_DATABASE_URL is set (a failure under REQUIRE_SERVICES=1 otherwise). */
export function databases(): Array<[string, () => TestDatabase]> {
  const out: Array<[string, () => TestDatabase]> = [['SQLite', sqlite_database]];
  const url = service_url('TEST_DATABASE_URL');
  if (url) out.push(['PostgreSQL', () => postgres_database(url)]);
  return out;
}

export function configure_auth(db: Pick<TestDatabase, 'settings'>, extra: Partial<SettingsInput> & Record<string, unknown> = {}): void {
  configure({
    SECRET_KEY: TEST_SECRET_KEY,
    INSTALLED_APPS: ['@tango/auth'],
    DATABASES: { default: db.settings },
    PASSWORD_HASHERS: [FastPBKDF2, 'django.contrib.auth.hashers.PBKDF2PasswordHasher'],
    ...extra,
  }, __dirname);
}

/** The same database with other settings (for a test that changes LOGIN_URL, SECRET_KEY, ...). */
export function reconfigure(extra: Record<string, unknown>): void {
  configure_auth({ settings: settings.DATABASES.default }, extra);
}

export async function migrate(): Promise<string> {
  const cmd = new MigrateCommand();
  const out = capture_stream();
  cmd.stdout = out;
  await cmd.handle([], { database: 'default' });
  return out.text();
}

/** A fresh, migrated database per test, dropped afterwards. */
export function with_database(make: () => TestDatabase, extra: Record<string, unknown> = {}): { db: () => TestDatabase } {
  let db: TestDatabase;
  beforeEach(async () => {
    db = make();
    await db.create();
    configure_auth(db, extra);
    await migrate();
  });
  afterEach(async () => {
    await close_connections();
    await db.drop();
  });
  return { db: () => db };
}
