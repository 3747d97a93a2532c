/**
 * django/conf/__init__.py for Tango: `settings`, the one validated and frozen
 * settings object every module reads, and configure() / load_settings() /
 * override_settings() that replace it. A change forgets the memos derived
 * from settings (memos.ts) and tells the on_settings_changed() listeners
 * (connections and caches built from the old settings close).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImproperlyConfigured } from '../errors';
import { forget_settings_memos } from '../memos';
import { CLEANSED_SUBSTITUTE, is_hidden_setting } from '../views/debug';
import { settings_schema, SESSION_ENGINE_SHORT_NAMES, type Settings, type SettingsInput } from './schema';

export type { Settings, SettingsInput, DatabaseSettings, CacheSettings } from './schema';
export { SESSION_ENGINE_SHORT_NAMES } from './schema';

/** Typed identity helper for `settings.ts`: `export default defineSettings({...})`. */
export function defineSettings<T extends SettingsInput>(s: T): T {
  return s;
}

const unconfigured = new Proxy({} as Settings, {
  get(_t, prop) {
    if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
    throw new ImproperlyConfigured(
      `Requested setting ${String(prop)}, but settings are not configured. Call configure() or set TANGO_SETTINGS_MODULE.`);
  },
});

/** The active settings (django.conf.settings): validated once, frozen. */
export let settings: Settings = unconfigured;

type Listener = (s: Settings) => void;
const listeners = new Set<Listener>();

/** Called whenever settings are (re)configured, so modules can drop what they derived from the old ones. */
export function on_settings_changed(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return '(missing)';
  if (typeof v === 'function') return '<function>';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function value_at(obj: unknown, keys: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** Validates raw settings into a frozen object, throwing one line that names the setting, value and expectation. */
export function validate_settings(raw: SettingsInput | Record<string, unknown>, base_dir = process.cwd()): Settings {
  const result = settings_schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = issue.path.map(String).join('.');
    const value = value_at(raw, issue.path);
    // zod's own wording for a wrong type ("Invalid input: expected number…") reads badly after "expected".
    const expected = issue.code === 'invalid_type' && value !== undefined && issue.expected !== 'int' ? `a ${issue.expected}`
      : issue.code === 'invalid_union' ? 'one of the accepted forms (see docs/settings.md)'
      : issue.message;
    // A secret's value stays out of consoles, logs and runserver's error page (SafeExceptionReporterFilter's names).
    const secret = is_hidden_setting(name) && (typeof value === 'number' || (typeof value === 'string' && value !== ''));
    throw new ImproperlyConfigured(`Invalid setting ${name} = ${secret ? CLEANSED_SUBSTITUTE : show(value)}: expected ${expected}.`);
  }
  const data = result.data;
  const engine = SESSION_ENGINE_SHORT_NAMES[data.SESSION_ENGINE] ?? data.SESSION_ENGINE;
  const known = new Set(Object.values(SESSION_ENGINE_SHORT_NAMES));
  if (!known.has(engine) && !is_resolvable(engine, base_dir)) {
    throw new ImproperlyConfigured(
      `Invalid setting SESSION_ENGINE = '${data.SESSION_ENGINE}': expected one of ${Object.keys(SESSION_ENGINE_SHORT_NAMES).join(', ')} ` +
      `or a module exporting SessionStore.`);
  }
  if (!data.DATABASES.default) {
    throw new ImproperlyConfigured(`Invalid setting DATABASES = ${show(raw.DATABASES)}: expected a 'default' entry.`);
  }
  return deep_freeze({ ...data, SESSION_ENGINE: engine, BASE_DIR: base_dir }) as Settings;
}

function resolve_quietly(file: string): string | undefined {
  try {
    return require.resolve(file);
  } catch {
    return undefined;
  }
}

function is_resolvable(spec: string, base_dir: string): boolean {
  try {
    require.resolve(spec.startsWith('.') ? path.resolve(base_dir, spec) : spec, { paths: [base_dir, __dirname] });
    return true;
  } catch {
    return false;
  }
}

function deep_freeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deep_freeze(v);
  }
  return o;
}

/** Installs settings for the process (and for tests: call again to replace them). */
export function configure(raw: SettingsInput | Record<string, unknown>, base_dir?: string): Settings {
  settings = validate_settings(raw, base_dir);
  forget_settings_memos();
  for (const fn of listeners) fn(settings);
  return settings;
}

export function is_configured(): boolean {
  return settings !== unconfigured;
}

let loaded_from: { name: string; file?: string } | undefined;

/** The settings module as it was named (`./settings`, `--settings` or TANGO_SETTINGS_MODULE), and its file, once load_settings() ran. */
export function settings_module(): { name: string; file?: string } | undefined {
  return loaded_from;
}

/**
 * Loads the settings module named by `--settings`, TANGO_SETTINGS_MODULE, or
 * `./settings.ts` in `cwd`, and configures it. Its directory becomes BASE_DIR.
 */
export function load_settings(module_path?: string, cwd = process.cwd()): Settings {
  const spec = module_path ?? process.env.TANGO_SETTINGS_MODULE ?? './settings';
  // `settings_prod` means the file next to manage.ts first (as Django's dotted module would), a package second.
  const local = path.resolve(cwd, spec);
  const is_local = spec.startsWith('.') || path.isAbsolute(spec) || ['', '.ts', '.js'].some((ext) => fs.existsSync(local + ext));
  const file = is_local ? local : spec;
  loaded_from = { name: spec, file: resolve_quietly(file) };
  let mod: { default?: unknown };
  try {
    mod = require(file) as { default?: unknown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(file)) {
      // Name the file that was looked for and who asked for it; the generic hint only helps when nobody did.
      const files = /\.[cm]?[jt]s$/.test(local) ? [local] : [`${local}.ts`, `${local}.js`];
      const tried = ` (no file ${files.join(' or ')}${is_local ? '' : ' and no package of that name'})`;
      if (module_path !== undefined) throw new ImproperlyConfigured(`--settings ${spec}: settings module not found${tried}.`);
      if (process.env.TANGO_SETTINGS_MODULE !== undefined) throw new ImproperlyConfigured(`TANGO_SETTINGS_MODULE=${spec}: settings module not found${tried}.`);
      throw new ImproperlyConfigured(`No settings module: ${local}.ts not found; run manage.ts from the project folder, set TANGO_SETTINGS_MODULE or pass --settings.`);
    }
    throw err;
  }
  const raw = (mod.default ?? mod) as Record<string, unknown>;
  let base_dir: string;
  try {
    base_dir = path.dirname(require.resolve(file));
  } catch {
    base_dir = cwd;
  }
  return configure(raw, base_dir);
}

/** Runs `fn` with some settings replaced, then restores the old ones (django.test.override_settings). */
export async function override_settings<T>(changes: Record<string, unknown>, fn: () => T | Promise<T>): Promise<T> {
  const old = settings;
  configure({ ...old, ...changes }, old.BASE_DIR);
  try {
    return await fn();
  } finally {
    settings = old;
    forget_settings_memos();
    for (const l of listeners) l(settings);
  }
}
