/**
 * What a comparison server (bench/baseline.ts, bench/fastify_session.ts)
 * answers on the IPC channel bench/procs.ts's Child speaks: `ready` once
 * listening, `stats`, `now` (the clock of --cpu-prof samples) and
 * `shutdown`, which closes it (disconnect and signals too).
 */
export function serve_bench_child(port: number, label: string, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 5000).unref();
    try {
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stats') {
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      process.send?.({ type: 'stats', rss: mem.rss, heap_used: mem.heapUsed, cpu_us: cpu.user + cpu.system });
    } else if (m?.type === 'now') {
      process.send?.({ type: 'now', hrtime_us: Number(process.hrtime.bigint() / 1000n) });
    } else if (m?.type === 'shutdown') {
      void shutdown();
    }
  });
  process.on('disconnect', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  if (process.send) process.send({ type: 'ready', port, pid: process.pid, hrtime_us: Number(process.hrtime.bigint() / 1000n) });
  else console.log(`${label} at http://127.0.0.1:${port}/`);
}
