/**
 * What the benchmark measures against: the engine configurations, the
 * services they use, and the Tango settings each one runs with.
 *
 * Every store the bench writes to is its own: the PostgreSQL schema
 * `tango_bench` (and `tango_bench_clear` for the clearsessions timing), Redis
 * database 7 with a key prefix, a Memcached key prefix, and files under
 * $TMPDIR/tango-bench. Test suites running beside the bench keep their data.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const BENCH_DIR = __dirname;
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
/** For manage.ts commands: TANGO_SETTINGS_MODULE=<this> BENCH_ENGINE=<engine id>. */
export const SETTINGS_MODULE = path.join(BENCH_DIR, 'settings.ts');
export const WORK_DIR = process.env.BENCH_WORK_DIR ?? path.join(os.tmpdir(), 'tango-bench');

export const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
export const MEMCACHED_LOCATION = process.env.BENCH_MEMCACHED ?? (process.env.TEST_MEMCACHED_URL ?? '127.0.0.1:11211').replace(/^memcached:\/\//, '');

export const PG_SCHEMA = 'tango_bench';
export const PG_CLEAR_SCHEMA = 'tango_bench_clear';
export const CACHE_KEY_PREFIX = 'tango_bench';
export const SQLITE_FILE = path.join(WORK_DIR, 'sessions.sqlite3');
/**
 * The baseline's copy of SQLITE_FILE (taken after the sessions are created):
 * two processes on one SQLite file interfere through its locks even when only
 * one is under load.
 */
export const SQLITE_BASELINE_FILE = path.join(WORK_DIR, 'baseline.sqlite3');
export const SESSION_DIR = path.join(WORK_DIR, 'files');
export const CLEAR_SESSION_DIR = path.join(WORK_DIR, 'clear-files');

/** The bench's own key, so cookies signed here mean nothing anywhere else. */
export const SECRET_KEY = 'tango-bench-secret-key-not-for-production-0123456789';
export const SESSION_COOKIE_NAME = 'sessionid';
export const SESSION_COOKIE_AGE = 1209600;

export const SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The URL each scenario requests, on Tango (bench/urls.ts) and on the baseline alike. */
export const PATHS: Record<Scenario, string> = {
  S1: '/get_cookie/',
  S2: '/add_cookie/',
  S3: '/get_session/',
  S4: '/add_session/',
  S5: '/update_session/',
  S6: '/update_session/',
};

export const SCENARIO_TEXT: Record<Scenario, string> = {
  S1: 'get_cookie: read a cookie, no session',
  S2: 'add_cookie: set a cookie',
  S3: 'read an existing session',
  S4: 'create a new session every request',
  S5: 'read and update an existing session every request',
  S6: 'S5 with every connection on one session (a hot session)',
};

/**
 * S6's target, as a share of the same engine's S5 throughput in the same run
 * (issue 20: a hot session keeps at least half of what many sessions get).
 */
export const HOT_TARGET = 0.5;

/** S1's Cookie header: a few cookies, as a browser sends them; no session cookie. */
export const S1_COOKIE_HEADER = 'username=zhiliao; lang=zh-hans; csrftoken=Vx2ZbQ7yKp4TnR8sLm3DwA6cFh9JgE1u';

/** The session engine configurations of S3–S5, plus `core` for S1/S2. */
export const ENGINES = ['db-sqlite', 'db-pg', 'cache-redis', 'cache-memcached', 'cached_db', 'file', 'signed_cookies'] as const;
export type EngineId = (typeof ENGINES)[number] | 'core';

export interface EngineInfo {
  /** SESSION_ENGINE short name. */
  session_engine: string;
  /** Needs the django_session table in PostgreSQL / SQLite. */
  pg?: boolean;
  sqlite?: boolean;
  redis?: boolean;
  memcached?: boolean;
  files?: boolean;
  /** What the baseline does per scenario (shown in the report). */
  floor: { S3: string; S4: string; S5: string };
}

export const ENGINE_INFO: Record<EngineId, EngineInfo> = {
  core: { session_engine: 'db', pg: true, floor: { S3: '-', S4: '-', S5: '-' } },
  'db-sqlite': {
    session_engine: 'db', sqlite: true,
    floor: { S3: 'SELECT', S4: 'INSERT', S5: 'SELECT + UPDATE' },
  },
  'db-pg': {
    session_engine: 'db', pg: true,
    floor: { S3: 'SELECT', S4: 'INSERT', S5: 'SELECT + UPDATE' },
  },
  'cache-redis': {
    session_engine: 'cache', redis: true,
    floor: { S3: 'GET', S4: 'SET NX EX', S5: 'GET + SET XX EX' },
  },
  'cache-memcached': {
    session_engine: 'cache', memcached: true,
    floor: { S3: 'get', S4: 'add', S5: 'get + replace' },
  },
  cached_db: {
    session_engine: 'cached_db', pg: true, redis: true,
    floor: { S3: 'Redis GET', S4: 'INSERT + Redis SET', S5: 'Redis GET + UPDATE + Redis SET' },
  },
  file: {
    session_engine: 'file', files: true,
    floor: { S3: 'readFile', S4: 'open(wx) + write + close', S5: 'readFile + open(r+) + write tmp + rename' },
  },
  signed_cookies: {
    session_engine: 'signed_cookies',
    floor: { S3: 'HMAC verify', S4: 'HMAC sign', S5: 'HMAC verify + sign' },
  },
};

/** What the baseline does for `scenario` on `engine` (S6 does S5's work, on one session). */
export function floor_of(scenario: Scenario, engine: EngineId): string {
  if (scenario === 'S1') return 'split Cookie header';
  if (scenario === 'S2') return 'write Set-Cookie';
  return ENGINE_INFO[engine].floor[scenario === 'S6' ? 'S5' : scenario];
}

export function is_engine(id: string): id is EngineId {
  return id === 'core' || (ENGINES as readonly string[]).includes(id);
}

/** Whether module `rel` (no extension) is in this tree: as TypeScript, or compiled (the `--serve` build). */
function module_exists(rel: string): boolean {
  return ['.ts', '.js', '/index.ts', '/index.js'].some((ext) => fs.existsSync(path.join(ROOT, rel + ext)));
}

/** Whether the sessions package (middleware and backends) is there to benchmark. */
export function sessions_available(): boolean {
  return module_exists('packages/sessions/middleware');
}

export function engine_available(id: EngineId): boolean {
  if (id === 'core') return true;
  if (!sessions_available()) return false;
  return module_exists(`packages/sessions/backends/${ENGINE_INFO[id].session_engine}`);
}

export interface SettingsOverrides {
  /** Schema for PostgreSQL (default PG_SCHEMA). */
  pg_schema?: string;
  /** Directory for the file engine (default SESSION_DIR). */
  session_dir?: string;
}

/**
 * `--contrib` (BENCH_CONTRIB=1, so the forked servers and manage.ts migrate
 * see it too): Django's default stack, in its order, to show what the CSRF,
 * auth and messages middleware cost a request that uses none of them.
 */
export const CONTRIB_MIDDLEWARE = [
  '@tango/sessions/middleware',
  '@tango/core/middleware/csrf',
  '@tango/auth/middleware',
  '@tango/messages/middleware',
];

/**
 * The settings a bench server (and `manage.ts` under bench/settings.ts) runs
 * with: the demo's settings, in production mode, on the engine's stores.
 */
export function bench_settings(engine: EngineId, o: SettingsOverrides = {}): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const demo = (require(path.join(ROOT, 'settings')) as { default: Record<string, unknown> }).default;
  const info = ENGINE_INFO[engine];
  const contrib = process.env.BENCH_CONTRIB === '1';
  const DATABASES: Record<string, unknown> = info.sqlite
    ? { default: { ENGINE: 'sqlite3', NAME: SQLITE_FILE } }
    : { default: { ENGINE: 'postgresql', URL: PG_URL, OPTIONS: { search_path: o.pg_schema ?? PG_SCHEMA } } };
  // BENCH_CACHE_OPTIONS='{"COMMAND_TIMEOUT":0}' tries cache OPTIONS without editing anything.
  const OPTIONS = process.env.BENCH_CACHE_OPTIONS ? (JSON.parse(process.env.BENCH_CACHE_OPTIONS) as Record<string, unknown>) : undefined;
  const CACHES: Record<string, unknown> = info.memcached
    ? { default: { BACKEND: 'memcached', LOCATION: MEMCACHED_LOCATION, KEY_PREFIX: CACHE_KEY_PREFIX, ...(OPTIONS && { OPTIONS }) } }
    : info.redis
      ? { default: { BACKEND: 'redis', LOCATION: REDIS_URL, KEY_PREFIX: CACHE_KEY_PREFIX, ...(OPTIONS && { OPTIONS }) } }
      : { default: { BACKEND: 'locmem' } };
  return {
    ...demo,
    SECRET_KEY,
    DEBUG: false,
    ALLOWED_HOSTS: ['127.0.0.1', 'localhost'],
    INSTALLED_APPS: contrib ? ['@tango/sessions', '@tango/auth'] : ['@tango/sessions'],
    MIDDLEWARE: !sessions_available() ? [] : contrib ? CONTRIB_MIDDLEWARE : ['@tango/sessions/middleware'],
    ROOT_URLCONF: path.join(BENCH_DIR, 'urls'),
    DATABASES,
    CACHES,
    SESSION_ENGINE: info.session_engine,
    SESSION_FILE_PATH: info.files ? (o.session_dir ?? SESSION_DIR) : null,
    SESSION_COOKIE_NAME,
    SESSION_COOKIE_AGE,
  };
}
