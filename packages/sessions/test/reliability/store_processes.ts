/**
 * Store servers a test owns (issue 19): a redis-server or memcached started
 * from the test on a free ephemeral port, in a temp dir, so that the test can
 * kill -9 it and start it again on the same port (and, for Redis, the same
 * directory: with appendonly on, what it had acknowledged comes back). The
 * shared servers on the default ports are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from './helpers';
import { free_port } from '@tango/core/testing';
export { free_port };

/** A free TCP port on 127.0.0.1 (the OS picks it; closed again before the server takes it). */

/** Whether something accepts connections on 127.0.0.1:port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export type ServerKind = 'redis' | 'memcached';

/** One store server process the test started; `location` is what CACHES.LOCATION takes. */
export class StoreProcess {
  #child: ChildProcess | null = null;
  /** Made by the first start() (a suite filtered out never starts, and leaves nothing behind). */
  dir = '';
  port = 0;

  constructor(readonly kind: ServerKind) {}

  get location(): string {
    return this.kind === 'redis' ? `redis://127.0.0.1:${this.port}` : `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #args(): string[] {
    if (this.kind === 'memcached') {
      // memcached refuses to run as root without -u.
      const as_user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
      return ['-l', '127.0.0.1', '-p', String(this.port), '-U', '0', '-m', '64', ...as_user];
    }
    // appendonly: every acknowledged write is in the AOF before the reply, so a kill -9 loses none of them.
    return ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes',
      '--save', '', '--protected-mode', 'no', '--daemonize', 'no', '--logfile', path.join(this.dir, 'redis.log')];
  }

  /** Starts the server (on a fresh port the first time, the same port after a kill) and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await free_port();
    if (this.dir === '') this.dir = mkdtempSync(path.join(os.tmpdir(), `tango-${this.kind}-`));
    const child = spawn(this.kind === 'redis' ? 'redis-server' : 'memcached', this.#args(), { stdio: 'ignore' });
    this.#child = child;
    let exited = false;
    child.once('exit', () => { exited = true; });
    for (let i = 0; i < 200; i++) {
      if (exited) throw new Error(`${this.kind} on port ${this.port} exited at start (see ${this.dir})`);
      if (await answers(this.port)) {
        // Redis accepts connections while it still loads the AOF (it answers LOADING): give it a moment.
        if (this.kind === 'redis') await sleep(100);
        return;
      }
      await sleep(25);
    }
    throw new Error(`${this.kind} on port ${this.port} did not start`);
  }

  /** kill -9 of this process only (by its pid), then waits for it to be gone. */
  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
    this.#child = null;
  }

  async stop(): Promise<void> {
    await this.kill9();
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }
}
