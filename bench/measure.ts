/**
 * One scenario on one engine: warm both servers up, then alternate Tango and
 * the baseline (A B A B …) under the same load, so drift on a noisy machine
 * hits both; the ratio compares the means of the rounds.
 */
import { floor_of, HOT_TARGET, PATHS, S1_COOKIE_HEADER, SESSION_COOKIE_NAME, type EngineId, type Scenario } from './config';
import type { RunResult, RunSpec } from './loadgen';
import type { Child, Server } from './procs';
import type { ScenarioResult, SideStats } from './report';
import type { Options } from './options';

export const TARGETS: Record<Scenario, number> = { S1: 0.9, S2: 0.9, S3: 0.85, S4: 0.85, S5: 0.85, S6: HOT_TARGET };

/** Drives the load-generator child. */
export class LoadGen {
  #next = 1;
  /** Requests completed per target port, warm-ups included (to express profiles per request). */
  readonly served = new Map<number, number>();
  readonly #child: Child;

  constructor(child: Child) {
    this.#child = child;
  }

  async run(spec: RunSpec): Promise<RunResult> {
    const id = this.#next++;
    const limit = (spec.max_seconds + 30) * 1000;
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const on_message = (m: Record<string, unknown>) => {
        if (m?.type === 'result' && m.id === id) {
          clearTimeout(timer);
          this.#child.proc.off('message', on_message);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        this.#child.proc.off('message', on_message);
        reject(new Error(`load generator gave no result within ${limit / 1000} s`));
      }, limit);
      this.#child.proc.on('message', on_message);
      this.#child.proc.send({ type: 'run', id, ...spec });
    });
    if (reply.error) throw new Error(`load generator: ${String(reply.error)}`);
    const result = reply.result as RunResult;
    const port = Number(new URL(spec.url).port);
    this.served.set(port, (this.served.get(port) ?? 0) + result.requests);
    return result;
  }
}

/** The load for `scenario`: S1 carries ordinary cookies, S3/S5 one session cookie per request in turn, S2/S4 none. */
export function spec_for(scenario: Scenario, port: number, o: Options, cookies: string[], duration: number): RunSpec {
  const connections = scenario === 'S6' ? o.hot_connections : o.connections;
  const spec: RunSpec = { url: `http://127.0.0.1:${port}${PATHS[scenario]}`, connections, duration, max_seconds: duration * 3 + 10 };
  if (o.rate) spec.rate = o.rate;
  if (scenario === 'S1') spec.cookie = S1_COOKIE_HEADER;
  if (scenario === 'S3' || scenario === 'S5') spec.cookies = cookies.map((c) => `${SESSION_COOKIE_NAME}=${c}`);
  // S6: every connection on the one session a page would hold.
  if (scenario === 'S6') spec.cookie = `${SESSION_COOKIE_NAME}=${cookies[0]}`;
  return spec;
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length === 0 ? NaN : v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function side(rounds: TimedRun[]): SideStats {
  return {
    rps: mean(rounds.map((r) => r.rps)),
    p50_ms: mean(rounds.map((r) => r.latency_ms.p50)),
    p99_ms: mean(rounds.map((r) => r.latency_ms.p99)),
    cpu_us_per_req: mean(rounds.map((r) => r.cpu_us_per_req)),
    rounds,
  };
}

type TimedRun = RunResult & { cpu_us_per_req: number };

/** One load run, with the server's own CPU time (user + system) per request over it. */
async function timed(load: LoadGen, server: Server, spec: RunSpec): Promise<TimedRun> {
  const before = await server.cpu_us();
  const r = await load.run(spec);
  const used = (await server.cpu_us()) - before;
  return { ...r, cpu_us_per_req: r.requests ? Math.round((used / r.requests) * 10) / 10 : NaN };
}

function problems_of(name: string, rounds: RunResult[]): string[] {
  const out: string[] = [];
  const non2xx = rounds.reduce((a, r) => a + r.non2xx, 0);
  const errors = rounds.reduce((a, r) => a + r.errors, 0);
  if (non2xx) out.push(`${name}: ${non2xx} non-2xx responses (${JSON.stringify(Object.assign({}, ...rounds.map((r) => r.status)))})`);
  if (errors) out.push(`${name}: ${errors} connection errors/timeouts`);
  if (rounds.some((r) => r.stopped_by_watchdog)) out.push(`${name}: a run hit the watchdog`);
  return out;
}

/** Under --rate, a server that could not keep up ran at a rate of its own: its CPU per request is not comparable. */
function rate_problems(rate: number | undefined, tango: SideStats, baseline: SideStats): string[] {
  if (!rate) return [];
  return ([['tango', tango], ['baseline', baseline]] as const)
    .filter(([, s]) => s.rps < rate * 0.95)
    .map(([name, s]) => `${name}: served ${s.rps.toFixed(0)} req/s, under the set rate of ${rate}: lower --rate`);
}

export async function measure(
  load: LoadGen, scenario: Scenario, engine: EngineId, tango: Server, baseline: Server, o: Options, cookies: string[],
  log: (s: string) => void, server_cookies: string[] = cookies,
): Promise<ScenarioResult> {
  const a = (d: number) => spec_for(scenario, tango.port, o, server_cookies, d);
  const b = (d: number) => spec_for(scenario, baseline.port, o, cookies, d);
  await load.run(a(o.warmup));
  await load.run(b(o.warmup));
  const ta: TimedRun[] = [];
  const tb: TimedRun[] = [];
  for (let i = 0; i < o.rounds; i++) {
    ta.push(await timed(load, tango, a(o.duration)));
    tb.push(await timed(load, baseline, b(o.duration)));
    log(`    round ${i + 1}: tango ${ta[i].rps.toFixed(0)} req/s (${ta[i].cpu_us_per_req} µs CPU/req), ` +
      `baseline ${tb[i].rps.toFixed(0)} req/s (${tb[i].cpu_us_per_req} µs CPU/req)`);
  }
  const tango_s = side(ta);
  const base_s = side(tb);
  // Each round's Tango run and baseline run are neighbours in time: their ratio cancels slow drift, and the
  // median over rounds discards a round that a burst of outside load hit.
  // At one fixed rate both serve the same requests per second: what differs is the CPU each spends on one.
  const round_ratios = ta.map((r, i) => (o.rate ? tb[i].cpu_us_per_req / r.cpu_us_per_req : r.rps / tb[i].rps));
  const ratio = median(round_ratios);
  const target = TARGETS[scenario];
  const problems = [...problems_of('tango', ta), ...problems_of('baseline', tb), ...rate_problems(o.rate, tango_s, base_s)];
  return {
    scenario,
    engine,
    floor: floor_of(scenario, engine),
    tango: tango_s,
    baseline: base_s,
    ratio,
    round_ratios: round_ratios.map((x) => Math.round(x * 1000) / 1000),
    cpu_ratio: base_s.cpu_us_per_req / tango_s.cpu_us_per_req,
    target,
    pass: ratio >= target && problems.length === 0,
    problems,
    measured_at: new Date().toISOString(),
    settings: { connections: scenario === 'S6' ? o.hot_connections : o.connections, duration_s: o.duration, warmup_s: o.warmup, rounds: o.rounds, ...(o.rate ? { rate: o.rate } : {}) },
  };
}
