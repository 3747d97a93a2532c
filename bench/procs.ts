/**
 * Child processes of the bench: servers, the baseline, the load generator and
 * manage.ts commands. Every child is tracked by pid and stopped by pid when the
 * bench ends, however it ends.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, ROOT } from './config';
import { free_port } from '@tango/core/testing';

const live = new Set<ChildProcess>();

function kill_all(): void {
  for (const p of live) {
    if (p.pid !== undefined && p.exitCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', kill_all);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    kill_all();
    process.exit(130);
  });
}

/** ts-node in swc mode (tsconfig's "ts-node": {"swc": true}) compiles the .ts children. */
const TS_NODE = ['-r', 'ts-node/register'];

/** Forwards a child's stderr with a prefix, but at most `limit` lines (a failing server must not flood the report). */
function relay(name: string, stream: NodeJS.ReadableStream | null, tail: string[], limit = 15): void {
  if (!stream) return;
  let shown = 0;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      tail.push(line);
      if (tail.length > 30) tail.shift();
      if (shown < limit) process.stderr.write(`  [${name}] ${line.length > 240 ? `${line.slice(0, 240)}…` : line}\n`);
      else if (shown === limit) process.stderr.write(`  [${name}] (more output suppressed)\n`);
      shown++;
    }
  });
}

export interface ForkOptions {
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  node_flags?: string[];
  ready_timeout_ms?: number;
}

/** A forked child speaking the bench's IPC protocol ({type:'ready'}, then request/reply by type): TypeScript under ts-node, or compiled JavaScript (compiled()). */
export class Child {
  readonly stderr_tail: string[] = [];
  port = 0;
  /** process.hrtime of the child when it became ready, in µs (the clock of its --cpu-prof samples). */
  ready_us = 0;
  private constructor(readonly name: string, readonly proc: ChildProcess) {}

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static async fork(name: string, script: string, args: string[], o: ForkOptions = {}): Promise<Child> {
    const proc = fork(script, args, {
      cwd: ROOT,
      execArgv: [...(script.endsWith('.ts') ? TS_NODE : []), ...(o.node_flags ?? [])],
      env: { ...process.env, NODE_ENV: 'production', TANGO_LOG_LEVEL: 'warn', ...o.env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const child = new Child(name, proc);
    relay(name, proc.stderr, child.stderr_tail);
    const msg = await child.wait_for('ready', o.ready_timeout_ms ?? 60000);
    child.port = Number((msg as { port?: number }).port ?? 0);
    child.ready_us = Number((msg as { hrtime_us?: number }).hrtime_us ?? 0);
    return child;
  }

  /** The next IPC message of `type`, or a rejection if the child exits or the time runs out. */
  wait_for(type: string, timeout_ms: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const on_message = (m: Record<string, unknown>) => {
        if (m?.type !== type) return;
        cleanup();
        resolve(m);
      };
      const on_exit = (code: number | null) => {
        cleanup();
        reject(new Error(`${this.name} exited (${code}) while waiting for '${type}'${this.stderr_tail.length ? `:\n    ${this.stderr_tail.slice(-8).join('\n    ')}` : ''}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no '${type}' within ${timeout_ms} ms`));
      }, timeout_ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.proc.off('message', on_message);
        this.proc.off('exit', on_exit);
      };
      this.proc.on('message', on_message);
      this.proc.once('exit', on_exit);
    });
  }

  /** The child's CPU time (user + system), in µs, as it reports it over IPC. */
  async cpu_us(): Promise<number> {
    return Number((await this.ask({ type: 'stats' })).cpu_us);
  }

  async ask(message: Record<string, unknown>, reply_type = String(message.type), timeout_ms = 10000): Promise<Record<string, unknown>> {
    const p = this.wait_for(reply_type, timeout_ms);
    this.proc.send(message);
    return p;
  }

  /** Asks the child to shut down cleanly (so --cpu-prof writes its profile); kills it by pid after `grace_ms`. */
  async stop(grace_ms = 10000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      this.proc.send({ type: 'shutdown' });
    } catch {
      // IPC already closed
    }
    const timer = setTimeout(() => {
      if (this.proc.pid !== undefined && this.proc.exitCode === null) process.kill(this.proc.pid, 'SIGKILL');
    }, grace_ms);
    await exited;
    clearTimeout(timer);
  }
}

/** VmRSS and VmHWM (peak) of a live process, in bytes, from /proc. */
export function proc_memory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wall_ms: number;
  /** Highest VmHWM seen while polling /proc every 50 ms. */
  peak_rss: number;
  rss_samples: number[];
}

/** Runs a TypeScript script (e.g. manage.ts) under ts-node with a time limit, sampling its memory. */
export function run_ts(script: string, args: string[], o: { env?: Record<string, string>; timeout_ms: number }): Promise<CommandResult> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const proc = spawn(process.execPath, [...TS_NODE, script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => { if (stdout.length < 100_000) stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 100_000) stderr += d; });
    let peak = 0;
    const samples: number[] = [];
    const poll = setInterval(() => {
      const m = proc.pid === undefined ? undefined : proc_memory(proc.pid);
      if (m) {
        peak = Math.max(peak, m.hwm);
        if (samples.length < 10_000) samples.push(m.rss);
      }
    }, 50);
    const timer = setTimeout(() => {
      if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
    }, o.timeout_ms);
    proc.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, stdout, stderr, wall_ms: Number(process.hrtime.bigint() - start) / 1e6, peak_rss: peak, rss_samples: samples });
    });
  });
}

/** What the bench measures: a server on a port whose CPU time it can read. */
export interface Server {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  cpu_us(): Promise<number>;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLK_TCK = 100;

/** A process's user + system CPU time from /proc, in µs (10 ms resolution: fine over runs of seconds). */
export function proc_cpu_us(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}


/** Where `--serve` compiles the project, with the bench's settings and views (bench/tsconfig.serve.json); git ignores it. */
export const SERVE_DIST = path.join(BENCH_DIR, 'dist');

let serve_built = false;

/**
 * The compiled copy of bench module `name` (e.g. 'baseline'), after `npm run
 * build` into SERVE_DIST, once per bench run: ServeProcess runs compiled
 * JavaScript as production does, and its rows compare against a compiled baseline.
 */
export function compiled(name: string): string {
  if (!serve_built) {
    execFileSync(process.execPath, [...TS_NODE, 'scripts/build.ts', '--out', SERVE_DIST, '--project', path.join(BENCH_DIR, 'tsconfig.serve.json')],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    serve_built = true;
  }
  return path.join(SERVE_DIST, 'bench', `${name}.js`);
}

/**
 * The production command as docs/deployment.md runs it: `node dist/manage.js
 * serve ADDR --workers 1`, compiled by scripts/build.ts, with the bench's
 * settings (bench/settings.js beside it). Not under ts-node: ts-node loads
 * Node's `repl` module and with it `node:domain`, which wraps every
 * EventEmitter's construction and emit (bench/NOTES.md, "2026-12-07, day").
 * Its stdout (the request log at `--log-level info`) is read and dropped as
 * a log collector would; no NODE_ENV, which deployment.md does not set.
 */
export class ServeProcess implements Server {
  readonly #stderr_tail: string[] = [];
  private constructor(readonly name: string, readonly proc: ChildProcess, readonly port: number) {}

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** `env` as for the bench's settings module (BENCH_ENGINE); TANGO_SETTINGS_MODULE is the compiled bench/settings.js. */
  static async start(name: string, args: string[], env: Record<string, string>, ready_timeout_ms = 60000): Promise<ServeProcess> {
    const settings = compiled('settings');
    const port = await free_port();
    const { NODE_ENV: _, ...inherited } = process.env;
    const proc = spawn(process.execPath, [path.join(SERVE_DIST, 'manage.js'), 'serve', `127.0.0.1:${port}`, ...args], {
      cwd: ROOT,
      env: { ...inherited, ...env, TANGO_SETTINGS_MODULE: settings },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    proc.stdout?.resume();
    const server = new ServeProcess(name, proc, port);
    relay(name, proc.stderr, server.#stderr_tail);
    const deadline = Date.now() + ready_timeout_ms;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}):\n    ${server.#stderr_tail.slice(-8).join('\n    ')}`);
      const up = await fetch(`http://127.0.0.1:${port}/get_cookie/`).then((r) => r.arrayBuffer().then(() => true), () => false);
      if (up) return server;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`${name}: no answer on port ${port} within ${ready_timeout_ms} ms`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async cpu_us(): Promise<number> {
    return proc_cpu_us(this.pid);
  }

  /** SIGTERM (serve's graceful stop), then SIGKILL by pid after `grace_ms`. */
  async stop(grace_ms = 10000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.proc.pid !== undefined && this.proc.exitCode === null) process.kill(this.proc.pid, 'SIGKILL');
    }, grace_ms);
    await exited;
    clearTimeout(timer);
  }
}
