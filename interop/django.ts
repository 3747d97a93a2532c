/**
 * Runs real Django (interop/django_project/driver.py) from the interop tests.
 *
 * The interpreter is DJANGO_PYTHON, default /usr/bin/python3: Debian's
 * python3-django lives there, while the `python3` on PATH may be another
 * Python without Django. When it cannot `import django` the Django suites are
 * skipped with a printed reason, except under REQUIRE_SERVICES=1 (CI), where
 * that is a failure, as for the service URLs (packages/core/testing/services.ts).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { service_url } from '../packages/core/testing/services';

export const DJANGO_PYTHON = process.env.DJANGO_PYTHON || '/usr/bin/python3';
export const DRIVER = path.join(__dirname, 'django_project', 'driver.py');

/** Why Django cannot be used here, or its version (and whether psycopg2 is there). Probed once per test file. */
function probe(): { version: string; psycopg2: boolean } | { reason: string } {
  const code = [
    'import sys, django',
    'try:\n    import psycopg2\n    pg = 1\nexcept ImportError:\n    pg = 0',
    'sys.stdout.write("%s %d" % (django.get_version(), pg))',
  ].join('\n');
  const r = spawnSync(DJANGO_PYTHON, ['-c', code], { encoding: 'utf8', timeout: 30000 });
  if (r.error) return { reason: `${DJANGO_PYTHON} cannot run (${r.error.message})` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop();
    return { reason: `${DJANGO_PYTHON} cannot import django (${last}); install python3-django or set DJANGO_PYTHON` };
  }
  const [version, pg] = r.stdout.trim().split(' ');
  return { version, psycopg2: pg === '1' };
}

let probed: ReturnType<typeof probe> | undefined;
const warned = new Set<string>();

function skip_or_fail(reason: string): undefined {
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`${reason}, but REQUIRE_SERVICES=1: the interop suites cannot be skipped.`);
  if (!warned.has(reason)) process.stdout.write(`skipping Django interop suites: ${reason}\n`);
  warned.add(reason);
  return undefined;
}

/** Django's version, or undefined (skip, reason printed once) when absent; throws under REQUIRE_SERVICES=1. */
export function django_version(): string | undefined {
  probed ??= probe();
  return 'version' in probed ? probed.version : skip_or_fail(probed.reason);
}

/**
 * The PostgreSQL URL for suites that need Django on PostgreSQL: undefined
 * (skip) without TEST_DATABASE_URL or without psycopg2 for DJANGO_PYTHON;
 * under REQUIRE_SERVICES=1 either is a failure.
 */
export function django_postgres_url(): string | undefined {
  if (!django_version()) return undefined;
  const url = service_url('TEST_DATABASE_URL');
  if (!url) return undefined;
  if (!(probed as { psycopg2: boolean }).psycopg2) {
    return skip_or_fail(`${DJANGO_PYTHON} cannot import psycopg2 (install python3-psycopg2); PostgreSQL suites need it`);
  }
  return url;
}

/** `describe` when Django is available, `describe.skip` with the printed reason otherwise. */
export function describe_with_django(title: string, fn: () => void): void {
  const version = django_version();
  // A conditional skip, allowed only because Django is absent (and never under CI).
  const suite = version ? describe : describe.skip;
  suite(version ? title : `${title} (Django unavailable)`, () => {
    fn();
    afterAll(close_all);
  });
}

/** Django-side settings, passed to interop_site/settings.py as DJANGO_* variables. */
export interface DjangoSettings {
  SECRET_KEY: string;
  USE_TZ?: boolean;
  TIME_ZONE?: string;
  /** sqlite3 file path, or a PostgreSQL URL plus schema. */
  database?: { engine: 'sqlite3'; name: string } | { engine: 'postgresql'; url: string; search_path: string };
  /** Short engine name: db, signed_cookies, file, cache, cached_db. */
  SESSION_ENGINE?: string;
  SESSION_COOKIE_AGE?: number;
  /** The file engine's directory. */
  SESSION_FILE_PATH?: string;
}

export type Op = { op: string; now?: number } & Record<string, unknown>;
export type Result = { ok: boolean; error?: string; message?: string } & Record<string, unknown>;

function environment(s: DjangoSettings): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Nothing from the outer environment may leak into Django's settings.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DJANGO_')) env[k] = v;
  env.DJANGO_SETTINGS_MODULE = 'interop_site.settings';
  env.DJANGO_SECRET_KEY = s.SECRET_KEY;
  env.DJANGO_USE_TZ = s.USE_TZ ? '1' : '0';
  env.DJANGO_TIME_ZONE = s.TIME_ZONE ?? 'UTC';
  if (s.SESSION_ENGINE) env.DJANGO_SESSION_ENGINE = s.SESSION_ENGINE;
  if (s.SESSION_COOKIE_AGE !== undefined) env.DJANGO_SESSION_COOKIE_AGE = String(s.SESSION_COOKIE_AGE);
  if (s.SESSION_FILE_PATH) env.DJANGO_SESSION_FILE_PATH = s.SESSION_FILE_PATH;
  const db = s.database;
  if (db?.engine === 'sqlite3') {
    env.DJANGO_DB_ENGINE = 'sqlite3';
    env.DJANGO_DB_NAME = db.name;
  } else if (db?.engine === 'postgresql') {
    env.DJANGO_DB_ENGINE = 'postgresql';
    env.DJANGO_DB_URL = db.url;
    env.DJANGO_DB_SEARCH_PATH = db.search_path;
  }
  // Python must not write .pyc files into the repository.
  env.PYTHONDONTWRITEBYTECODE = '1';
  return env;
}

const running = new Set<Django>();

/**
 * A Django process (driver.py serve) with fixed settings, started on first
 * use: `run` sends a batch of operations and resolves to one result per op.
 * Python + Django start-up costs 0.3 s to over a second on a busy machine, so
 * one process serves every batch of a suite; close() it (describe_with_django
 * does so after the suite) before its database is dropped.
 */
export class Django {
  #child: ChildProcessWithoutNullStreams | null = null;
  #stdout = '';
  #stderr = '';
  readonly #waiting: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];

  constructor(readonly settings: DjangoSettings) {}

  #start(): ChildProcessWithoutNullStreams {
    const child = spawn(DJANGO_PYTHON, [DRIVER, 'serve'], { env: environment(this.settings), stdio: 'pipe' });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.#stdout += chunk;
      for (let nl = this.#stdout.indexOf('\n'); nl >= 0; nl = this.#stdout.indexOf('\n')) {
        const line = this.#stdout.slice(0, nl);
        this.#stdout = this.#stdout.slice(nl + 1);
        this.#waiting.shift()?.resolve(line);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    const fail = (why: string) => {
      if (this.#child === child) this.#child = null;
      running.delete(this);
      const err = new Error(`Django driver ${why}${this.#stderr ? `:\n${this.#stderr.trim()}` : ''}`);
      for (const w of this.#waiting.splice(0)) w.reject(err);
    };
    child.on('error', (err) => fail(`could not run (${err.message})`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    this.#child = child;
    running.add(this);
    return child;
  }

  async run(ops: Op[]): Promise<Result[]> {
    const child = this.#child ?? this.#start();
    const line = await new Promise<string>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      child.stdin.write(`${JSON.stringify({ ops })}\n`);
    });
    const { results } = JSON.parse(line) as { results: Result[] };
    if (results.length !== ops.length) throw new Error(`driver returned ${results.length} results for ${ops.length} ops`);
    return results;
  }

  /** A single op that must succeed: its result, or an Error carrying Django's exception. */
  async one(op: Op): Promise<Result> {
    return must((await this.run([op]))[0], op.op);
  }

  /** Ends the process (closing its database connections) and waits for it. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin.end();
    await exited;
  }
}

/** Closes every Django process still running (after each describe_with_django suite). */
export async function close_all(): Promise<void> {
  await Promise.all([...running].map((d) => d.close()));
}

/** The result of an op that must have succeeded. */
export function must(r: Result, what = 'op'): Result {
  if (!r.ok) throw new Error(`Django ${what} failed: ${r.error}: ${r.message}`);
  return r;
}

/** What an operation threw, in the shape the driver reports Django's exceptions. */
export function outcome(fn: () => unknown): { ok: true; value: unknown } | { ok: false; error: string; message: string } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    const e = err as Error;
    return { ok: false, error: e.constructor?.name ?? e.name, message: e.message };
  }
}
