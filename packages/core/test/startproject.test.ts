/**
 * `manage.ts startproject NAME [DIR]` (django-admin startproject): the name
 * and directory checks, and the files it writes. The project it makes is
 * installed and run for real in installing.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import StartprojectCommand, { DEV_DEPENDENCIES, get_random_secret_key } from '../management/commands/startproject';
import { CommandError } from '../errors';

const ROOT = path.resolve(__dirname, '../../..');

let tmp: string;
let tarballs: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-startproject-'));
  // The command only copies the tarballs; their contents are installed in installing.test.ts.
  tarballs = path.join(tmp, 'tarballs');
  fs.mkdirSync(tarballs);
  fs.writeFileSync(path.join(tarballs, 'tango-core-0.1.0.tgz'), 'core');
  fs.writeFileSync(path.join(tarballs, 'tango-sessions-0.1.0.tgz'), 'sessions');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], cwd = tmp): string {
  const command = new StartprojectCommand();
  const out = new PassThrough();
  command.stdout = out;
  const before = process.cwd();
  process.chdir(cwd);
  try {
    command.handle(args, { tarballs });
  } finally {
    process.chdir(before);
  }
  return String(out.read() ?? '');
}

function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const PROJECT_FILES = [
  '.gitignore', 'README.md', 'apps/home/test/views.test.ts', 'apps/home/urls.ts', 'apps/home/views.ts', 'jest.config.js',
  'manage.ts', 'package.json', 'settings.ts', 'tsconfig.build.json', 'tsconfig.json', 'urls.ts',
  'vendor/tango-core-0.1.0.tgz', 'vendor/tango-sessions-0.1.0.tgz',
];

test('NAME alone makes the folder NAME in the current directory, with every file of the template', () => {
  const out = run(['mysite']);
  expect(tree(path.join(tmp, 'mysite'))).toEqual(PROJECT_FILES);
  expect(out).toContain("Created project 'mysite' in mysite/.");
  const pkg = JSON.parse(fs.readFileSync(path.join(tmp, 'mysite', 'package.json'), 'utf8'));
  expect(pkg.name).toBe('mysite');
  expect(pkg.dependencies).toEqual({
    '@tango/core': 'file:vendor/tango-core-0.1.0.tgz',
    '@tango/sessions': 'file:vendor/tango-sessions-0.1.0.tgz',
  });
  expect(pkg.devDependencies).toEqual(DEV_DEPENDENCIES);
  // No placeholder is left unfilled in any file.
  for (const file of PROJECT_FILES.filter((f) => !f.endsWith('.tgz'))) {
    expect([file, fs.readFileSync(path.join(tmp, 'mysite', file), 'utf8')]).toEqual([file, expect.not.stringMatching(/\{\{/)]);
  }
});

test('DIR: the project is written into that existing directory; each project gets its own SECRET_KEY', () => {
  const a = path.join(tmp, 'a');
  const b = path.join(tmp, 'b');
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  fs.writeFileSync(path.join(a, 'notes.txt'), 'kept');
  run(['MySite', a]);
  run(['MySite', b]);
  expect(tree(a)).toEqual([...PROJECT_FILES, 'notes.txt'].sort());
  expect(fs.readFileSync(path.join(a, 'notes.txt'), 'utf8')).toBe('kept');
  expect(JSON.parse(fs.readFileSync(path.join(a, 'package.json'), 'utf8')).name).toBe('mysite');
  const key = (dir: string) => /'(django-insecure-[^']+)'/.exec(fs.readFileSync(path.join(dir, 'settings.ts'), 'utf8'))?.[1];
  expect(key(a)).toMatch(/^django-insecure-.{50}$/);
  expect(key(a)).not.toBe(key(b));
  expect(fs.readFileSync(path.join(a, 'README.md'), 'utf8')).toMatch(/^# MySite\n/);
});

test('a DIR that does not exist is refused, as Django asks for it to be created first', () => {
  const missing = path.join(tmp, 'nowhere');
  expect(() => run(['mysite', missing])).toThrow(new CommandError(`Destination directory '${missing}' does not exist, please create it first.`));
  expect(fs.existsSync(missing)).toBe(false);
});

test('a DIR holding one of the files is refused before anything is written', () => {
  const dir = path.join(tmp, 'site');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'settings.ts'), '// mine');
  expect(() => run(['mysite', dir])).toThrow(new CommandError(
    `${path.join(dir, 'settings.ts')} already exists. Overlaying a project into an existing directory won't replace conflicting files.`));
  expect(tree(dir)).toEqual(['settings.ts']);
  expect(fs.readFileSync(path.join(dir, 'settings.ts'), 'utf8')).toBe('// mine');
});

test('NAME alone when the folder NAME exists is refused', () => {
  fs.mkdirSync(path.join(tmp, 'mysite'));
  expect(() => run(['mysite'])).toThrow(new CommandError(`'${path.join(tmp, 'mysite')}' already exists`));
});

test.each(['my-site', '1site', 'my site', 'café', ''])('an invalid name (%j) is refused', (name) => {
  const message = name === '' ? 'you must provide a project name'
    : `'${name}' is not a valid project name. Please make sure the name is a valid identifier.`;
  expect(() => run([name])).toThrow(new CommandError(message));
  expect(tree(tmp)).toEqual(['tarballs/tango-core-0.1.0.tgz', 'tarballs/tango-sessions-0.1.0.tgz']);
});

test.each(['http', 'fs', 'fastify', 'Jest', 'zod'])('the name of an existing module (%s) is refused', (name) => {
  expect(() => run([name], ROOT)).toThrow(new CommandError(
    `'${name}' conflicts with the name of an existing module and cannot be used as a project name. Please try another name.`));
  expect(fs.existsSync(path.join(ROOT, name))).toBe(false);
});

test('missing tarballs are named, with how to make them', () => {
  fs.rmSync(path.join(tarballs, 'tango-sessions-0.1.0.tgz'));
  expect(() => run(['mysite'])).toThrow(new CommandError(
    `No @tango/sessions tarball (tango-sessions-*.tgz) in ${tarballs}: run \`npm run pack\` in a Tango checkout, or pass --tarballs DIR.`));
  expect(fs.existsSync(path.join(tmp, 'mysite'))).toBe(false);
});

test("the new project's dev dependencies are the ranges this checkout is tested with", () => {
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  for (const [name, range] of Object.entries(DEV_DEPENDENCIES)) expect([name, range]).toEqual([name, root.devDependencies[name]]);
});

test("get_random_secret_key: 50 characters of Django's alphabet", () => {
  const keys = new Set(Array.from({ length: 20 }, get_random_secret_key));
  expect(keys.size).toBe(20);
  for (const key of keys) expect(key).toMatch(/^[a-z0-9!@#$%^&*(\-_=+)]{50}$/);
});

test('from the command line, a bad name is one line on stderr and status 1', () => {
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['manage.ts', 'startproject', 'my-site', tmp],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe("CommandError: 'my-site' is not a valid project name. Please make sure the name is a valid identifier.\n");
  expect(r.status).toBe(1);
  expect(tree(tmp)).toEqual(['tarballs/tango-core-0.1.0.tgz', 'tarballs/tango-sessions-0.1.0.tgz']);
}, 60_000);
