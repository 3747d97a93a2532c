/**
 * Runs `manage.ts serve` in child processes for tests, as an operator runs it:
 * waits (bounded) for the start-up line, keeps the output for failure
 * messages, and stops or kills each child by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './demo_site';
import { free_port } from '@tango/core/testing';
export { free_port };

// The ts-node that `npx ts-node` runs, without npx's wrapper process between the test and the server's pid.
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');
export const SERVE_SETTINGS = path.join(__dirname, 'fixtures', 'serve_settings.ts');

export interface ServeProcess {
  url: string;
  pid: number;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves once `text` has appeared `times` times in the output; rejects after `ms`. */
  wait_for(text: string, ms: number, times?: number): Promise<void>;
  /** The exit code (null when killed by a signal), once the process has exited; rejects after `ms`. */
  exit_code(ms: number): Promise<number | null>;
  /** SIGTERM, then SIGKILL if it is still running after `ms`. Safe to call twice. */
  stop(ms?: number): Promise<void>;
}

/** A port nothing listens on right now (the kernel picks it). */

function deadline<T>(what: string, ms: number, p: Promise<T>, output: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${output()}`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

export interface ServeOptions {
  /** --workers (default 1: one process, no cluster). */
  workers?: number;
  /** The settings module (default SERVE_SETTINGS). */
  settings?: string;
  /** More command-line arguments, such as ['--graceful-timeout', '1']. */
  args?: string[];
  /** --log-level (default 'warn'); null: no flag, serve's own default. */
  log_level?: string | null;
  /** The text to wait for before returning (default: the "Serving on" line). */
  ready?: string;
}

export async function start_serve(env: Record<string, string>, ms = 60_000, options: ServeOptions = {}): Promise<ServeProcess> {
  const port = await free_port();
  const argv = [
    'manage.ts', 'serve', `127.0.0.1:${port}`, '--workers', String(options.workers ?? 1),
    ...(options.log_level === null ? [] : ['--log-level', options.log_level ?? 'warn']),
    '--settings', options.settings ?? SERVE_SETTINGS, ...(options.args ?? []),
  ];
  const child: ChildProcess = spawn(TS_NODE, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const fn of listeners) fn();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output = () => out;

  const server: ServeProcess = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    output,
    wait_for: (text, wait_ms, times = 1) => deadline(`"${text}"`, wait_ms, new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.split(text).length - 1 >= times) {
          listeners.delete(check);
          resolve();
        }
      };
      listeners.add(check);
      check();
      void exited.then((code) => reject(new Error(`serve exited with ${code} before printing "${text}"; output:\n${out}`)));
    }), output),
    exit_code: (wait_ms) => deadline('the process to exit', wait_ms, exited, output),
    stop: async (wait_ms = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), wait_ms);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await server.wait_for(options.ready ?? `Serving on ${server.url}/`, ms);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return server;
}
