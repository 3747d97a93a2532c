/**
 * Settings for tests of the demo site, run in-process: the project's
 * INSTALLED_APPS, middleware (taken from settings.ts, so the tests run what
 * the site runs, CSRF protection and authentication included) and root
 * URLconf, the tutorial's time zone, and a session engine with its store (a
 * SQLite file in a temp dir, migrated by MigrateCommand as `manage.ts
 * migrate` would), holding the seed users DEMO_USERS, each with the password
 * DEMO_PASSWORD.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import MigrateCommand from '@tango/core/management/commands/migrate';
import type { Client, ClientResponse } from '@tango/core/testing';
import { User } from '@tango/auth';
import project from '../../../settings';
import { post_form } from './csrf_forms';

export const ROOT = path.resolve(__dirname, '../../..');

export type DemoEngine = 'db' | 'signed_cookies' | 'cache';

/** The users every demo test site has (what `createsuperuser` would make), and their password. */
export const DEMO_USERS = ['alice', 'bob', 'carol'];
export const DEMO_PASSWORD = 'demo password ✓';

/** The demo's login form, posted as a browser would (with its CSRF token). */
export function demo_login(client: Client, username: string, options: { remember?: boolean; password?: string } = {}): Promise<ClientResponse> {
  const form: Record<string, string> = { username, password: options.password ?? DEMO_PASSWORD };
  if (options.remember ?? true) form.remember = '1';
  return post_form(client, '/login/', form);
}

/** Configures the demo for `engine`; the returned function closes pools and removes the temp dir. */
export async function configure_demo_site(engine: DemoEngine, extra: Record<string, unknown> = {}): Promise<() => Promise<void>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-demo-site-'));
  configure({
    SECRET_KEY: 'demo-site-test-secret',
    ALLOWED_HOSTS: ['127.0.0.1', 'localhost'],
    ROOT_URLCONF: './urls',
    INSTALLED_APPS: project.INSTALLED_APPS,
    MIDDLEWARE: project.MIDDLEWARE,
    // Django's own tests hash with MD5 to stay fast; the hashing itself is tested in packages/auth.
    PASSWORD_HASHERS: ['django.contrib.auth.hashers.MD5PasswordHasher'],
    LOGIN_URL: '/login/',
    LOGIN_REDIRECT_URL: '/whoami/',
    LOGOUT_REDIRECT_URL: '/',
    TIME_ZONE: 'Asia/Shanghai',
    USE_TZ: false,
    SESSION_ENGINE: engine,
    DATABASES: { default: { ENGINE: 'sqlite3', NAME: path.join(dir, 'db.sqlite3') } },
    CACHES: { default: { BACKEND: 'locmem', LOCATION: dir } },
    ...extra,
  }, ROOT);
  // Every engine needs the database: the users live in auth_user whatever stores the sessions.
  const migrate = new MigrateCommand();
  migrate.stdout = new Writable({ write: (_chunk, _enc, cb) => cb() });
  await migrate.handle([], { database: 'default' });
  for (const name of DEMO_USERS) await User.create_user(name, `${name}@example.com`, DEMO_PASSWORD);
  return async () => {
    await close_connections();
    await close_caches();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
