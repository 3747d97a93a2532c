/**
 * django/core/checks for Tango: the system checks `manage.ts check` runs (and
 * `check --deploy` with the deployment ones), each a function returning
 * CheckMessages.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settings } from './conf';
import { app_dir } from './management/discovery';
import { check_setting_names } from './conf/checks';
import { check_url_config } from './urls/checks';

/** A system-check result (django.core.checks.CheckMessage). */
export interface CheckMessage {
  level: 'INFO' | 'WARNING' | 'ERROR';
  id: string;
  msg: string;
  hint?: string;
}

export interface CheckOptions {
  /** `check --deploy`: also the deployment checks (Django's security.W0xx). */
  deploy: boolean;
}

export type Check = (options: CheckOptions) => CheckMessage[] | Promise<CheckMessage[]>;

const registry: Check[] = [];

export function register_check(check: Check): void {
  if (!registry.includes(check)) registry.push(check);
}

const INSECURE_PREFIXES = ['django-insecure-', 'tango-insecure-'];

register_check(({ deploy }) => {
  const out: CheckMessage[] = [];
  if (INSECURE_PREFIXES.some((p) => settings.SECRET_KEY.startsWith(p)) || settings.SECRET_KEY.length < 50) {
    out.push({
      level: 'WARNING', id: 'security.W009',
      msg: 'Your SECRET_KEY is the development fallback or too short: anyone who knows it can forge sessions and signed cookies.',
      hint: 'Set the SECRET_KEY environment variable to 50+ random characters in production.',
    });
  }
  if (deploy && settings.ALLOWED_HOSTS.length === 0) {
    out.push({
      level: 'WARNING', id: 'security.W020',
      msg: 'ALLOWED_HOSTS is empty: Tango then accepts any Host header (Django would refuse them all).',
      hint: "List the site's host names, e.g. ['example.com', '.example.com'].",
    });
  }
  if (deploy && settings.DEBUG) {
    out.push({ level: 'WARNING', id: 'security.W018', msg: 'You should not have DEBUG set to true in deployment.' });
  }
  return out;
});

register_check(() => check_setting_names());
register_check(() => check_url_config());

/** Loads `checks.ts` of every installed app so its checks register themselves. */
export function load_app_checks(): void {
  for (const app of settings.INSTALLED_APPS) {
    const dir = app_dir(app, settings.BASE_DIR);
    if (!dir) continue;
    for (const name of ['checks.ts', 'checks.js']) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) {
        require(file);
        break;
      }
    }
  }
}

export async function run_checks(options: CheckOptions = { deploy: false }): Promise<CheckMessage[]> {
  load_app_checks();
  const all: CheckMessage[] = [];
  for (const check of registry) all.push(...(await check(options)));
  return all;
}

/** The report `check` prints (django.core.management.base.BaseCommand.check's layout). */
export function format_check_messages(messages: CheckMessage[]): string {
  const lines: string[] = [];
  if (messages.length) {
    lines.push('System check identified some issues:\n');
    for (const level of ['ERROR', 'WARNING', 'INFO'] as const) {
      const group = messages.filter((m) => m.level === level);
      if (!group.length) continue;
      lines.push(`${level}S:`);
      for (const m of group) lines.push(`?: (${m.id}) ${m.msg}${m.hint ? `\n\tHINT: ${m.hint}` : ''}`);
      lines.push('');
    }
  }
  const count = messages.length;
  lines.push(`System check identified ${count === 0 ? 'no issues' : `${count} issue${count === 1 ? '' : 's'}`} (0 silenced).`);
  return lines.join('\n');
}
