import * as fs from 'node:fs';
import * as path from 'node:path';
import { settings, is_configured } from '../conf';

/** Where each command lives: core's own commands, then every installed app's. */
export function find_commands(): Map<string, string> {
  const found = new Map<string, string>();
  const dirs = [path.join(__dirname, 'commands')];
  if (is_configured()) for (const app of settings.INSTALLED_APPS) {
    const dir = app_dir(app, settings.BASE_DIR);
    if (dir) dirs.push(path.join(dir, 'management', 'commands'));
  }
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of names) {
      const m = /^([a-z][\w]*)\.(ts|js)$/.exec(file);
      if (m && !file.endsWith('.d.ts') && !file.endsWith('.test.ts')) found.set(m[1], path.join(dir, file));
    }
  }
  return found;
}

/** INSTALLED_APPS entries copied from a Django settings.py that name a Tango package. */
export const DJANGO_APP_NAMES: Readonly<Record<string, string>> = {
  'django.contrib.sessions': '@tango/sessions',
  'django.contrib.auth': '@tango/auth',
  'django.contrib.messages': '@tango/messages',
};

/**
 * An INSTALLED_APPS entry is a package name (`@tango/sessions`), a path from
 * BASE_DIR (`apps/demo`), or Django's name for a package Tango has (`django.contrib.auth`).
 */
export function app_dir(entry: string, base_dir: string): string | undefined {
  const app = DJANGO_APP_NAMES[entry] ?? entry;
  const local = path.resolve(base_dir, app);
  if (fs.existsSync(local)) return local;
  try {
    return path.dirname(require.resolve(`${app}/package.json`, { paths: [base_dir, __dirname] }));
  } catch {
    return undefined;
  }
}
