/**
 * Test-suite gating on real services: a suite whose service URL is unset is
 * skipped with a printed reason; under REQUIRE_SERVICES=1 (CI) the missing
 * URL is a failure instead.
 */
export type ServiceName = 'TEST_DATABASE_URL' | 'TEST_REDIS_URL' | 'TEST_MEMCACHED_URL';

export const SERVICE_NAMES: readonly ServiceName[] = ['TEST_DATABASE_URL', 'TEST_REDIS_URL', 'TEST_MEMCACHED_URL'];

/** Set by jest_global_setup once it has printed the reason for the whole run, so suites do not repeat it. */
const REPORTED = 'TANGO_SKIPS_REPORTED';

/** The one line that says which services are missing, or undefined when all are set. */
export function missing_services_line(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = SERVICE_NAMES.filter((name) => !env[name]);
  if (missing.length === 0) return undefined;
  return `skipping suites that need ${missing.join(', ')}: ${missing.length === 1 ? 'it is' : 'they are'} not set`;
}

/**
 * For jest's globalSetup: prints the reason once for the whole run (instead of
 * once per suite) and tells the suites it was said.
 */
export function report_missing_services(): void {
  if (process.env.REQUIRE_SERVICES === '1') return;
  const line = missing_services_line();
  if (line) process.stdout.write(`${line}\n`);
  process.env[REPORTED] = '1';
}

export function service_url(name: ServiceName): string | undefined {
  const url = process.env[name];
  if (url) return url;
  if (process.env.REQUIRE_SERVICES === '1') {
    throw new Error(`${name} is not set but REQUIRE_SERVICES=1: the suite that needs it cannot be skipped.`);
  }
  if (process.env[REPORTED] !== '1') process.stdout.write(`skipping suites that need ${name}: it is not set\n`);
  return undefined;
}

/** What a suite needs, or why it is not here (with a stand-in its body can be declared with, never run). */
export type Needed<T> = { value: T } | { missing: string; stand_in: T };

/**
 * `describe(title)` given what the suite needs. When that is missing, the
 * suite is declared with `describe.skip` and the reason printed (`quiet`:
 * printed once for the run already); under REQUIRE_SERVICES=1 (CI) it is an
 * error instead, so CI never skips a suite. The project's one conditional skip.
 */
export function describe_needing<T>(title: string, needed: Needed<T>, fn: (value: T) => void, quiet = false): void {
  if ('value' in needed) {
    describe(title, () => fn(needed.value));
    return;
  }
  if (process.env.REQUIRE_SERVICES === '1') {
    throw new Error(`REQUIRE_SERVICES=1 but ${needed.missing}: the suite '${title}' cannot be skipped.`);
  }
  if (!quiet) process.stdout.write(`skipping '${title}': ${needed.missing}\n`);
  describe.skip(`${title} (${needed.missing})`, () => fn(needed.stand_in));
}

/** `describe` when the service is configured, `describe.skip` (with the printed reason) otherwise. */
export function describe_with(name: ServiceName): (title: string, fn: (url: string) => void) => void {
  const url = service_url(name);
  return (title, fn) => describe_needing(title, url ? { value: url } : { missing: `${name} is not set`, stand_in: '' }, fn, true);
}
