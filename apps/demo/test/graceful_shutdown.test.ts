/**
 * `serve --workers 2` as production runs it, stopped under keep-alive load:
 * SIGTERM must lose nothing. Every request either gets its complete response
 * or, once the listener is closed, fails to connect with ECONNREFUSED (which a
 * load balancer retries on another server); no established connection is reset.
 * Also: a worker that fails at start is restarted with backoff, then given up
 * on; a worker's death is logged with its signal or exit code.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { keepalive_load, type Outcome } from './keepalive_load';
import { start_serve, type ServeProcess } from './serve_process';

jest.setTimeout(120_000);

const CRASH_SETTINGS = path.join(__dirname, 'fixtures', 'crash_settings.ts');

const expect_body = (p: string, body: string) =>
  p.startsWith('/slow/') ? body.startsWith('slow done after') : body === 'user_id: (none)';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe_outcomes(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const k = `${o.kind}${o.reused ? ' (reused socket)' : ' (new socket)'}: ${o.detail}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} × ${k}`).join('\n');
}

/** Resolves once the server answers a request (bounded). */
async function answering(url: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`${url}/get_session/`)).status === 200) return;
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    await sleep(100);
  }
}

/** The pids of a process's children (the cluster's workers). */
function children(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return [];
  }
}

describe('serve --workers 2: SIGTERM under keep-alive load', () => {
  let server: ServeProcess | undefined;
  afterEach(() => server?.stop());

  it('50 keep-alive clients: every request gets a complete response or ECONNREFUSED at connect, and serve exits 0', async () => {
    server = await start_serve({}, 60_000, { workers: 2 });
    const s = server;
    await answering(s.url);
    // One client in five holds its request in the view for 300 ms, so requests are in flight at the signal.
    const load = keepalive_load(s.url, 50, ['/get_session/', '/get_session/', '/get_session/', '/get_session/', '/slow/?ms=300'], expect_body);
    try {
      // Both workers are up once requests are answered for a while (their start-up is a ts-node compile each).
      const warm_until = Date.now() + 30_000;
      while (load.outcomes.filter((o) => o.kind === 'ok').length < 500 && Date.now() < warm_until) await sleep(50);
      await sleep(1000);
      const before = load.outcomes.length;
      expect(load.outcomes.filter((o) => o.kind !== 'ok')).toEqual([]);
      const signal_at = Date.now();
      process.kill(s.pid, 'SIGTERM');
      const code = await s.exit_code(30_000);
      // Whatever is still running after the exit can only be refused now.
      await Promise.race([load.done, sleep(5000)]);
      load.stop();
      await load.done;
      const after = load.outcomes.slice(before);
      const bad = load.outcomes.filter((o) => o.kind === 'error');
      if (bad.length > 0) throw new Error(`${bad.length} of ${load.outcomes.length} requests failed:\n${describe_outcomes(after)}`);
      expect(code).toBe(0);
      // The drain served requests (the slow ones in flight at the signal, at least), then refused the rest.
      expect(after.filter((o) => o.kind === 'ok' && o.at >= signal_at).length).toBeGreaterThan(0);
      expect(after.filter((o) => o.kind === 'refused').length).toBe(50);
      process.stdout.write(`SIGTERM under load, after the signal:\n${describe_outcomes(after)}\n`);
      // ECONNREFUSED only ever happens on a new connection.
      expect(after.filter((o) => o.kind === 'refused' && o.reused)).toEqual([]);
    } finally {
      load.stop();
    }
  });

  it('a request still running after --graceful-timeout is cut, and serve exits', async () => {
    server = await start_serve({}, 60_000, { workers: 2, args: ['--graceful-timeout', '1'] });
    const s = server;
    const slow = fetch(`${s.url}/slow/?ms=10000`).then((r) => r.text()).then(() => 'completed', () => 'cut');
    await s.wait_for('slow request started', 20_000);
    const t0 = Date.now();
    process.kill(s.pid, 'SIGTERM');
    const code = await s.exit_code(8_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await slow).toBe('cut');
    expect(code).toBe(0);
    expect(s.output()).toMatch(/graceful timeout \(1 s\) reached; closing 1 connection/);
  });
});

describe('serve --workers 2: workers that die', () => {
  let server: ServeProcess | undefined;
  afterEach(() => server?.stop());

  it('the log names the signal that killed a worker, and a new worker replaces it', async () => {
    server = await start_serve({}, 60_000, { workers: 2 });
    const s = server;
    const res = await fetch(`${s.url}/get_session/`);
    expect(res.status).toBe(200);
    const [victim] = children(s.pid);
    expect(victim).toBeGreaterThan(0);
    process.kill(victim, 'SIGKILL');
    await s.wait_for(`worker ${victim} was killed by SIGKILL`, 10_000);
    expect(s.output()).not.toContain('exited with null');
    // Still serving: the other worker at once, the replacement after its start-up.
    expect((await fetch(`${s.url}/get_session/`)).status).toBe(200);
  });

  it('a worker that fails at start is restarted with growing delays, then serve gives up and exits 1', async () => {
    const t0 = Date.now();
    server = await start_serve({}, 60_000, { workers: 2, settings: CRASH_SETTINGS, ready: 'exited with' });
    const s = server;
    const code = await s.exit_code(90_000);
    const out = s.output();
    const restarts = [...out.matchAll(/exited with code 1; restarting in (\d+) ms/g)].map((m) => Number(m[1]));
    expect(code).toBe(1);
    expect(out).toMatch(/workers keep failing at start \(\d+ in a row, none stayed up 5 s\); giving up/);
    // Exponential: each delay at least the one before, doubling from 100 ms.
    expect(restarts.slice(0, 3)).toEqual([100, 200, 400]);
    for (let i = 1; i < restarts.length; i++) expect(restarts[i]).toBeGreaterThanOrEqual(restarts[i - 1]);
    // Today's loop restarted 11 workers in 10 s; with the backoff and the limit it is a handful in all.
    expect(restarts.length).toBeLessThanOrEqual(8);
    process.stdout.write(`crash loop: ${restarts.length} restarts (${restarts.join(', ')} ms) before giving up after ${Date.now() - t0} ms\n`);
  });
});
