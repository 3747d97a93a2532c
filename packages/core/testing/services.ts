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

/** `describe` when the service is configured, `describe.skip` (with the printed reason) otherwise. */
export function describe_with(name: ServiceName): (title: string, fn: (url: string) => void) => void {
  const url = service_url(name);
  // A conditional skip, allowed only because the service is absent (and never under CI).
  const suite = url ? describe : describe.skip;
  return (title, fn) => suite(url ? title : `${title} (${name} unset)`, () => fn(url ?? ''));
}
