/**
 * manage.ts as a user types it: `npx ts-node manage.ts <command>`, in a child
 * process, checking exit codes, the one-line errors and that runserver serves.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

function manage(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(TS_NODE, ['manage.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function settings_file(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-settings-'));
  const file = path.join(dir, 'settings.ts');
  fs.writeFileSync(file, `export default ${body};\n`);
  return file;
}

describe('manage.ts', () => {
  it('help lists the commands found in core and in installed apps', () => {
    const r = manage(['help']);
    expect(r.status).toBe(0);
    for (const name of ['runserver', 'check', 'shell', 'migrate', 'clearsessions', 'help']) expect(r.stdout).toContain(`    ${name}`);
  });

  it('an unknown command suggests the closest one, as Django does, and exits 1', () => {
    const r = manage(['runservr']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("Unknown command: 'runservr'. Did you mean runserver?\nType 'manage.ts help' for usage.\n");
    const app_command = manage(['clearsession']);
    expect(app_command.stderr).toContain('Did you mean clearsessions?');
  });

  it('an unknown command like no other gets no guess', () => {
    const r = manage(['frobnicate']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("Unknown command: 'frobnicate'.\nType 'manage.ts help' for usage.\n");
  });

  it('--settings naming a missing file says which file, not the generic hint', () => {
    const missing = path.join(os.tmpdir(), `no-such-dir-${process.pid}`, 'settings.ts');
    const r = manage(['check', '--settings', missing]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ImproperlyConfigured: --settings ${missing}: settings module not found (no file ${missing}).\n`);
    expect(r.stderr).not.toContain('set TANGO_SETTINGS_MODULE or pass --settings');
  });

  it('TANGO_SETTINGS_MODULE naming a missing module says so and where it looked', () => {
    const r = manage(['check'], { TANGO_SETTINGS_MODULE: 'settings_prod' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ImproperlyConfigured: TANGO_SETTINGS_MODULE=settings_prod: settings module not found (no file ${path.join(ROOT, 'settings_prod.ts')} or ${path.join(ROOT, 'settings_prod.js')} and no package of that name).\n`);
  });

  it('check reports mistyped setting names and URL mistakes with their ids and files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-check-'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'urls.ts'), [
      "import { path, HttpResponse } from '@tango/core';",
      "const view = () => new HttpResponse('ok');",
      'export const urlpatterns = [',
      "  path('/leading/', view, { name: 'leading' }),",
      "  path('posts/<int:id/', view),",
      "  path('users/<usr:name>/', view),",
      '];',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'settings.ts'), "export default { SECRET_KEY: 'x'.repeat(60), ROOT_URLCONF: './urls', SESSION_COOKIE_SECURED: true, MY_OWN_SETTING: 1 };\n");
    const r = manage(['check', '--settings', path.join(dir, 'settings.ts')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('?: (settings.W100) SESSION_COOKIE_SECURED is not a Tango setting: did you mean SESSION_COOKIE_SECURE?');
    expect(r.stdout).not.toContain('MY_OWN_SETTING');
    expect(r.stdout).toContain("?: (urls.W002) Your URL pattern '/leading/' in urls.ts [name='leading'] has a route beginning with a '/'.");
    expect(r.stdout).toContain("?: (urls.W010) Your URL pattern 'posts/<int:id/' in urls.ts has an unmatched '<' bracket.");
    expect(r.stdout).toContain("?: (urls.E100) URL route 'users/<usr:name>/' in urls.ts uses invalid converter 'usr'.");
    expect(r.stdout).toContain('System check identified 4 issues (0 silenced).');
    expect(r.stderr).toBe('CommandError: System check found 1 error.\n');
  });

  const bad: Array<[string, string]> = [
    ["{ SECRET_KEY: '' }", 'SECRET_KEY'],
    ["{ SECRET_KEY: 'k', SESSION_COOKIE_AGE: -1 }", 'SESSION_COOKIE_AGE'],
    ["{ SECRET_KEY: 'k', SESSION_COOKIE_AGE: 1.5 }", 'SESSION_COOKIE_AGE'],
    ["{ SECRET_KEY: 'k', SESSION_COOKIE_SAMESITE: 'Sometimes' }", 'SESSION_COOKIE_SAMESITE'],
    ["{ SECRET_KEY: 'k', TIME_ZONE: 'Mars/Olympus' }", 'TIME_ZONE'],
    ["{ SECRET_KEY: 'k', SESSION_ENGINE: 'nosuch' }", 'SESSION_ENGINE'],
    ["{ SECRET_KEY: 'k', DATABASES: { default: { NAME: 'x' } } }", 'DATABASES.default.ENGINE'],
  ];
  it.each(bad)('a bad setting (%s) stops start-up with one line and exit 1', (body, name) => {
    const r = manage(['check', '--settings', settings_file(body)]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Invalid setting ${name} = `);
    expect(lines[0]).toContain('expected');
  });

  it('TANGO_SETTINGS_MODULE picks the settings module too', () => {
    const r = manage(['check'], { TANGO_SETTINGS_MODULE: settings_file("{ SECRET_KEY: '' }") });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Invalid setting SECRET_KEY');
  });

  it('check warns about the development SECRET_KEY fallback', () => {
    const env = { ...process.env };
    delete env.SECRET_KEY;
    const r = spawnSync(TS_NODE, ['manage.ts', 'check'], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('security.W009');
    expect(r.stdout).toMatch(/System check identified \d+ issues? \(0 silenced\)\./);
  });

  it('--traceback shows the stack of a failing command', () => {
    const r = manage(['check', '--traceback', '--settings', settings_file("{ SECRET_KEY: '' }")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('runserver --noreload serves the demo on the given address and port', async () => {
    const port = 18000 + Math.floor(Math.random() * 1000);
    const child = spawn(TS_NODE, ['manage.ts', 'runserver', `127.0.0.1:${port}`, '--noreload'], {
      cwd: ROOT, env: { ...process.env, SESSION_ENGINE: 'signed_cookies' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += String(d);
          if (out.includes(`Starting development server at http://127.0.0.1:${port}/`)) resolve();
        });
        child.on('exit', (code) => reject(new Error(`runserver exited with ${code}`)));
      });
      const res = await fetch(`http://127.0.0.1:${port}/add_cookie/`);
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()[0]).toMatch(/^username=zhiliao; /);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('runserver autoreload', () => {
  it('serves at once, and after a watched file changes serves again from a fresh process', async () => {
    const port = 19000 + Math.floor(Math.random() * 1000);
    // Not a .ts file: suites beside this one compile the checkout with tsc (installing, build_project),
    // which lists every apps/**/*.ts and fails when one vanishes mid-compile. The reloader watches every file.
    const marker = path.join(ROOT, 'apps', 'demo', `reload_marker_${process.pid}.txt`);
    const child = spawn(TS_NODE, ['manage.ts', 'runserver', `127.0.0.1:${port}`, '--nologging'], {
      cwd: ROOT, env: { ...process.env, SESSION_ENGINE: 'signed_cookies' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    const wait_for = async (text: string, count = 1) => {
      for (let i = 0; i < 800; i++) {
        if (out.split(text).length - 1 >= count) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`never saw '${text}' x${count} in: ${out}`);
    };
    try {
      await wait_for('Starting development server');
      expect((await fetch(`http://127.0.0.1:${port}/add_cookie/`)).status).toBe(200);
      await wait_for('Watching for file changes');
      fs.writeFileSync(marker, 'export {};\n');
      await wait_for('changed, reloading.');
      await wait_for('Starting development server', 2);
      expect((await fetch(`http://127.0.0.1:${port}/add_cookie/`)).status).toBe(200);
    } finally {
      fs.rmSync(marker, { force: true });
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000); // two ts-node start-ups: slow on a busy machine, with heavier suites in the other jest worker
});
