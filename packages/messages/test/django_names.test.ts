/**
 * Names a Django settings.py uses for messages, accepted as they are:
 * the middleware's dotted path in MIDDLEWARE, the app in INSTALLED_APPS
 * (for migrate), and the storages in MESSAGE_STORAGE.
 */
import { configure, validate_settings } from '@tango/core/conf';
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

describe('bad MESSAGE_* settings stop start-up with one line naming them', () => {
  it.each([
    [{ MESSAGE_LEVEL: 'high' }, /^Invalid setting MESSAGE_LEVEL = 'high': expected /],
    [{ MESSAGE_LEVEL: 2.5 }, /^Invalid setting MESSAGE_LEVEL = 2\.5: expected a whole number such as 20 \(INFO\)\.$/],
    [{ MESSAGE_TAGS: { error: 'danger' } }, /^Invalid setting MESSAGE_TAGS = .*: expected message levels \(whole numbers\) as keys, such as \{ 40: 'danger' \}\.$/],
    [{ MESSAGE_TAGS: { 40: 7 } }, /^Invalid setting MESSAGE_TAGS\.40 = 7: expected /],
  ])('%j', (bad, message) => {
    expect(() => validate_settings({ SECRET_KEY, ...bad })).toThrow(message);
  });
});
