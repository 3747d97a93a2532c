/** startapp scaffolds an app whose own test passes at once; bad names are refused. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { PassThrough } from 'node:stream';
import * as path from 'node:path';
import { configure } from '@tango/core';
import StartappCommand from '../management/commands/startapp';

const ROOT = path.resolve(__dirname, '../../..');

function run(args: string[], options: Record<string, unknown> = {}) {
  const cmd = new StartappCommand();
  const sink = new PassThrough();
  cmd.stdout = sink;
  cmd.handle(args, options);
  return String(sink.read() ?? '');
}

describe('startapp', () => {
  let base: string;
  beforeEach(() => {
    // A project folder inside the repo, so the scaffold resolves @tango/core as a real app would.
    base = fs.mkdtempSync(path.join(ROOT, 'test-output-startapp-'));
    configure({ SECRET_KEY: 'k' }, base);
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('creates apps/<name> with views, urls and a test that passes as generated', () => {
    const out = run(['blog']);
    expect(out).toContain("Created app 'blog' in apps/blog/.");
    for (const f of ['views.ts', 'urls.ts', 'test/views.test.ts']) expect(fs.existsSync(path.join(base, 'apps/blog', f))).toBe(true);
    const jest = spawnSync(path.join(ROOT, 'node_modules/.bin/jest'), ['--rootDir', base, '--roots', path.join(base, 'apps'), '-c', '{}',
      '--transform', JSON.stringify({ '^.+\\.ts$': ['@swc/jest', {}] })], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(jest.stderr).toContain('1 passed');
    expect(jest.status).toBe(0);
  });

  it('refuses an existing name and an invalid identifier with a clear message', () => {
    run(['shop']);
    expect(() => run(['shop'])).toThrow("'apps/shop' already exists.");
    expect(() => run(['my-app'])).toThrow("'my-app' is not a valid app name. Please make sure the name is a valid identifier.");
    expect(() => run(['9lives'])).toThrow(/not a valid app name/);
    expect(() => run(['sessions'])).toThrow(/conflicts with the name of an existing module/);
  });
});
