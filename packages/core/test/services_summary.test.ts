/**
 * `npm test` without services prints one line for the run (jest's globalSetup),
 * not one per suite; REQUIRE_SERVICES=1 still turns a skip into a failure.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const JEST = path.join(ROOT, 'node_modules', '.bin', 'jest');

/** Three suites that each need a service, run by jest with this repository's config. */
function fixture_suites(): string {
  const dir = fs.mkdtempSync(path.join(ROOT, 'packages', 'core', 'test', 'tmp-services-'));
  for (const [i, name] of ['TEST_DATABASE_URL', 'TEST_REDIS_URL', 'TEST_DATABASE_URL'].entries()) {
    fs.writeFileSync(path.join(dir, `needs_${i}.test.ts`), [
      `import { describe_with } from '${path.join(ROOT, 'packages/core/testing/services')}';`,
      `describe_with('${name}')('needs ${name}', () => { it('runs', () => expect(1).toBe(1)); });`,
      '',
    ].join('\n'));
  }
  return dir;
}

function run_jest(dir: string, env: Record<string, string | undefined>) {
  const base = { ...process.env };
  for (const name of ['TEST_DATABASE_URL', 'TEST_REDIS_URL', 'TEST_MEMCACHED_URL', 'REQUIRE_SERVICES']) delete base[name];
  const r = spawnSync(JEST, ['--rootDir', ROOT, '--roots', dir, '--maxWorkers=2', '--ci'], {
    cwd: ROOT, encoding: 'utf8', env: { ...base, ...env }, timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the missing-services line', () => {
  let dir: string;
  beforeAll(() => {
    dir = fixture_suites();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is printed once for the run, naming every missing service, and the suites are skipped', () => {
    const r = run_jest(dir, { TEST_MEMCACHED_URL: '127.0.0.1:1' });
    expect(r.status).toBe(0);
    expect(r.out.match(/^skipping suites that need/gm)).toHaveLength(1);
    expect(r.out).toContain('skipping suites that need TEST_DATABASE_URL, TEST_REDIS_URL: they are not set');
    expect(r.out).toMatch(/Tests:\s+3 skipped, 3 total/);
  }, 120_000);

  it('under REQUIRE_SERVICES=1 a missing service still fails the run', () => {
    const r = run_jest(dir, { REQUIRE_SERVICES: '1', TEST_REDIS_URL: 'redis://127.0.0.1:1', TEST_MEMCACHED_URL: '127.0.0.1:1' });
    expect(r.status).toBe(1);
    expect(r.out).toContain('TEST_DATABASE_URL is not set but REQUIRE_SERVICES=1');
    expect(r.out).not.toMatch(/^skipping suites/m);
  }, 120_000);
});

describe('describe_needing: a suite that needs something other than a service (a tmpfs, say)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(ROOT, 'packages', 'core', 'test', 'tmp-needing-'));
    fs.writeFileSync(path.join(dir, 'needs_thing.test.ts'), [
      `import { describe_needing } from '${path.join(ROOT, 'packages/core/testing/services')}';`,
      "describe_needing('needs a thing', { missing: 'no thing here', stand_in: 0 }, (n) => { it('runs', () => expect(n).toBe(1)); });",
      "describe_needing('has its thing', { value: 1 }, (n) => { it('runs', () => expect(n).toBe(1)); });",
      '',
    ].join('\n'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('skips with its reason printed, and runs the suite whose need is met', () => {
    const r = run_jest(dir, {});
    expect(r.status).toBe(0);
    expect(r.out).toContain("skipping 'needs a thing': no thing here");
    expect(r.out).toMatch(/Tests:\s+1 skipped, 1 passed, 2 total/);
  }, 120_000);

  it('under REQUIRE_SERVICES=1 fails instead of skipping', () => {
    const r = run_jest(dir, { REQUIRE_SERVICES: '1' });
    expect(r.status).toBe(1);
    expect(r.out).toContain("REQUIRE_SERVICES=1 but no thing here: the suite 'needs a thing' cannot be skipped.");
  }, 120_000);
});
