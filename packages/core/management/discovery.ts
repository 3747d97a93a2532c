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

/** An INSTALLED_APPS entry is a package name (`@tango/sessions`) or a path from BASE_DIR (`apps/demo`). */
export function app_dir(app: string, base_dir: string): string | undefined {
  const local = path.resolve(base_dir, app);
  if (fs.existsSync(local)) return local;
  try {
    return path.dirname(require.resolve(`${app}/package.json`, { paths: [base_dir, __dirname] }));
  } catch {
    return undefined;
  }
}
