/**
 * `npm run build`: compiles the project to JavaScript in dist/ (manage.js,
 * settings.js, urls.js, apps/, packages/) so that `node dist/manage.js <command>`
 * runs with production dependencies only, and `npm run pack` packs
 * @tango/core and @tango/sessions from there into dist/tarballs/.
 *
 * Each package's package.json points at its TypeScript sources (ts-node, swc
 * and jest load them in the checkout); the compiled copy in dist/ gets the
 * same exports map pointing at `.js`, with the `.d.ts` beside each as its
 * types. dist/node_modules/@tango/* link to the compiled packages, so code in
 * dist/ never loads a package's TypeScript.
 *
 *   ts-node scripts/build.ts [--out DIR] [--project TSCONFIG] [--pack]
 *
 * --project compiles with another tsconfig that extends tsconfig.build.json
 * (the bench's `--serve` adds its own settings and views: bench/tsconfig.serve.json).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

type ExportTarget = string | { types: string; default: string };
interface PackageJson {
  name: string;
  version: string;
  main?: string;
  types?: string;
  exports?: Record<string, ExportTarget>;
  scripts?: Record<string, string>;
  [key: string]: unknown;
}

/** The workspace folders (packages/*, apps/*) that hold a package.json. */
export function workspace_dirs(root = ROOT): string[] {
  const out: string[] = [];
  for (const group of ['packages', 'apps']) {
    const dir = path.join(root, group);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).sort()) {
      if (fs.existsSync(path.join(dir, name, 'package.json'))) out.push(path.join(group, name));
    }
  }
  return out;
}

const js = (target: string) => target.replace(/\.ts$/, '.js');
const dts = (target: string) => target.replace(/\.ts$/, '.d.ts');

/** A package.json for the compiled copy: every `.ts` entry point becomes its `.js`, typed by its `.d.ts`. */
export function compiled_manifest(pkg: PackageJson): PackageJson {
  const out: PackageJson = { ...pkg };
  if (pkg.main) out.main = js(pkg.main);
  if (pkg.types) out.types = dts(pkg.types);
  if (pkg.exports) {
    out.exports = {};
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      out.exports[subpath] = typeof target === 'string' && target.endsWith('.ts')
        ? { types: dts(target), default: js(target) }
        : target;
    }
  }
  delete out.scripts;
  return out;
}

/** Removes what an earlier build compiled (a module since deleted must not linger in a tarball), keeping anything else in OUT (dist/db.sqlite3). */
function clean(out: string): void {
  if (!fs.existsSync(out)) return;
  for (const name of ['packages', 'apps', 'bench', 'node_modules', 'tarballs']) fs.rmSync(path.join(out, name), { recursive: true, force: true });
  for (const name of fs.readdirSync(out)) if (/\.(js|d\.ts)$/.test(name)) fs.rmSync(path.join(out, name));
}

function compile(out: string, project: string): void {
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', project, '--outDir', out], { stdio: 'inherit', cwd: ROOT });
}

/** Files tsc does not emit that a package reads at run time (startproject's `*-tpl` templates), copied beside the compiled code. */
export function asset_files(dir: string, top = true): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    // A package's own test/ folder stays out; a template's apps/home/test/ does not.
    if (entry.name === 'node_modules' || (top && entry.name === 'test')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...asset_files(full, false));
    else if (!entry.name.endsWith('.ts') && entry.name !== 'package.json') out.push(full);
  }
  return out;
}

function copy_assets(out: string): void {
  for (const rel of workspace_dirs()) {
    for (const file of asset_files(path.join(ROOT, rel))) {
      const dest = path.join(out, path.relative(ROOT, file));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(file, dest);
    }
  }
}

function write_manifests(out: string): void {
  for (const rel of workspace_dirs()) {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, rel, 'package.json'), 'utf8')) as PackageJson;
    const dir = path.join(out, rel);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(compiled_manifest(pkg), null, 2)}\n`);
    // Resolution from dist/manage.js finds these before the checkout's node_modules/@tango (TypeScript).
    const link = path.join(out, 'node_modules', pkg.name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { force: true, recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), dir), link, 'dir');
  }
}

/** `npm pack` of each compiled package under packages/ into OUT/tarballs; returns the tarball paths. */
function pack(out: string): string[] {
  const dest = path.join(out, 'tarballs');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const dirs = workspace_dirs().filter((rel) => rel.startsWith('packages'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const stdout = execFileSync(npm, ['pack', '--json', '--pack-destination', dest, ...dirs.map((rel) => path.join(out, rel))], {
    cwd: dest, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  return (JSON.parse(stdout) as Array<{ filename: string }>).map((p) => path.join(dest, p.filename));
}

/** The value after `--name` in argv, or `fallback`, as an absolute path. */
function path_option(argv: string[], name: string, fallback: string): string {
  const at = argv.indexOf(name);
  return path.resolve(at >= 0 ? argv[at + 1] : fallback);
}

function main(argv: string[]): void {
  const out = path_option(argv, '--out', path.join(ROOT, 'dist'));
  clean(out);
  compile(out, path_option(argv, '--project', path.join(ROOT, 'tsconfig.build.json')));
  copy_assets(out);
  write_manifests(out);
  process.stdout.write(`Compiled to ${path.relative(process.cwd(), out) || '.'}/ (run: node ${path.relative(process.cwd(), path.join(out, 'manage.js'))} <command>)\n`);
  if (argv.includes('--pack')) {
    for (const file of pack(out)) process.stdout.write(`Packed ${path.relative(process.cwd(), file)}\n`);
  }
}

if (require.main === module) main(process.argv.slice(2));
