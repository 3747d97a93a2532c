/**
 * The load generator, in its own process (forked by bench/run.ts), so it never
 * shares an event loop with the server it measures. It runs autocannon's
 * programmatic API on request: {type:'run', id, ...RunSpec} → {type:'result', id, result}.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>, cb?: (err: Error | null, r: AutocannonResult) => void) => AutocannonInstance;

export interface RunSpec {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  /** A fixed number of requests instead of a duration. */
  amount?: number;
  /** Hard stop after this many seconds whatever happens. */
  max_seconds: number;
  /** Cookie headers, one per request in turn across all connections (S3, S5). */
  cookies?: string[];
  /** A fixed Cookie header on every request (S1). */
  cookie?: string;
  /** Requests per second over all connections (autocannon's overallRate); unset, as fast as the server answers. */
  rate?: number;
}

export interface RunResult {
  requests: number;
  duration_s: number;
  rps: number;
  latency_ms: { p50: number; p99: number; mean: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  status: Record<string, number>;
  stopped_by_watchdog: boolean;
}

interface Histogram { average: number; mean: number; p50: number; p99: number; max: number; total: number }
interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
}
interface AutocannonInstance {
  stop(): void;
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}

/**
 * Response times in ms at full resolution (autocannon's own histogram keeps
 * whole milliseconds, too coarse for sub-millisecond p50s). Only 2xx count,
 * as in autocannon.
 */
class Latencies {
  #data = new Float64Array(1 << 16);
  #n = 0;
  add(ms: number): void {
    if (this.#n === this.#data.length) {
      if (this.#n >= 1 << 23) return; // 8M samples is plenty
      const bigger = new Float64Array(this.#n * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#n++] = ms;
  }
  summary(): { p50: number; p99: number; mean: number; max: number } {
    const v = this.#data.subarray(0, this.#n).sort();
    const at = (q: number) => (this.#n ? v[Math.min(this.#n - 1, Math.ceil(q * this.#n) - 1)] : NaN);
    let sum = 0;
    for (let i = 0; i < this.#n; i++) sum += v[i];
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return { p50: r(at(0.5)), p99: r(at(0.99)), mean: r(this.#n ? sum / this.#n : NaN), max: r(this.#n ? v[this.#n - 1] : NaN) };
  }
}

function run(spec: RunSpec): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let turn = 0;
    const cookies = spec.cookies;
    const headers: Record<string, string> = spec.cookie ? { cookie: spec.cookie } : {};
    const request: Record<string, unknown> = { method: 'GET', headers };
    if (cookies?.length) {
      request.setupRequest = (req: { headers: Record<string, string> }) => {
        req.headers.cookie = cookies[turn++ % cookies.length];
        return req;
      };
    }
    let stopped = false;
    const latencies = new Latencies();
    const opts: Record<string, unknown> = {
      url: spec.url,
      connections: spec.connections,
      pipelining: 1,
      requests: [request],
      timeout: 10,
    };
    if (spec.rate) opts.overallRate = spec.rate;
    if (spec.amount) opts.amount = spec.amount;
    else opts.duration = spec.duration ?? 5;
    const instance = autocannon(opts, (err, r) => {
      clearTimeout(watchdog);
      if (err) return reject(err);
      const status: Record<string, number> = {};
      for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) status[code] = Number(s.count);
      const requests = r.requests.total;
      resolve({
        requests,
        duration_s: r.duration,
        rps: r.duration > 0 ? requests / r.duration : 0,
        latency_ms: latencies.summary(),
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        status,
        stopped_by_watchdog: stopped,
      });
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.add(ms);
    });
    const watchdog = setTimeout(() => {
      stopped = true;
      instance.stop();
    }, spec.max_seconds * 1000);
  });
}

process.on('message', (m: { type?: string; id?: number } & RunSpec) => {
  if (m?.type === 'run') {
    run(m).then(
      (result) => process.send?.({ type: 'result', id: m.id, result }),
      (err: unknown) => process.send?.({ type: 'result', id: m.id, error: String((err as Error)?.message ?? err) }));
  } else if (m?.type === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
