/**
 * runserver survives mistakes, as Django's autoreloader does: the real
 * `manage.ts runserver` in a temporary copy of the project; a settings error,
 * a syntax error in a view and a bad route are each written, seen over HTTP
 * as a 500 page naming the error, fixed, and the page works again. Also the
 * start banner, the unapplied-migrations warning, the page that says to run
 * migrate, and readable (not JSON) logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { free_port } from '../testing/ports';

const ROOT = path.resolve(__dirname, '../../..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

/** The project as a user has it: manage.ts, settings, URLconf and the demo app, with this checkout's packages. */
function project_copy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-runserver-'));
  for (const f of ['manage.ts', 'settings.ts', 'urls.ts', 'tsconfig.json', 'package.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  const tests = path.join(ROOT, 'apps', 'demo', 'test');
  fs.cpSync(path.join(ROOT, 'apps', 'demo'), path.join(dir, 'apps', 'demo'), { recursive: true, filter: (src) => src !== tests && !src.startsWith(tests + path.sep) });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}


describe('runserver survives mistakes', () => {
  let dir: string;
  let child: ChildProcess;
  let out = '';
  let port: number;
  const originals = new Map<string, string>();

  const file = (rel: string) => path.join(dir, rel);
  const edit = (rel: string, change: (text: string) => string) => {
    if (!originals.has(rel)) originals.set(rel, fs.readFileSync(file(rel), 'utf8'));
    fs.writeFileSync(file(rel), change(fs.readFileSync(file(rel), 'utf8')));
  };
  const restore = (rel: string) => fs.writeFileSync(file(rel), originals.get(rel)!);
  const count = (text: string) => out.split(text).length - 1;
  const wait_for = async (text: string, times: number) => {
    for (let i = 0; i < 1200; i++) {
      if (count(text) >= times) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never saw '${text}' x${times} in:\n${out}`);
  };
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers });
    return { status: res.status, text: await res.text() };
  };
  // Each (re)start ends with one of these two lines.
  const started = () => count('Starting development server at') + count('The project did not start.');
  const after_change = async (before: number) => {
    for (let i = 0; i < 1200 && started() <= before; i++) await new Promise((r) => setTimeout(r, 50));
    if (started() <= before) throw new Error(`the server did not restart:\n${out}`);
  };

  beforeAll(async () => {
    dir = project_copy();
    port = await free_port();
    // Start with settings that do not validate: runserver must still come up and show why.
    edit('settings.ts', (s) => s.replace("DEBUG: process.env.DEBUG !== 'false',", "DEBUG: 'yes',"));
    const env: NodeJS.ProcessEnv = { ...process.env, SECRET_KEY: 'runserver-test-secret-key-never-shown-0123456789abcdef' };
    delete env.TANGO_LOG_SILENT;
    delete env.TANGO_SETTINGS_MODULE;
    delete env.SESSION_ENGINE;
    delete env.DATABASE_URL;
    delete env.FORCE_COLOR;
    child = spawn(TS_NODE, ['manage.ts', 'runserver', `127.0.0.1:${port}`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { out += String(d); });
    child.stderr!.on('data', (d) => { out += String(d); });
    await wait_for('Watching for file changes', 1);
  }, 120_000);

  // A failed test must not leave its mistake for the next one: put the files back and wait for the restart.
  afterEach(async () => {
    const changed = [...originals].filter(([rel, text]) => fs.readFileSync(file(rel), 'utf8') !== text);
    if (changed.length === 0) return;
    const before = started();
    for (const [rel] of changed) restore(rel);
    await after_change(before);
  }, 120_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a settings error at start is printed and served as a 500 page; fixing the file serves the site', async () => {
    expect(out).toContain("ImproperlyConfigured: Invalid setting DEBUG = 'yes': expected a boolean.");
    const broken = await get('/add_cookie/');
    expect(broken.status).toBe(500);
    expect(broken.text).toContain('<title>ImproperlyConfigured at /add_cookie/</title>');
    expect(broken.text).toContain('Invalid setting DEBUG = &#x27;yes&#x27;: expected a boolean.');
    const before = started();
    restore('settings.ts');
    await after_change(before);
    const fixed = await fetch(`http://127.0.0.1:${port}/add_cookie/`);
    expect(fixed.status).toBe(200);
    expect(fixed.headers.getSetCookie()[0]).toMatch(/^username=zhiliao; /);
  }, 120_000);

  it('prints the start banner, the system checks and the unapplied migrations', () => {
    expect(out).toContain('Performing system checks...');
    expect(out).toMatch(/System check identified .* \(0 silenced\)\./);
    expect(out).toMatch(/Tango version \d+\.\d+\.\d+, using settings '\.\/settings'/);
    expect(out).toContain('Session engine: @tango/sessions/backends/db');
    expect(out).toContain(`Starting development server at http://127.0.0.1:${port}/`);
    expect(out).toContain('You have 2 unapplied migration(s). Your project may not work properly until you apply the migrations for app(s): auth, sessions.');
    expect(out).toContain("Run 'npx ts-node manage.ts migrate' to apply them.");
  });

  it('a missing session table is a page that says to run migrate, logged as a readable line (not JSON)', async () => {
    const res = await get('/add_session/', { cookie: 'sessionid=abcdefghijklmnopqrstuvwxyz012345' });
    expect(res.status).toBe(500);
    expect(res.text).toContain('The table django_session does not exist');
    expect(res.text).toContain('npx ts-node manage.ts migrate');
    expect(res.text).not.toContain('abcdefghijklmnopqrstuvwxyz012345');
    expect(res.text).not.toContain('runserver-test-secret-key-never-shown');
    await wait_for('ERROR tango.request: Internal Server Error: /add_session/', 1);
    expect(out).toContain('(the table django_session does not exist: run manage.ts migrate)');
    expect(out).not.toMatch(/^\{"level"/m);
  }, 60_000);

  it('a syntax error in a view is printed and served with its source line; fixing it serves again', async () => {
    let before = started();
    edit('apps/demo/views.ts', (s) => `${s}\nexport const broken = ;\n`);
    await after_change(before);
    const res = await get('/add_cookie/');
    expect(res.status).toBe(500);
    expect(res.text).toContain('<title>SyntaxError at /add_cookie/</title>');
    expect(res.text).toContain('apps/demo/views.ts');
    expect(res.text).toMatch(/<li value="\d+" class="here"><code>export const broken = ;<\/code><\/li>/);
    expect(out).toContain('SyntaxError: Expression expected');
    before = started();
    restore('apps/demo/views.ts');
    await after_change(before);
    expect((await get('/add_cookie/')).status).toBe(200);
  }, 120_000);

  it('a bad route is reported with the route and its file; fixing it serves again', async () => {
    let before = started();
    edit('apps/demo/urls.ts', (s) => s.replace("path('get_cookie/'", "path('hello/<nme:name>/', views.get_cookie),\n  path('get_cookie/'"));
    await after_change(before);
    const res = await get('/get_cookie/');
    expect(res.status).toBe(500);
    expect(out).toContain("(urls.E100) URL route 'hello/<nme:name>/' in apps/demo/urls.ts uses invalid converter 'nme'.");
    expect(res.text).toContain('URL route &#x27;hello/&lt;nme:name&gt;/&#x27; in apps/demo/urls.ts uses invalid converter &#x27;nme&#x27;.');
    before = started();
    restore('apps/demo/urls.ts');
    await after_change(before);
    expect((await get('/get_cookie/')).status).toBe(200);
  }, 120_000);

  it('a settings error during a reload is served until the settings are fixed', async () => {
    let before = started();
    edit('settings.ts', (s) => s.replace("TIME_ZONE: 'Asia/Shanghai',", "TIME_ZONE: 'Mars/Olympus',"));
    await after_change(before);
    const res = await get('/get_cookie/');
    expect(res.status).toBe(500);
    expect(res.text).toContain('Invalid setting TIME_ZONE = &#x27;Mars/Olympus&#x27;');
    before = started();
    restore('settings.ts');
    await after_change(before);
    expect((await get('/get_cookie/')).status).toBe(200);
  }, 120_000);
});
