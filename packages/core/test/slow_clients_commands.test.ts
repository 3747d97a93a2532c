/**
 * The slow-client limits hold in the servers users run, not only in
 * create_app(): `runserver --noreload` and `serve` started as a user starts
 * them, with limits from the settings module (issue 19, item 6).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dribble, status_of } from './slow_socket';

const ROOT = path.resolve(__dirname, '../../..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');
const REQUEST_MS = 1500;
const SLACK_MS = 1000;

function settings_file(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-slow-'));
  const file = path.join(dir, 'settings.ts');
  fs.writeFileSync(file, `export default { SECRET_KEY: 'slow-clients-commands', ROOT_URLCONF: [], REQUEST_HEADERS_TIMEOUT: 1000, REQUEST_TIMEOUT: ${REQUEST_MS}, MAX_CONNECTIONS: 2 };\n`);
  return file;
}

async function start(args: string[], ready: string): Promise<ChildProcess> {
  const child = spawn(TS_NODE, ['manage.ts', ...args], { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes(ready)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
  return child;
}

describe.each([
  ['runserver', ['--noreload', '--nologging'], 'Starting development server'],
  ['serve', ['--workers', '1', '--log-level', 'silent'], 'Serving on'],
])('%s applies REQUEST_TIMEOUT and MAX_CONNECTIONS from the settings', (command, flags, ready) => {
  let child: ChildProcess;
  const port = 19000 + Math.floor(Math.random() * 1000);

  beforeAll(async () => {
    child = await start([command, `127.0.0.1:${port}`, ...flags, '--settings', settings_file()], ready);
  }, 60_000);
  afterAll(() => child?.kill('SIGTERM'));

  it('a dribbled body is a 408 within REQUEST_TIMEOUT; a third connection is closed at once', async () => {
    const head = 'POST /x/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n';
    const slow = [dribble(port, head, 'a', 1000), dribble(port, head, 'a', 1000)];
    await Promise.all(slow.map((s) => new Promise((resolve) => s.socket.once('connect', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const extra = await dribble(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '', 0);
    expect(extra.data).toBe('');
    for (const res of await Promise.all(slow)) {
      expect(status_of(res.data)).toBe(408);
      expect(res.closed_after).toBeLessThan(REQUEST_MS + SLACK_MS);
    }
    // The slots are free again: an ordinary request is answered (a 404: the URLconf is empty).
    const ok = await dribble(port, 'GET /nothing/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', '', 0);
    expect(status_of(ok.data)).toBe(404);
  });
});
