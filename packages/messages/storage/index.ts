/**
 * django/contrib/messages/storage/__init__.py: the storage class
 * MESSAGE_STORAGE names, and default_storage(request).
 */
import { settings } from '@tango/core/conf';
import { ImproperlyConfigured } from '@tango/core/errors';
import type { HttpRequest } from '@tango/core/http/request';
import { register_memo } from '@tango/core/memos';
import { get_callable } from '@tango/core/module_loading';
import { BaseStorage, Message, type StorageClass } from './base';
import { CookieStorage } from './cookie';
import { FallbackStorage } from './fallback';
import { SessionStorage } from './session';

/** Django's dotted names (and Tango's own module paths) for the storages this package ships. */
const BUILTIN: Record<string, StorageClass> = {
  'django.contrib.messages.storage.cookie.CookieStorage': CookieStorage,
  'django.contrib.messages.storage.session.SessionStorage': SessionStorage,
  'django.contrib.messages.storage.fallback.FallbackStorage': FallbackStorage,
  '@tango/messages/storage/cookie.CookieStorage': CookieStorage,
  '@tango/messages/storage/session.SessionStorage': SessionStorage,
  '@tango/messages/storage/fallback.FallbackStorage': FallbackStorage,
};

function is_storage_class(value: unknown): value is StorageClass {
  return typeof value === 'function' && value.prototype instanceof BaseStorage;
}

let resolved: { spec: unknown; cls: StorageClass } | undefined;
register_memo('messages.storage_class', () => {
  resolved = undefined;
}, { settings: true });

/**
 * MESSAGE_STORAGE as a class: a class extending BaseStorage, or a module
 * path with the export after ':' or the last '.' ('./messages.MyStorage'),
 * or a module whose default export is one. Anything else is
 * ImproperlyConfigured, which stops start-up when the middleware is built.
 */
export function get_storage_class(spec: unknown = settings.MESSAGE_STORAGE): StorageClass {
  if (resolved !== undefined && resolved.spec === spec) return resolved.cls;
  let cls: StorageClass | undefined;
  if (is_storage_class(spec)) {
    cls = spec;
  } else if (typeof spec === 'string') {
    cls = Object.hasOwn(BUILTIN, spec) ? BUILTIN[spec] : undefined;
    if (cls === undefined) {
      let candidate: unknown;
      try {
        candidate = get_callable('MESSAGE_STORAGE', spec, settings.BASE_DIR);
      } catch (err) {
        if (!(err instanceof ImproperlyConfigured)) throw err;
      }
      if (is_storage_class(candidate)) cls = candidate;
    }
  }
  if (cls === undefined) {
    throw new ImproperlyConfigured(
      `Invalid setting MESSAGE_STORAGE = ${typeof spec === 'string' ? `'${spec}'` : typeof spec}: ` +
      "expected a class extending BaseStorage or a module path naming one ('module.ClassName').",
    );
  }
  resolved = { spec, cls };
  return cls;
}

/** A new storage of the MESSAGE_STORAGE class for this request. */
export function default_storage(request: HttpRequest): BaseStorage {
  return new (get_storage_class())(request);
}

export { BaseStorage, Message, CookieStorage, SessionStorage, FallbackStorage };
export type { StorageClass };
