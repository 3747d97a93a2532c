/**
 * django.urls.get_callable / django.utils.module_loading.import_string for
 * settings that name a function (CSRF_FAILURE_VIEW): a function as is, or a
 * module path with the export after ':', '#' or the last '.'
 * ('@tango/core/views/csrf.csrf_failure', './views:refused'), or a module
 * whose default export is the function.
 */
import * as path from 'node:path';
import { ImproperlyConfigured } from './errors';

export type Callable = (...args: never[]) => unknown;

/** A module named by a setting, relative to base_dir or a package; undefined when it cannot be loaded. */
export function require_module(mod: string, base_dir: string): Record<string, unknown> | undefined {
  try {
    const file = mod.startsWith('.') ? path.resolve(base_dir, mod) : require.resolve(mod, { paths: [base_dir, __dirname] });
    return require(file) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function get_callable(setting: string, spec: string | Callable, base_dir: string): Callable {
  if (typeof spec === 'function') return spec;
  const attempts: Array<[string, string]> = [];
  const sep = Math.max(spec.lastIndexOf(':'), spec.lastIndexOf('#'), spec.lastIndexOf('.'));
  if (sep > 0 && !spec.slice(sep + 1).includes('/')) attempts.push([spec.slice(0, sep), spec.slice(sep + 1)]);
  attempts.push([spec, 'default']);
  for (const [mod, name] of attempts) {
    const loaded = require_module(mod, base_dir);
    if (loaded === undefined) continue;
    if (typeof loaded[name] === 'function') return loaded[name] as Callable;
  }
  throw new ImproperlyConfigured(`Invalid setting ${setting} = '${spec}': expected a function or a module path naming one ('module.function').`);
}
