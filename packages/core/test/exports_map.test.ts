/**
 * The `exports` map of each package is its public API (docs/internals.md):
 * every public module path resolves, from jest and from plain Node, and a
 * module left out of the map is refused. The packed tarballs are checked the
 * same way in installing.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compiled_manifest } from '../../../scripts/build';

const ROOT = path.resolve(__dirname, '../../..');
const PACKAGES = ['core', 'sessions', 'messages', 'auth'] as const;

type Manifest = { name: string; exports: Record<string, string>; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
const manifest = (pkg: string): Manifest => JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as Manifest;

/** Entries whose module another branch adds; empty when every branch has landed. */
const PENDING: Record<string, string> = {};

/** The module paths the design and the user docs name; each must stay importable. */
const PUBLIC_PATHS = [
  '@tango/core', '@tango/core/middleware/csrf', '@tango/core/testing', '@tango/core/management',
  '@tango/core/management/commands/migrate', '@tango/core/db', '@tango/core/cache', '@tango/core/http/cookies',
  '@tango/core/views/csrf', '@tango/core/fastify', '@tango/core/package.json',
  '@tango/sessions', '@tango/sessions/middleware', '@tango/sessions/backends/db', '@tango/sessions/backends/file',
  '@tango/sessions/backends/cache', '@tango/sessions/backends/cached_db', '@tango/sessions/backends/signed_cookies',
  '@tango/sessions/management/commands/clearsessions', '@tango/sessions/test/contract', '@tango/sessions/package.json',
  '@tango/messages', '@tango/messages/middleware', '@tango/messages/storage/fallback', '@tango/messages/storage/cookie', '@tango/messages/storage/session',
  '@tango/auth', '@tango/auth/middleware', '@tango/auth/testing', '@tango/auth/backends', '@tango/auth/hashers',
  '@tango/auth/management/commands/createsuperuser', '@tango/auth/management/commands/changepassword', '@tango/auth/package.json',
];

/** Modules that exist but are not public: the map must refuse them. */
const PRIVATE_PATHS = [
  '@tango/core/http/hosts', '@tango/core/middleware/csrf_tokens', '@tango/sessions/save_queue', '@tango/core/index.ts', '@tango/sessions/backends/db.ts',
  '@tango/auth/request_user', '@tango/auth/session_auth',
];

/** Every specifier a map allows: plain entries as they are, a `*` pattern once per file it matches. */
function specifiers(pkg: string): string[] {
  const m = manifest(pkg);
  const out: string[] = [];
  for (const [subpath, target] of Object.entries(m.exports)) {
    const name = subpath === '.' ? m.name : `${m.name}/${subpath.slice(2)}`;
    if (!subpath.includes('*')) {
      out.push(name);
      continue;
    }
    const [dir, ext] = target.split('*');
    const files = fs.readdirSync(path.join(ROOT, 'packages', pkg, dir)).filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) out.push(name.replace('*', f.slice(0, -ext.length)));
  }
  return out;
}

/** What plain Node (no jest) says: the resolved file, or the error code. */
function node_resolve(names: string[]): Record<string, string> {
  const script = `const out = {}; for (const n of ${JSON.stringify(names)}) { try { out[n] = require.resolve(n); } catch (e) { out[n] = e.code; } } process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Record<string, string>;
}

test('every entry of each exports map names a file that exists (entries pending from another branch are listed)', () => {
  const missing: string[] = [];
  for (const pkg of PACKAGES) {
    const m = manifest(pkg);
    for (const [subpath, target] of Object.entries(m.exports)) {
      if (target.includes('*')) continue;
      const name = subpath === '.' ? m.name : `${m.name}/${subpath.slice(2)}`;
      const exists = fs.existsSync(path.join(ROOT, 'packages', pkg, target));
      if (name in PENDING) {
        expect([name, exists]).toEqual([name, false]);
        expect(target).toBe(`./${path.relative(path.join('packages', pkg), PENDING[name])}`);
      } else if (!exists) missing.push(`${name} -> ${target}`);
    }
  }
  expect(missing).toEqual([]);
});

test('every path in the maps resolves in plain Node and in jest', () => {
  const names = PACKAGES.flatMap(specifiers).filter((n) => !(n in PENDING));
  const resolved = node_resolve(names);
  for (const name of names) {
    expect([name, resolved[name]]).toEqual([name, expect.stringMatching(/^\/.*\.(ts|json)$/)]);
    expect(require.resolve(name)).toBe(resolved[name]);
  }
});

test('the public paths of the design and the docs are in the maps', () => {
  const allowed = new Set(PACKAGES.flatMap(specifiers));
  expect(PUBLIC_PATHS.filter((p) => !allowed.has(p))).toEqual([]);
  expect(Object.keys(PENDING).filter((p) => !allowed.has(p))).toEqual([]);
});

test('a module left out of the map is refused, in plain Node and in jest', () => {
  const resolved = node_resolve(PRIVATE_PATHS);
  for (const name of PRIVATE_PATHS) {
    expect([name, resolved[name]]).toEqual([name, 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
    // The file is there: only the map keeps jest from it.
    const [, pkg, rest] = /^@tango\/(\w+)\/(.*)$/.exec(name)!;
    expect(fs.existsSync(path.join(ROOT, 'packages', pkg, rest.endsWith('.ts') ? rest : `${rest}.ts`))).toBe(true);
    expect(() => require.resolve(name)).toThrow(/Cannot find module/);
  }
});

test("each package's dependencies name every package its sources import, so its tarball installs on its own", () => {
  const bare = /(?:from\s+|require\(\s*|import\(\s*)['"]((?:@[\w.-]+\/)?\w[\w.-]*)(?:\/[^'"]*)?['"]/g;
  const missing: string[] = [];
  for (const pkg of PACKAGES) {
    const m = manifest(pkg);
    const declared = new Set([...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {}), m.name]);
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'test' || e.name === 'node_modules' ? [] : walk(full);
      return e.name.endsWith('.ts') ? [full] : [];
    });
    for (const file of walk(path.join(ROOT, 'packages', pkg))) {
      // `import type` leaves nothing in the compiled JavaScript.
      const code = fs.readFileSync(file, 'utf8').replace(/^import type .*$/gm, '');
      for (const match of code.matchAll(bare)) {
        const dep = match[1];
        if (dep.startsWith('node:') || dep === 'node' || declared.has(dep)) continue;
        if (require('node:module').builtinModules.includes(dep)) continue;
        missing.push(`${path.relative(ROOT, file)}: ${dep}`);
      }
    }
  }
  expect(missing).toEqual([]);
});

test('the compiled manifest points each entry at its .js, typed by its .d.ts', () => {
  const out = compiled_manifest({
    name: '@x/y', version: '1.0.0', main: 'index.ts', types: 'index.ts', scripts: { build: 'tsc' },
    exports: { '.': './index.ts', './package.json': './package.json', './commands/*': './commands/*.ts' },
  });
  expect(out).toEqual({
    name: '@x/y', version: '1.0.0', main: 'index.js', types: 'index.d.ts',
    exports: {
      '.': { types: './index.d.ts', default: './index.js' },
      './package.json': './package.json',
      './commands/*': { types: './commands/*.d.ts', default: './commands/*.js' },
    },
  });
});
