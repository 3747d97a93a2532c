/**
 * Settings for tests of the demo site, run in-process: the project's
 * INSTALLED_APPS, middleware (taken from settings.ts, so the tests run what
 * the site runs, CSRF protection included) and root URLconf, the tutorial's
 * time zone, and a session engine with its store (a SQLite file in a temp
 * dir, migrated by MigrateCommand as `manage.ts migrate` would).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import MigrateCommand from '@tango/core/management/commands/migrate';
import project from '../../../settings';

export const ROOT = path.resolve(__dirname, '../../..');

export type DemoEngine = 'db' | 'signed_cookies' | 'cache';

/** Configures the demo for `engine`; the returned function closes pools and removes the temp dir. */
export async function configure_demo_site(engine: DemoEngine, extra: Record<string, unknown> = {}): Promise<() => Promise<void>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-demo-site-'));
  configure({
    SECRET_KEY: 'demo-site-test-secret',
    ALLOWED_HOSTS: ['127.0.0.1', 'localhost'],
    ROOT_URLCONF: './urls',
    INSTALLED_APPS: project.INSTALLED_APPS,
    MIDDLEWARE: project.MIDDLEWARE,
    TIME_ZONE: 'Asia/Shanghai',
    USE_TZ: false,
    SESSION_ENGINE: engine,
    DATABASES: { default: { ENGINE: 'sqlite3', NAME: path.join(dir, 'db.sqlite3') } },
    CACHES: { default: { BACKEND: 'locmem', LOCATION: dir } },
    ...extra,
  }, ROOT);
  if (engine === 'db') {
    const migrate = new MigrateCommand();
    migrate.stdout = new Writable({ write: (_chunk, _enc, cb) => cb() });
    await migrate.handle([], { database: 'default' });
  }
  return async () => {
    await close_connections();
    await close_caches();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
