/**
 * django-admin startproject: `manage.ts startproject NAME [DIR]` makes a new
 * project (settings.ts, urls.ts, manage.ts, one app with a test, a README)
 * from ../project_template, outside this checkout if DIR says so.
 *
 * The new project depends on @tango/core and @tango/sessions through their
 * `npm pack` tarballs, copied into its vendor/ folder so that it installs
 * without this checkout (see docs/deployment.md). Inside a Tango checkout the
 * tarballs are built from the current sources (scripts/build.ts --pack);
 * elsewhere pass --tarballs DIR.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';

const TEMPLATE_DIR = path.resolve(__dirname, '..', 'project_template');
const CORE_DIR = path.resolve(__dirname, '..', '..');

/** What the new project develops with: the ranges this checkout is tested with (checked by a test against package.json). */
export const DEV_DEPENDENCIES: Readonly<Record<string, string>> = {
  '@swc/core': '^1.16.22',
  '@swc/jest': '^0.2.39',
  '@types/jest': '^30.0.0',
  '@types/node': '^20.19.43',
  'jest': '^30.5.2',
  'ts-node': '^10.9.2',
  'typescript': '^5.9.3',
};

/** The packages a project gets: [name, file name prefix of its npm pack tarball]. */
const PACKAGES: ReadonlyArray<[string, string]> = [['@tango/core', 'tango-core-'], ['@tango/sessions', 'tango-sessions-']];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** django.core.management.utils.get_random_secret_key: 50 characters from Django's alphabet. */
export function get_random_secret_key(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)';
  let key = '';
  for (let i = 0; i < 50; i++) key += chars[randomInt(chars.length)];
  return key;
}

/**
 * TemplateCommand.validate_name: an identifier that is not already the name of
 * a module (a Node built-in, or a package this process or DIR can load).
 */
export function validate_project_name(name: string | undefined, base_dirs: string[]): void {
  if (!name) throw new CommandError('you must provide a project name');
  if (!IDENTIFIER.test(name)) {
    throw new CommandError(`'${name}' is not a valid project name. Please make sure the name is a valid identifier.`);
  }
  const conflict = builtinModules.includes(name) || builtinModules.includes(name.toLowerCase()) ||
    [name, name.toLowerCase()].some((n) => resolvable(n, base_dirs));
  if (conflict) {
    throw new CommandError(`'${name}' conflicts with the name of an existing module and cannot be used as a project name. Please try another name.`);
  }
}

function resolvable(name: string, base_dirs: string[]): boolean {
  try {
    require.resolve(`${name}/package.json`, { paths: base_dirs });
    return true;
  } catch {
    try {
      require.resolve(name, { paths: base_dirs });
      return true;
    } catch {
      return false;
    }
  }
}

/** Every template file as [path under the template, path in the new project]. */
function template_files(dir = TEMPLATE_DIR, rel = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const from = path.join(rel, entry.name);
    if (entry.isDirectory()) out.push(...template_files(dir, from));
    else if (entry.name.endsWith('-tpl')) {
      // npm pack drops files named .gitignore, so the template keeps it without the dot.
      const name = entry.name === 'gitignore-tpl' ? '.gitignore' : entry.name.slice(0, -'-tpl'.length);
      out.push([from, path.join(rel, name)]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

function render(text: string, context: Record<string, string>): string {
  return text.replace(/\{\{ (\w+) \}\}/g, (whole, key: string) => context[key] ?? whole);
}

/** A Tango checkout holding this package's sources (not an installed tarball): its root, else undefined. */
function checkout_root(): string | undefined {
  const root = path.resolve(CORE_DIR, '..', '..');
  const is_source = fs.existsSync(path.join(CORE_DIR, 'index.ts')) && fs.existsSync(path.join(root, 'scripts', 'build.ts'));
  return is_source ? root : undefined;
}

/** The tarballs of PACKAGES in `dir`, in PACKAGES' order; throws naming what is missing. */
function find_tarballs(dir: string): string[] {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  return PACKAGES.map(([pkg, prefix]) => {
    const found = names.filter((n) => n.startsWith(prefix) && n.endsWith('.tgz')).sort();
    if (found.length === 0) throw new CommandError(`No ${pkg} tarball (${prefix}*.tgz) in ${dir}: run \`npm run pack\` in a Tango checkout, or pass --tarballs DIR.`);
    return path.join(dir, found[found.length - 1]);
  });
}

export default class StartprojectCommand extends BaseCommand {
  readonly help = 'Creates a Tango project NAME in the directory DIR (default: ./NAME), with settings, urls, manage.ts, an app with a test and a README.';

  override add_arguments(parser: Command): void {
    parser.argument('<name>', 'the project name (a valid identifier)');
    parser.argument('[directory]', 'an existing directory to create the project in (default: a new folder NAME here)');
    parser.option('--tarballs <dir>', 'where the npm pack tarballs of @tango/core and @tango/sessions are (default: built from this checkout)');
  }

  handle(args: string[], options: { tarballs?: string }): void {
    const [name, target] = args;
    const cwd = process.cwd();
    let top_dir: string;
    if (target === undefined) {
      validate_project_name(name, [cwd, CORE_DIR]);
      top_dir = path.join(cwd, name);
      if (fs.existsSync(top_dir)) throw new CommandError(`'${top_dir}' already exists`);
    } else {
      top_dir = path.resolve(cwd, target.replace(/^~(?=$|\/)/, os.homedir()));
      validate_project_name(name, [top_dir, cwd, CORE_DIR]);
      if (!fs.existsSync(top_dir)) throw new CommandError(`Destination directory '${top_dir}' does not exist, please create it first.`);
      if (!fs.statSync(top_dir).isDirectory()) throw new CommandError(`Destination '${top_dir}' is not a directory.`);
    }
    const files = template_files();
    // Django overlays a project on an existing directory but never replaces a file; all are checked before any is written.
    for (const [, rel] of files) {
      const dest = path.join(top_dir, rel);
      if (fs.existsSync(dest)) {
        throw new CommandError(`${dest} already exists. Overlaying a project into an existing directory won't replace conflicting files.`);
      }
    }
    const packed = this.#tarballs(options.tarballs);
    try {
      const vendored = packed.files.map((file) => path.join(top_dir, 'vendor', path.basename(file)));
      for (const dest of vendored) {
        if (fs.existsSync(dest)) {
          throw new CommandError(`${dest} already exists. Overlaying a project into an existing directory won't replace conflicting files.`);
        }
      }
      const context: Record<string, string> = {
        project_name: name,
        package_name: name.toLowerCase(),
        secret_key: `django-insecure-${get_random_secret_key()}`,
        dev_dependencies: Object.entries(DEV_DEPENDENCIES).map(([pkg, range]) => `    "${pkg}": "${range}"`).join(',\n'),
      };
      fs.mkdirSync(path.join(top_dir, 'vendor'), { recursive: true });
      PACKAGES.forEach(([pkg], i) => {
        fs.copyFileSync(packed.files[i], vendored[i]);
        context[`${pkg.slice('@tango/'.length)}_dependency`] = `file:vendor/${path.basename(vendored[i])}`;
      });
      for (const [from, rel] of files) {
        const dest = path.join(top_dir, rel);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, render(fs.readFileSync(path.join(TEMPLATE_DIR, from), 'utf8'), context));
      }
    } finally {
      packed.cleanup();
    }
    const relative = path.relative(cwd, top_dir);
    const shown = relative === '' ? '.' : relative.startsWith('..') ? top_dir : relative;
    this.write(`Created project '${name}' in ${shown}/. Next:`);
    this.write(`  cd ${shown} && npm install && npm start`);
  }

  /** The tarballs to vendor: from --tarballs, beside a compiled build (dist/tarballs), or packed now from this checkout. */
  #tarballs(dir: string | undefined): { files: string[]; cleanup: () => void } {
    const keep = () => {};
    if (dir !== undefined) return { files: find_tarballs(path.resolve(dir)), cleanup: keep };
    const beside = path.resolve(CORE_DIR, '..', '..', 'tarballs');
    if (fs.existsSync(beside)) return { files: find_tarballs(beside), cleanup: keep };
    const root = checkout_root();
    if (!root) throw new CommandError('This Tango is not a checkout with sources: pass --tarballs DIR (the npm pack tarballs of @tango/core and @tango/sessions).');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-pack-'));
    const cleanup = () => fs.rmSync(out, { recursive: true, force: true });
    this.write('Packing @tango/core and @tango/sessions from this checkout (scripts/build.ts --pack)...');
    try {
      execFileSync(path.join(root, 'node_modules', '.bin', 'ts-node'), ['scripts/build.ts', '--pack', '--out', out], {
        cwd: root, stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (err) {
      cleanup();
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
      throw new CommandError(`Building the tarballs failed: ${stderr.split('\n').slice(-3).join(' | ') || (err as Error).message}`);
    }
    return { files: find_tarballs(path.join(out, 'tarballs')), cleanup };
  }
}
