/**
 * Long runs of S4 and S5 on a fresh Tango server: resident memory after a
 * warm-up, sampled every second, and at the end. Growth beyond 10% means
 * something is kept per session, per connection or per key.
 */
import type { EngineId, Scenario } from './config';
import { spec_for, type LoadGen } from './measure';
import type { Options } from './options';
import { Child, proc_memory } from './procs';
import type { MemoryResult } from './report';
import { cleanup, create_sessions, prepare } from './stores';

const MB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function memory_run(load: LoadGen, engine: EngineId, scenario: Scenario, o: Options, log: (s: string) => void): Promise<MemoryResult> {
  await prepare(engine);
  // --expose-gc: heap in use after a full collection, at the start and the end, tells a leak from a heap that grew.
  const server = await Child.fork(`tango ${engine}`, 'bench/server.ts', ['--engine', engine], { node_flags: ['--expose-gc'] });
  const live_heap = async () => Number((await server.ask({ type: 'gc' }, 'gc', 30_000)).heap_used) / MB;
  try {
    const cookies = scenario === 'S5' ? await create_sessions(server.port, o.sessions) : [];
    const spec = (amount: number) => ({ ...spec_for(scenario, server.port, o, cookies, 0), amount, duration: undefined, max_seconds: Math.max(120, amount / 200) });
    await load.run(spec(o.mem_warmup));
    await sleep(1000);
    const heap_start = await live_heap();
    const start = proc_memory(server.pid);
    if (!start) throw new Error('cannot read the server RSS from /proc');
    let max = start.rss;
    const sampler = setInterval(() => {
      const m = proc_memory(server.pid);
      if (m) max = Math.max(max, m.rss);
    }, 1000);
    log(`    ${engine} ${scenario}: ${o.mem_requests} requests, RSS after warm-up ${(start.rss / MB).toFixed(1)} MB`);
    let r;
    try {
      r = await load.run(spec(o.mem_requests));
    } finally {
      clearInterval(sampler);
    }
    await sleep(1000);
    const end = proc_memory(server.pid) ?? start;
    const heap_end = await live_heap();
    max = Math.max(max, end.rss);
    const growth = ((end.rss - start.rss) / start.rss) * 100;
    return {
      engine,
      scenario,
      warmup_requests: o.mem_warmup,
      requests: o.mem_requests,
      completed: r.requests,
      rss_after_warmup_mb: start.rss / MB,
      rss_end_mb: end.rss / MB,
      rss_max_mb: max / MB,
      growth_pct: growth,
      live_heap_start_mb: heap_start,
      live_heap_end_mb: heap_end,
      pass: growth < 10 && r.non2xx === 0,
      rps: r.rps,
      non2xx: r.non2xx,
    };
  } finally {
    await server.stop();
    await cleanup(engine);
  }
}
