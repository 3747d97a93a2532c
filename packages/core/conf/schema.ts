/**
 * The settings schema (zod), with Django's defaults (django/conf/global_settings.py):
 * a bad value stops start-up with one line naming the setting, the value and
 * what was expected. docs/settings.md documents every setting here.
 */
import { z } from 'zod';
import { is_valid_timezone } from '../timezone';

/** Django's short names for the built-in session engines. */
export const SESSION_ENGINE_SHORT_NAMES: Record<string, string> = {
  db: '@tango/sessions/backends/db',
  file: '@tango/sessions/backends/file',
  cache: '@tango/sessions/backends/cache',
  cached_db: '@tango/sessions/backends/cached_db',
  signed_cookies: '@tango/sessions/backends/signed_cookies',
};

// Django's own dotted names, so a settings.py ports over unchanged.
for (const short of Object.keys(SESSION_ENGINE_SHORT_NAMES)) {
  SESSION_ENGINE_SHORT_NAMES[`django.contrib.sessions.backends.${short}`] = SESSION_ENGINE_SHORT_NAMES[short];
}

const seconds = z.number().int('a whole number of seconds').nonnegative('a whole number of seconds >= 0');

const millis = z.number().int('a whole number of milliseconds').nonnegative('a whole number of milliseconds >= 0 (0 = no limit)');

const samesite = z.union([
  z.literal(false),
  z.null(),
  z.string().refine((s) => ['lax', 'strict', 'none'].includes(s.toLowerCase()), "'Lax', 'Strict', 'None' or false"),
]);

const database = z.object({
  ENGINE: z.string({ error: "an ENGINE: 'sqlite3' or 'postgresql'" }).refine(
    (e) => /(^|\.)(sqlite3|postgresql|postgres)$/.test(e), "'sqlite3' or 'postgresql'"),
  NAME: z.string().optional(),
  HOST: z.string().optional(),
  PORT: z.union([z.number().int(), z.string()]).optional(),
  USER: z.string().optional(),
  PASSWORD: z.string().optional(),
  URL: z.string().min(1, 'a non-empty database URL').optional(),
  POOL: z.object({ min: z.number().int().nonnegative().optional(), max: z.number().int().positive().optional() })
    .refine((p) => (p.min ?? 0) <= (p.max ?? 10), 'min no larger than max (defaults: min 0, max 10)').optional(),
  /** Milliseconds to wait for a connection or a query before giving up (a 5xx, never a hang). */
  TIMEOUT: z.number().int().positive().optional(),
  /** Driver options; the keys Tango reads itself are checked here, the rest pass through. */
  OPTIONS: z.object({
    init_command: z.string().optional(),
  }).loose().optional(),
}).loose();

/** Maps a CACHES BACKEND, short or Django-dotted, to the kind of store. */
export function cache_backend_kind(backend: string): 'locmem' | 'redis' | 'memcached' | undefined {
  const b = backend.toLowerCase();
  if (/(^|\.)locmem(cache)?$/.test(b)) return 'locmem';
  if (/(^|\.)redis(cache)?$/.test(b)) return 'redis';
  if (/(^|\.)(memcached|pymemcachecache|pylibmccache|memcachedcache)$/.test(b)) return 'memcached';
  return undefined;
}

const cache = z.object({
  BACKEND: z.string().refine((b) => cache_backend_kind(b) !== undefined, "'locmem', 'redis' or 'memcached' (or Django's LocMemCache, RedisCache, PyMemcacheCache)"),
  LOCATION: z.union([z.string(), z.array(z.string())]).optional(),
  TIMEOUT: z.number().int().positive().optional(),
  KEY_PREFIX: z.string().optional(),
}).loose();

const module_or_function = z.union([z.string().min(1), z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'a module path or a function')]);

export const settings_schema = z.object({
  SECRET_KEY: z.string({ error: 'a non-empty string' }).min(1, 'a non-empty string'),
  SECRET_KEY_FALLBACKS: z.array(z.string().min(1, 'non-empty old keys')).default([]),
  DEBUG: z.boolean().default(false),
  ALLOWED_HOSTS: z.array(z.string()).default([]),
  INSTALLED_APPS: z.array(z.string()).default([]),
  MIDDLEWARE: z.array(module_or_function).default([]),
  ROOT_URLCONF: z.union([z.string(), z.array(z.unknown())]).optional(),
  TIME_ZONE: z.string().refine(is_valid_timezone, 'an IANA time zone such as \'UTC\' or \'Asia/Shanghai\'').default('America/Chicago'),
  USE_TZ: z.boolean().default(true),
  DATABASES: z.record(z.string(), database).default({ default: { ENGINE: 'sqlite3', NAME: 'db.sqlite3' } }),
  CACHES: z.record(z.string(), cache).default({ default: { BACKEND: 'locmem' } }),
  SESSION_ENGINE: z.string().min(1).default('@tango/sessions/backends/db'),
  SESSION_COOKIE_NAME: z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/, 'a cookie name made of token characters').default('sessionid'),
  SESSION_COOKIE_AGE: seconds.default(1209600),
  SESSION_COOKIE_DOMAIN: z.string().nullable().default(null),
  SESSION_COOKIE_PATH: z.string().default('/'),
  SESSION_COOKIE_SECURE: z.boolean().default(false),
  SESSION_COOKIE_HTTPONLY: z.boolean().default(true),
  SESSION_COOKIE_SAMESITE: samesite.default('Lax'),
  SESSION_SAVE_EVERY_REQUEST: z.boolean().default(false),
  SESSION_EXPIRE_AT_BROWSER_CLOSE: z.boolean().default(false),
  SESSION_FILE_PATH: z.string().nullable().default(null),
  SESSION_CACHE_ALIAS: z.string().default('default'),
  SESSION_SERIALIZER: z.string().refine((s) => /(^|\.)(json|JSONSerializer)$/.test(s), "'json' (the only serializer Django still ships)").default('json'),
  /** A module exporting `schema`, a zod schema the loaded session data must satisfy (docs/sessions.md); null: no check. */
  SESSION_DATA_SCHEMA: z.string().min(1).nullable().default(null),
  SIGNED_COOKIE_LEGACY_SALT_FALLBACK: z.boolean().default(true),
  /** Milliseconds a session store may take before the request fails with a 5xx (0 = no limit). */
  SESSION_STORE_TIMEOUT: z.number().int('a whole number of milliseconds').nonnegative('a whole number of milliseconds >= 0').default(5000),
  /**
   * Bytes a compressed signed value (signing.loads, the signed_cookies
   * session) may inflate to; more is a BadSignature. null: no limit.
   */
  SIGNING_MAX_DECOMPRESSED_SIZE: z.number().int('a whole number of bytes').positive('a whole number of bytes > 0').nullable().default(1024 * 1024),
  // Messages (django/contrib/messages; docs/messages.md).
  MESSAGE_STORAGE: module_or_function.default('@tango/messages/storage/fallback.FallbackStorage'),
  MESSAGE_LEVEL: z.number().int('a whole number such as 20 (INFO)').default(20),
  MESSAGE_TAGS: z.record(z.string(), z.string()).refine((tags) => Object.keys(tags).every((k) => /^-?\d+$/.test(k)),
    "message levels (whole numbers) as keys, such as { 40: 'danger' }").default({}),
  // CSRF (django/conf/global_settings.py; docs/csrf.md).
  CSRF_COOKIE_NAME: z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/, 'a cookie name made of token characters').default('csrftoken'),
  CSRF_COOKIE_AGE: seconds.nullable().default(60 * 60 * 24 * 7 * 52),
  CSRF_COOKIE_DOMAIN: z.string().nullable().default(null),
  CSRF_COOKIE_PATH: z.string().default('/'),
  CSRF_COOKIE_SECURE: z.boolean().default(false),
  CSRF_COOKIE_HTTPONLY: z.boolean().default(false),
  CSRF_COOKIE_SAMESITE: samesite.default('Lax'),
  CSRF_HEADER_NAME: z.string().min(1, "a header's META name such as 'HTTP_X_CSRFTOKEN'").default('HTTP_X_CSRFTOKEN'),
  // Django 4.0+ requires the scheme (its check 4_0.E001); a bare host would never match an Origin.
  CSRF_TRUSTED_ORIGINS: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]+$/, "origins with a scheme, such as 'https://example.com' or 'https://*.example.com'")).default([]),
  CSRF_USE_SESSIONS: z.boolean().default(false),
  CSRF_FAILURE_VIEW: module_or_function.default('@tango/core/views/csrf.csrf_failure'),
  // Authentication (django/conf/global_settings.py; docs/auth.md).
  /** Where login_required sends a signed-out visitor: a path, a URL, or a URL pattern name. */
  LOGIN_URL: z.string().min(1, 'a path, a URL or a URL pattern name').default('/accounts/login/'),
  LOGIN_REDIRECT_URL: z.string().min(1, 'a path, a URL or a URL pattern name').default('/accounts/profile/'),
  LOGOUT_REDIRECT_URL: z.string().min(1, 'a path, a URL or a URL pattern name').nullable().default(null),
  /** Backends authenticate() tries in order; the name stored in the session must be one of these on both sides. */
  AUTHENTICATION_BACKENDS: z.array(z.string().min(1, 'backend paths')).min(1, 'at least one backend path').default(['django.contrib.auth.backends.ModelBackend']),
  /** Password hashers, preferred first: Django's dotted names or hasher classes. */
  PASSWORD_HASHERS: z.array(module_or_function).min(1, 'at least one hasher').default([
    'django.contrib.auth.hashers.PBKDF2PasswordHasher',
    'django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher',
    'django.contrib.auth.hashers.ScryptPasswordHasher',
  ]),
  /** [header, value] that marks a request as HTTPS behind a proxy (Django's SECURE_PROXY_SSL_HEADER), or null. */
  SECURE_PROXY_SSL_HEADER: z.tuple([z.string().min(1), z.string().min(1)]).nullable().default(null),
  /** Redirect /path to /path/ when only the latter matches (django.middleware.common). */
  APPEND_SLASH: z.boolean().default(true),
  // Slow clients (docs/deployment.md): every connection has a bounded time to
  // send its request and there is a bounded number of them, so a client
  // dribbling bytes cannot hold the server. 0 = no limit.
  /** Milliseconds a client has to send the request line and headers (Node's headersTimeout). */
  REQUEST_HEADERS_TIMEOUT: millis.default(20_000),
  /** Milliseconds a client has to send the whole request, body included (Node's requestTimeout). */
  REQUEST_TIMEOUT: millis.default(60_000),
  /** Milliseconds an idle keep-alive connection is kept open between requests. */
  KEEP_ALIVE_TIMEOUT: millis.default(72_000),
  /** Open connections per server process; more are closed as they arrive (net.Server.maxConnections). */
  MAX_CONNECTIONS: z.number().int('a whole number').nonnegative('a whole number >= 0 (0 = no limit)').default(1000),
}).loose().refine(
  (s) => !(s.REQUEST_TIMEOUT > 0 && s.REQUEST_HEADERS_TIMEOUT > s.REQUEST_TIMEOUT),
  { message: 'no larger than REQUEST_TIMEOUT (the headers are part of the request)', path: ['REQUEST_HEADERS_TIMEOUT'] },
);

export type SettingsInput = z.input<typeof settings_schema> & Record<string, unknown>;
export type Settings = Readonly<z.output<typeof settings_schema> & { BASE_DIR: string } & Record<string, unknown>>;
export type DatabaseSettings = z.output<typeof database>;
export type CacheSettings = z.output<typeof cache>;
