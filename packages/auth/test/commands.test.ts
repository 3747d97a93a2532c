/**
 * createsuperuser and changepassword as a user runs them: `ts-node manage.ts`
 * in a child process, answers piped into its stdin (interactive mode) or
 * taken from DJANGO_SUPERUSER_* variables (--noinput).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configure } from '../../core/conf';
import { close_connections } from '../../core/db';
import { User } from '../models';

const ROOT = path.resolve(__dirname, '../../..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

jest.setTimeout(120_000);

let dir: string;
let settings_file: string;
let db_file: string;

function manage(args: string[], input = '', env: Record<string, string> = {}) {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DJANGO_SUPERUSER_')) clean[k] = v;
  const r = spawnSync(TS_NODE, ['manage.ts', ...args, '--settings', settings_file], {
    cwd: ROOT, encoding: 'utf8', input, env: { ...clean, ...env }, timeout: 90_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function user(username: string): Promise<User | null> {
  configure({ SECRET_KEY: 'commands', DATABASES: { default: { ENGINE: 'sqlite3', NAME: db_file } } });
  try {
    return await User.get_by_natural_key(username);
  } finally {
    await close_connections();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-auth-commands-'));
  db_file = path.join(dir, 'db.sqlite3');
  settings_file = path.join(dir, 'settings.ts');
  fs.writeFileSync(settings_file, `export default ${JSON.stringify({
    SECRET_KEY: 'commands',
    INSTALLED_APPS: ['django.contrib.auth'],
    DATABASES: { default: { ENGINE: 'sqlite3', NAME: db_file } },
  })};\n`);
  const r = manage(['migrate']);
  expect(r.stdout).toContain('Applying auth.0001_initial... OK');
  configure({ SECRET_KEY: 'commands', DATABASES: { default: { ENGINE: 'sqlite3', NAME: db_file } } });
  await User.create_user('taken', '', 'pw');
  await close_connections();
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('createsuperuser', () => {
  it('--noinput takes DJANGO_SUPERUSER_USERNAME, _EMAIL and _PASSWORD', async () => {
    const r = manage(['createsuperuser', '--noinput'], '', {
      DJANGO_SUPERUSER_USERNAME: 'envadmin', DJANGO_SUPERUSER_EMAIL: 'env@example.com', DJANGO_SUPERUSER_PASSWORD: 'env secret',
    });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'Superuser created successfully.\n', '']);
    const u = await user('envadmin');
    expect(u).toMatchObject({ email: 'env@example.com', is_staff: true, is_superuser: true, is_active: true });
    expect(u!.password).toMatch(/^pbkdf2_sha256\$1000000\$/);
    expect(await u!.check_password('env secret')).toBe(true);
  });

  it('--noinput: --username and --email win over the environment; no password gives an unusable one', async () => {
    const r = manage(['createsuperuser', '--no-input', '--username', 'flagadmin', '--email', 'flag@example.com'], '', {
      DJANGO_SUPERUSER_USERNAME: 'ignored',
    });
    expect(r.status).toBe(0);
    expect((await user('flagadmin'))?.has_usable_password()).toBe(false);
  });

  it("--noinput errors are Django's, one line, exit 1", () => {
    expect(manage(['createsuperuser', '--noinput']).stderr).toBe('CommandError: You must use --username with --noinput.\n');
    expect(manage(['createsuperuser', '--noinput', '--username', 'x']).stderr).toBe('CommandError: You must use --email with --noinput.\n');
    const taken = manage(['createsuperuser', '--noinput', '--username', 'envadmin', '--email', 'a@b.co']);
    expect([taken.status, taken.stderr]).toEqual([1, 'CommandError: Error: That username is already taken.\n']);
  });

  it('interactive: prompts, re-asks after a taken username, mismatched and blank passwords', async () => {
    const answers = ['taken', 'piped', 'not-an-email', 'piped@Example.com', 'one', 'two', '  ', '  ', 'p1ped pw', 'p1ped pw', ''].join('\n');
    const r = manage(['createsuperuser'], answers);
    expect(r.status).toBe(0);
    expect(r.stderr.split('\n')).toEqual([
      'Error: That username is already taken.',
      'Error: Enter a valid email address.',
      "Error: Your passwords didn't match.",
      "Error: Blank passwords aren't allowed.",
      '',
    ]);
    expect(r.stdout).toMatch(/^Username( \(leave blank to use '[^']+'\))?: /);
    expect(r.stdout).toContain('Email address: ');
    expect(r.stdout).toContain('Password: Password (again): ');
    expect(r.stdout.endsWith('Superuser created successfully.\n')).toBe(true);
    // The password is never echoed.
    expect(r.stdout).not.toContain('p1ped');
    const u = await user('piped');
    expect(u).toMatchObject({ email: 'piped@example.com', is_superuser: true }); // the domain normalised, as Django's normalize_email
    expect(await u!.check_password('p1ped pw')).toBe(true);
  });

  it('interactive input that ends early cancels, exit 1', () => {
    const r = manage(['createsuperuser', '--username', 'early'], 'e@example.com\n');
    expect([r.status, r.stderr]).toEqual([1, 'CommandError: Operation cancelled.\n']);
  });
});

describe('changepassword', () => {
  it('asks twice, retries a mismatch, and saves the new password', async () => {
    const r = manage(['changepassword', 'envadmin'], 'a\nb\nnew secret\nnew secret\n');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("Changing password for user 'envadmin'\nPassword: Password (again): Passwords do not match. Please try again.\n" +
      "Password: Password (again): Password changed successfully for user 'envadmin'\n");
    expect(await (await user('envadmin'))!.check_password('new secret')).toBe(true);
  });

  it('gives up after three mismatches; an unknown user is an error', async () => {
    const r = manage(['changepassword', 'envadmin'], 'a\nb\nc\nd\ne\nf\n');
    expect([r.status, r.stderr]).toEqual([1, "CommandError: Aborting password change for user 'envadmin' after 3 attempts\n"]);
    expect(await (await user('envadmin'))!.check_password('new secret')).toBe(true);
    expect(manage(['changepassword', 'ghost']).stderr).toBe("CommandError: user 'ghost' does not exist\n");
  });
});

describe('on a terminal', () => {
  /** Runs manage.ts under a pseudo-terminal (util-linux `script`), typing each answer once its prompt shows. */
  function on_terminal(args: string[], answers: Array<[string, string]>): Promise<{ status: number | null; output: string }> {
    const command = [TS_NODE, 'manage.ts', ...args, '--settings', settings_file].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let next = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      // Type the answer only after its prompt: the terminal is then in the mode the command chose.
      while (next < answers.length && output.split(answers[next][0]).length - 1 > answers.slice(0, next).filter(([p]) => p === answers[next][0]).length) {
        child.stdin.write(answers[next][1]);
        next++;
      }
    });
    return new Promise((resolve) => child.on('exit', (status) => resolve({ status, output })));
  }

  it('changepassword reads the password without echoing it', async () => {
    const r = await on_terminal(['changepassword', 'taken'], [['Password: ', 'tty secret\r'], ['Password (again): ', 'tty secret\r']]);
    expect(r.status).toBe(0);
    expect(r.output).toContain("Password changed successfully for user 'taken'");
    expect(r.output).not.toContain('tty secret');
    expect(await (await user('taken'))!.check_password('tty secret')).toBe(true);
  });
});
