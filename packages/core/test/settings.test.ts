/** Settings are validated once at start-up: Django's defaults, and one clear line per bad value. */
import { validate_settings, configure, settings, override_settings } from '@tango/core';

describe('settings defaults', () => {
  it("mirror Django's global_settings", () => {
    const s = validate_settings({ SECRET_KEY: 'k' });
    expect(s).toMatchObject({
      SECRET_KEY_FALLBACKS: [], TIME_ZONE: 'America/Chicago', USE_TZ: true,
      DATABASES: { default: { ENGINE: 'sqlite3', NAME: 'db.sqlite3' } }, CACHES: { default: { BACKEND: 'locmem' } },
      SESSION_ENGINE: '@tango/sessions/backends/db', SESSION_COOKIE_NAME: 'sessionid', SESSION_COOKIE_AGE: 1209600,
      SESSION_COOKIE_DOMAIN: null, SESSION_COOKIE_PATH: '/', SESSION_COOKIE_SECURE: false, SESSION_COOKIE_HTTPONLY: true,
      SESSION_COOKIE_SAMESITE: 'Lax', SESSION_SAVE_EVERY_REQUEST: false, SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
      SESSION_FILE_PATH: null, SESSION_CACHE_ALIAS: 'default', SESSION_SERIALIZER: 'json', MIDDLEWARE: [], INSTALLED_APPS: [],
      DEBUG: false, ALLOWED_HOSTS: [], SIGNED_COOKIE_LEGACY_SALT_FALLBACK: true,
    });
  });

  it('accepts the short engine names and unknown UPPER_CASE user settings', () => {
    for (const short of ['db', 'file', 'cache', 'cached_db', 'signed_cookies']) {
      expect(validate_settings({ SECRET_KEY: 'k', SESSION_ENGINE: short }).SESSION_ENGINE).toBe(`@tango/sessions/backends/${short}`);
    }
    expect(validate_settings({ SECRET_KEY: 'k', MY_FEATURE_FLAG: 3 }).MY_FEATURE_FLAG).toBe(3);
  });

  it('are frozen', () => {
    const s = validate_settings({ SECRET_KEY: 'k' });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.DATABASES.default)).toBe(true);
  });

  it('override_settings replaces values for a block, then restores them', async () => {
    configure({ SECRET_KEY: 'k', SESSION_COOKIE_AGE: 10 });
    await override_settings({ SESSION_COOKIE_AGE: 20 }, () => expect(settings.SESSION_COOKIE_AGE).toBe(20));
    expect(settings.SESSION_COOKIE_AGE).toBe(10);
  });
});

test('POOL takes min or max alone, the other keeping its default', () => {
  for (const POOL of [{ max: 20 }, { min: 2 }]) {
    const s = validate_settings({ SECRET_KEY: 'k', DATABASES: { default: { ENGINE: 'postgresql', URL: 'postgres://h/d', POOL } } });
    expect(s.DATABASES.default.POOL).toEqual(POOL);
  }
});

describe('a bad setting is one line naming the setting, the value and what is expected', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['empty SECRET_KEY', { SECRET_KEY: '' }, /^Invalid setting SECRET_KEY = '': expected a non-empty string\.$/],
    ['missing SECRET_KEY', {}, /^Invalid setting SECRET_KEY = \(missing\): expected a non-empty string\.$/],
    ['SESSION_COOKIE_AGE -1', { SESSION_COOKIE_AGE: -1 }, /^Invalid setting SESSION_COOKIE_AGE = -1: expected a whole number of seconds >= 0\.$/],
    ['SESSION_COOKIE_AGE 1.5', { SESSION_COOKIE_AGE: 1.5 }, /^Invalid setting SESSION_COOKIE_AGE = 1\.5: expected a whole number of seconds\.$/],
    ['SESSION_COOKIE_SAMESITE Sometimes', { SESSION_COOKIE_SAMESITE: 'Sometimes' }, /^Invalid setting SESSION_COOKIE_SAMESITE = 'Sometimes': expected 'Lax', 'Strict', 'None' or false\.$/],
    ['TIME_ZONE Mars/Olympus', { TIME_ZONE: 'Mars/Olympus' }, /^Invalid setting TIME_ZONE = 'Mars\/Olympus': expected an IANA time zone/],
    ['unknown SESSION_ENGINE', { SESSION_ENGINE: 'nosuch' }, /^Invalid setting SESSION_ENGINE = 'nosuch': expected one of db, file, cache, cached_db, signed_cookies/],
    ['DATABASES entry without ENGINE', { DATABASES: { default: { NAME: 'x.sqlite3' } } }, /^Invalid setting DATABASES\.default\.ENGINE = \(missing\): expected an ENGINE: 'sqlite3' or 'postgresql'\.$/],
    ['USE_TZ not a boolean', { USE_TZ: 'yes' }, /^Invalid setting USE_TZ = 'yes': expected/],
    ['POOL min above max', { DATABASES: { default: { ENGINE: 'postgresql', URL: 'postgres://h/d', POOL: { min: 5, max: 2 } } } },
      /^Invalid setting DATABASES\.default\.POOL = \{.*\}: expected min no larger than max \(defaults: min 0, max 10\)\.$/],
    ['POOL max 0', { DATABASES: { default: { ENGINE: 'postgresql', URL: 'postgres://h/d', POOL: { max: 0 } } } },
      /^Invalid setting DATABASES\.default\.POOL\.max = 0: expected/],
    // A secret's value is never echoed (SafeExceptionReporterFilter's names).
    ['a database PASSWORD of the wrong type', { DATABASES: { default: { ENGINE: 'postgresql', PASSWORD: 12345678 } } },
      /^Invalid setting DATABASES\.default\.PASSWORD = \*{20}: expected a string\.$/],
  ];
  it.each(cases)('%s', (_name, raw, message) => {
    const with_key = 'SECRET_KEY' in raw || Object.keys(raw).length === 0 ? raw : { SECRET_KEY: 'k', ...raw };
    let caught: Error | undefined;
    try {
      validate_settings(with_key);
    } catch (err) {
      caught = err as Error;
    }
    expect(caught?.name).toBe('ImproperlyConfigured');
    expect(caught?.message).toMatch(message);
    expect(caught?.message).not.toContain('\n');
  });
});
