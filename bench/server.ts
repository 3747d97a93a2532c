/**
 * One Tango server for the bench, in production mode: DEBUG false, no
 * autoreload, no access log, Fastify's logger off.
 *
 *   node -r ts-node/register bench/server.ts --engine db-pg [--port 0] [--count]
 *   (or: npx ts-node bench/server.ts --engine db-pg --port 8100)
 *
 * Forked by bench/run.ts, it reports {type:'ready', port} over IPC and answers
 * {type:'stats'} with its RSS and, under --count, how many store round trips
 * it made since the last {type:'reset'}: knex 'query' events, writes on
 * outbound sockets (PostgreSQL, Redis, Memcached) and fs calls on the session
 * directory. {type:'shutdown'} closes it (so --cpu-prof profiles get written).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { bench_settings, is_engine, ROOT, SESSION_DIR, type EngineId } from './config';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const engine_arg = arg('--engine') ?? 'core';
if (!is_engine(engine_arg)) {
  console.error(`server.ts: unknown --engine ${engine_arg}`);
  process.exit(2);
}
const engine: EngineId = engine_arg;
const port = Number(arg('--port') ?? 0);
const counting = process.argv.includes('--count');

export interface Counters {
  knex_queries: number;
  socket_writes: number;
  fs_ops: number;
  queries: string[];
}

const counters: Counters = { knex_queries: 0, socket_writes: 0, fs_ops: 0, queries: [] };

/** Installed before Tango loads, so every store client is observed. */
function install_counters(): void {
  const OUT = Symbol('outbound');
  type Marked = net.Socket & { [OUT]?: boolean };
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: Marked, ...args: unknown[]) {
    this[OUT] = true;
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: Marked, ...args: unknown[]) {
    if (this[OUT]) counters.socket_writes++;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;

  const under = (p: unknown) => typeof p === 'string' && p.startsWith(SESSION_DIR);
  const promises = fs.promises as unknown as Record<string, (...a: unknown[]) => unknown>;
  // The module object itself: an `import * as` namespace may be a copy, and
  // patching a copy would miss every engine that calls the callback API.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const callbacks = require('node:fs') as Record<string, (...a: unknown[]) => unknown>;
  const wrap = (obj: Record<string, (...a: unknown[]) => unknown>, key: string) => {
    const orig = obj[key];
    if (typeof orig !== 'function') return;
    obj[key] = function (this: unknown, ...a: unknown[]) {
      if (under(a[0]) || under(a[1])) counters.fs_ops++;
      return orig.apply(this, a);
    };
  };
  for (const name of ['readFile', 'writeFile', 'open', 'rename', 'stat', 'unlink', 'readdir', 'access', 'lstat', 'mkdir', 'rm', 'opendir']) {
    wrap(promises, name);
    wrap(callbacks, name);
    wrap(callbacks, `${name}Sync`);
  }
}

async function main(): Promise<void> {
  if (counting) install_counters();
  process.env.NODE_ENV ??= 'production';
  // Load Tango only now, after the counters are in place.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const core = require('@tango/core') as typeof import('@tango/core');
  core.configure(bench_settings(engine), ROOT);
  const { urlpatterns } = require('./urls') as typeof import('./urls');
  if (counting && (engine === 'core' || engine.startsWith('db-') || engine === 'cached_db')) {
    const { get_connection } = require('@tango/core/db') as typeof import('@tango/core/db');
    get_connection().on('query', (q: { sql: string }) => {
      counters.knex_queries++;
      if (counters.queries.length < 20) counters.queries.push(q.sql);
    });
  }
  const app = await core.create_app({ urlpatterns, access_log: false, logger: false });
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address() as net.AddressInfo;

  let closing = false;
  const shutdown = async (code = 0) => {
    if (closing) return;
    closing = true;
    const timer = setTimeout(() => process.exit(code), 5000);
    timer.unref();
    try {
      await app.close();
      const db = require('@tango/core/db') as typeof import('@tango/core/db');
      const cache = require('@tango/core/cache') as typeof import('@tango/core/cache');
      await Promise.allSettled([db.close_connections(), cache.close_caches()]);
    } finally {
      process.exit(code);
    }
  };
  /* eslint-enable @typescript-eslint/no-require-imports */

  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stats') {
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      process.send?.({ type: 'stats', rss: mem.rss, heap_used: mem.heapUsed, cpu_us: cpu.user + cpu.system, counters: { ...counters, queries: [...counters.queries] } });
    } else if (m?.type === 'reset') {
      counters.knex_queries = 0;
      counters.socket_writes = 0;
      counters.fs_ops = 0;
      counters.queries.length = 0;
      process.send?.({ type: 'reset' });
    } else if (m?.type === 'gc') {
      // Under --expose-gc (memory runs): a full collection, then what is still alive.
      (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      process.send?.({ type: 'gc', rss: mem.rss, heap_used: mem.heapUsed, external: mem.external });
    } else if (m?.type === 'now') {
      // The clock of --cpu-prof samples: profiles are summarised from this instant on.
      process.send?.({ type: 'now', hrtime_us: Number(process.hrtime.bigint() / 1000n) });
    } else if (m?.type === 'shutdown') {
      void shutdown(0);
    }
  });
  process.on('disconnect', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  if (process.send) process.send({ type: 'ready', port: address.port, pid: process.pid, hrtime_us: Number(process.hrtime.bigint() / 1000n) });
  else console.log(`Tango bench server (${engine}) at http://127.0.0.1:${address.port}/`);
}

main().catch((err: unknown) => {
  console.error(`server.ts (${engine}): ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
