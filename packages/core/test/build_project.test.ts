/**
 * `scripts/build.ts --project`: the bench's `--serve` compiles the project
 * with bench/tsconfig.serve.json, so that the production command it measures
 * runs compiled JavaScript with the bench's settings, views and baseline. A
 * compiled tree must also still count as having the sessions package and its
 * engines (bench/config.ts looks for `.js` as well as `.ts`), or the served
 * app would run without the session middleware and the bench would measure
 * something else without saying so.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const TS_NODE = path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js');

interface CompiledConfig {
  sessions_available(): boolean;
  engine_available(id: string): boolean;
  BENCH_DIR: string;
}

describe('scripts/build.ts --project bench/tsconfig.serve.json', () => {
  let out: string;

  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-build-project-'));
    execFileSync(process.execPath, [TS_NODE, 'scripts/build.ts', '--out', out, '--project', 'bench/tsconfig.serve.json'], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 240_000,
    });
  }, 300_000);

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('compiles the project and the modules the served bench app and its baseline load', () => {
    for (const file of ['manage.js', 'settings.js', 'packages/core/index.js', 'packages/sessions/middleware.js',
      'bench/settings.js', 'bench/urls.js', 'bench/views.js', 'bench/config.js', 'bench/baseline.js', 'bench/server.js']) {
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    }
    // Only what the served app needs: not the harness.
    expect(fs.existsSync(path.join(out, 'bench/run.js'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'bench/settings.d.ts'))).toBe(false);
  });

  it('leaves a compiled tree that the bench still sees the sessions package and engines in', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require(path.join(out, 'bench', 'config.js')) as CompiledConfig;
    expect(config.BENCH_DIR).toBe(path.join(out, 'bench'));
    expect(config.sessions_available()).toBe(true);
    for (const engine of ['db-sqlite', 'cache-redis', 'file', 'signed_cookies']) expect(config.engine_available(engine)).toBe(true);
  });

  it('cleans what an earlier build with it compiled', () => {
    const stale = path.join(out, 'bench', 'removed_since.js');
    fs.writeFileSync(stale, '');
    execFileSync(process.execPath, [TS_NODE, 'scripts/build.ts', '--out', out, '--project', 'bench/tsconfig.serve.json'], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 240_000,
    });
    expect(fs.existsSync(stale)).toBe(false);
  }, 300_000);
});
