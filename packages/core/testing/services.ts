/**
 * Test-suite gating on real services: a suite whose service URL is
 * unset is skipped with a printed reason; under REQUIRE_SERVICES=1 (CI) the
 * missing URL is a failure instead.
 */
export type ServiceName = 'TEST_DATABASE_URL' | 'TEST_REDIS_URL' | 'TEST_MEMCACHED_URL';

export function service_url(name: ServiceName): string | undefined {
  const url = process.env[name];
  if (url) return url;
  if (process.env.REQUIRE_SERVICES === '1') {
    throw new Error(`${name} is not set but REQUIRE_SERVICES=1: the suite that needs it cannot be skipped.`);
  }
  process.stdout.write(`skipping suites that need ${name}: it is not set\n`);
  return undefined;
}

/** `describe` when the service is configured, `describe.skip` (with the printed reason) otherwise. */
export function describe_with(name: ServiceName): (title: string, fn: (url: string) => void) => void {
  const url = service_url(name);
  // A conditional skip, allowed only because the service is absent (and never under CI).
  const suite = url ? describe : describe.skip;
  return (title, fn) => suite(url ? title : `${title} (${name} unset)`, () => fn(url ?? ''));
}
