/**
 * "A request that carries no session cookie and does not touch
 * request.session makes no store round trip": a Tango server started with
 * --count observes its own store traffic in-process (knex 'query' events,
 * writes on outbound sockets, fs calls under the session directory) while it
 * serves S1 and S2, which must cost 0. A control of S4 requests, which do use
 * the session, proves the counters see the store.
 */
import { PATHS, S1_COOKIE_HEADER, type EngineId } from './config';
import { Child } from './procs';
import type { CheckResult } from './report';

interface Counters { knex_queries: number; socket_writes: number; fs_ops: number; queries: string[] }

/** `n` requests, 10 at a time; returns how many answered each status. */
async function hit(port: number, path: string, n: number, cookie?: string): Promise<Record<string, number>> {
  let next = 0;
  const statuses: Record<string, number> = {};
  const worker = async () => {
    while (next < n) {
      next++;
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: cookie ? { cookie } : {} });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return statuses;
}

function merge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

async function counters(server: Child): Promise<Counters> {
  return (await server.ask({ type: 'stats' })).counters as Counters;
}

export async function store_check(engine: EngineId, n = 500): Promise<CheckResult> {
  const server = await Child.fork(`tango ${engine} --count`, 'bench/server.ts', ['--engine', engine, '--count']);
  try {
    await server.ask({ type: 'reset' });
    const statuses = merge(await hit(server.port, PATHS.S1, n, S1_COOKIE_HEADER), await hit(server.port, PATHS.S2, n));
    const quiet = await counters(server);
    await server.ask({ type: 'reset' });
    const control_n = 20;
    const control_statuses = await hit(server.port, PATHS.S4, control_n);
    const control = await counters(server);
    return {
      engine,
      requests: 2 * n,
      knex_queries: quiet.knex_queries,
      socket_writes: quiet.socket_writes,
      fs_ops: quiet.fs_ops,
      statuses,
      control: { requests: control_n, knex_queries: control.knex_queries, socket_writes: control.socket_writes, fs_ops: control.fs_ops, statuses: control_statuses },
      pass: quiet.knex_queries === 0 && quiet.socket_writes === 0 && quiet.fs_ops === 0 && Object.keys(statuses).every((k) => k === '200'),
      queries: quiet.queries.length ? quiet.queries : undefined,
    };
  } finally {
    await server.stop();
  }
}
