/**
 * Resolves settings.SESSION_ENGINE to its SessionStore class, as Django's
 * SessionMiddleware does with import_module(settings.SESSION_ENGINE). Engines
 * are found by convention (a module exporting SessionStore), so there is no
 * registry; the built-ins are loaded from this package by path, and only the
 * configured one is ever required (its driver with it).
 */
import * as path from 'node:path';
import { settings, SESSION_ENGINE_SHORT_NAMES } from '@tango/core/conf';
import { ImproperlyConfigured } from '@tango/core/errors';
import type { SessionStoreClass } from './base';

const BUILTIN = /^@tango\/sessions\/backends\/([a-z_]+)$/;

export function get_session_store_class(engine: string = settings.SESSION_ENGINE): SessionStoreClass {
  const spec = SESSION_ENGINE_SHORT_NAMES[engine] ?? engine;
  const builtin = BUILTIN.exec(spec)?.[1];
  const file = builtin ? path.join(__dirname, 'backends', builtin)
    : spec.startsWith('.') ? path.resolve(settings.BASE_DIR, spec) : spec;
  let mod: { SessionStore?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file) as { SessionStore?: unknown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(file)) {
      throw new ImproperlyConfigured(`Invalid setting SESSION_ENGINE = '${engine}': no module '${spec}' was found.`);
    }
    throw err;
  }
  if (typeof mod.SessionStore !== 'function') {
    throw new ImproperlyConfigured(`Invalid setting SESSION_ENGINE = '${engine}': the module does not export a SessionStore class.`);
  }
  return mod.SessionStore as SessionStoreClass;
}
