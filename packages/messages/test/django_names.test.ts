/**
 * Names a Django settings.py uses for messages, accepted as they are:
 * the middleware's dotted path in MIDDLEWARE, the app in INSTALLED_APPS
 * (for migrate), and the storages in MESSAGE_STORAGE.
 */
import { configure } from '@tango/core/conf';
import { migration_apps } from '@tango/core/management/commands/migrate';
import { import_middleware } from '@tango/core/middleware';
import { CookieStorage, FallbackStorage, SessionStorage, get_storage_class } from '..';
import { MessageMiddleware } from '../middleware';
import { SECRET_KEY } from './helpers';

beforeEach(() => configure({ SECRET_KEY }));

it("'django.contrib.messages.middleware.MessageMiddleware' is MessageMiddleware", () => {
  expect(import_middleware('django.contrib.messages.middleware.MessageMiddleware')).toBe(MessageMiddleware);
  expect(import_middleware('@tango/messages/middleware')).toBe(MessageMiddleware);
});

it("INSTALLED_APPS may list 'django.contrib.messages' (migrate finds @tango/messages, which has no migrations)", () => {
  configure({ SECRET_KEY, INSTALLED_APPS: ['django.contrib.sessions', 'django.contrib.messages'] });
  expect(migration_apps().map((a) => a.label)).toEqual(['sessions', 'messages']);
});

it("Django's storage paths name the same classes", () => {
  expect(get_storage_class('django.contrib.messages.storage.fallback.FallbackStorage')).toBe(FallbackStorage);
  expect(get_storage_class('django.contrib.messages.storage.cookie.CookieStorage')).toBe(CookieStorage);
  expect(get_storage_class('django.contrib.messages.storage.session.SessionStorage')).toBe(SessionStorage);
});
