/**
 * The bench's results: their shape, the Markdown table, and the files
 * bench/results/<date>.json and .md (runs on the same day merge, so a
 * `--only S3 --engines file` rerun replaces just those rows).
 */
import { HASHING_LAG_TARGET_MS, HASHING_RATE_TARGET, type HashingResult } from './hashing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RESULTS_DIR, type EngineId, type Scenario } from './config';
import type { RunResult } from './loadgen';
import type { ProfileSummary } from './profile';

export interface SideStats {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** The server's CPU time (user + system) per request: less noisy than req/s on a shared machine. */
  cpu_us_per_req: number;
  rounds: RunResult[];
}

export interface ScenarioResult {
  scenario: Scenario;
  engine: EngineId;
  floor: string;
  tango: SideStats;
  baseline: SideStats;
  /** Median over rounds of (Tango req/s ÷ baseline req/s), each round's two runs being neighbours in time. */
  ratio: number;
  /** Each round's ratio: their spread shows how noisy the machine was. */
  round_ratios: number[];
  /** Baseline CPU per request ÷ Tango CPU per request (1 = Tango costs the server no more CPU than the floor). */
  cpu_ratio: number;
  target: number;
  pass: boolean;
  /** Anything that makes the numbers suspect (non-2xx, errors, lost sessions). */
  problems: string[];
  measured_at: string;
  /** Which Tango server: absent for bench/server.ts in-process; `serve` (or `serve --log-level info`) for manage.ts serve. */
  server?: string;
  /** S6 only: Tango's S6 req/s ÷ its S5 req/s on the same engine and server in the same run (the target is on this). */
  hot_share?: number;
  /** A row of another library on the same load (S6: @fastify/session), not of Tango: no target. */
  reference?: boolean;
  /** S6: Tango's req/s ÷ the reference row's req/s in the same run. */
  vs_reference?: number;
  settings: { connections: number; duration_s: number; warmup_s: number; rounds: number; rate?: number };
}

export interface CheckResult {
  engine: EngineId;
  requests: number;
  knex_queries: number;
  socket_writes: number;
  fs_ops: number;
  /** HTTP statuses of the S1 + S2 requests. */
  statuses: Record<string, number>;
  /** The same counters over requests that do use the session: proves the counters see the store. */
  control: { requests: number; knex_queries: number; socket_writes: number; fs_ops: number; statuses: Record<string, number> };
  pass: boolean;
  queries?: string[];
}

export interface MemoryResult {
  engine: EngineId;
  scenario: Scenario;
  warmup_requests: number;
  requests: number;
  completed: number;
  rss_after_warmup_mb: number;
  rss_end_mb: number;
  rss_max_mb: number;
  growth_pct: number;
  /** V8 heap in use right after a full GC, before and after the run (a leak shows here first). */
  live_heap_start_mb?: number;
  live_heap_end_mb?: number;
  pass: boolean;
  rps: number;
  non2xx: number;
}

export interface ClearResult {
  kind: 'postgresql' | 'file';
  expired: number;
  live: number;
  seconds: number;
  peak_rss_mb: number;
  remaining_expired: number;
  remaining_live: number;
  pass: boolean;
  note?: string;
}

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
  os: string;
  memory_gb: number;
}

export interface Report {
  date: string;
  machine: Machine;
  quick: boolean;
  /** Set by --rate: both servers ran at this many requests/s and ratios are of CPU per request. */
  rate?: number;
  results: ScenarioResult[];
  check: CheckResult[];
  memory: MemoryResult[];
  clear: ClearResult[];
  /** The password hashing phase (bench/hashing.ts). */
  hashing?: HashingResult[];
  profiles: ProfileSummary[];
  skipped: string[];
}

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    memory_gb: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
  };
}

export function today(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '-');

function spread(xs: number[] | undefined): string {
  if (!xs?.length) return '-';
  return `${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)}`;
}

export function results_table(rows: ScenarioResult[]): string {
  const out = [
    '| Scenario | Engine | Baseline does | Tango req/s | Tango p50 / p99 ms | Baseline req/s | Baseline p50 / p99 ms | Ratio (rounds) | Target | | CPU µs/req Tango / baseline |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  ];
  const order = (r: ScenarioResult) => `${r.scenario}|${r.engine === 'core' ? '' : r.engine}|${r.server ?? ''}`;
  for (const r of [...rows].sort((a, b) => order(a).localeCompare(order(b)))) {
    const mark = r.problems.length ? '⚠' : r.pass ? '✅' : '❌';
    const engine = r.server ? `${r.engine} (${r.server})` : r.engine;
    const vs = r.vs_reference === undefined ? '' : `; ${fmt(r.vs_reference, 2)}× @fastify/session`;
    const target = r.reference ? 'reference' : r.scenario === 'S6' ? `${fmt(r.hot_share ?? NaN, 2)} of S5, ≥ ${fmt(r.target, 2)}${vs}` : `≥ ${fmt(r.target, 2)}`;
    out.push(`| ${r.scenario} | ${engine} | ${r.floor} | ${fmt(r.tango.rps)} | ${ms(r.tango.p50_ms)} / ${ms(r.tango.p99_ms)} | ` +
      `${fmt(r.baseline.rps)} | ${ms(r.baseline.p50_ms)} / ${ms(r.baseline.p99_ms)} | **${fmt(r.ratio, 2)}** (${spread(r.round_ratios)}) | ${target} | ${mark} | ` +
      `${fmt(r.tango.cpu_us_per_req)} / ${fmt(r.baseline.cpu_us_per_req)} |`);
  }
  return out.join('\n');
}

export function markdown(report: Report): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# Tango benchmark, ${report.date}${report.quick ? ' (quick smoke run: numbers are indicative only)' : ''}`);
  lines.push('');
  lines.push(`Machine: ${m.nproc} cores, ${m.cpu}, ${m.memory_gb} GB, Node ${m.node}, ${m.os}.`);
  // Runs merged from several invocations may differ in length: say which scenarios ran how.
  const by_settings = new Map<string, Set<string>>();
  for (const r of report.results) {
    const s = r.settings;
    const k = `${s.connections} connections${s.rate ? ` at ${s.rate} req/s` : ''}, ${s.duration_s} s runs × ${s.rounds} rounds alternated Tango/baseline after a ${s.warmup_s} s warm-up of each`;
    (by_settings.get(k) ?? by_settings.set(k, new Set()).get(k)!).add(r.scenario);
  }
  for (const [k, scenarios] of by_settings) lines.push(`Load (${[...scenarios].sort().join(', ')}): autocannon, ${k}.  `);
  lines.push('');
  if (report.results.length) {
    lines.push(report.rate
      ? `## CPU per request, both servers at ${report.rate} req/s (ratio = baseline CPU µs/req ÷ Tango CPU µs/req)`
      : '## Throughput and latency (ratio = Tango req/s ÷ baseline req/s)');
    lines.push('');
    lines.push(results_table(report.results));
    const problems = report.results.filter((r) => r.problems.length);
    if (problems.length) {
      lines.push('');
      for (const r of problems) lines.push(`- ⚠ ${r.scenario} ${r.engine}${r.server ? ` (${r.server})` : ''}: ${r.problems.join('; ')}`);
    }
    lines.push('');
  }
  if (report.check.length) {
    lines.push('## Store round trips for requests without a session cookie (target: 0)');
    lines.push('');
    lines.push('| Engine | Requests (S1 + S2) | knex queries | outbound socket writes | session-dir fs calls | Control (session requests): queries / writes / fs | |');
    lines.push('| --- | ---: | ---: | ---: | ---: | --- | --- |');
    for (const c of report.check) {
      const bad = Object.entries(c.control.statuses ?? {}).filter(([k]) => k !== '200').map(([k, v]) => `${v}× ${k}`);
      lines.push(`| ${c.engine} | ${c.requests} | ${c.knex_queries} | ${c.socket_writes} | ${c.fs_ops} | ${c.control.requests} req: ` +
        `${c.control.knex_queries} / ${c.control.socket_writes} / ${c.control.fs_ops}${bad.length ? ` (⚠ ${bad.join(', ')})` : ''} | ${c.pass ? '✅' : '❌'} |`);
    }
    lines.push('');
  }
  if (report.memory.length) {
    lines.push('## Memory (target: RSS growth after warm-up < 10%)');
    lines.push('');
    lines.push('| Engine | Scenario | Requests | RSS after warm-up MB | RSS end MB | RSS max MB | Growth | Live heap after GC, start → end MB | req/s | |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of report.memory) {
      const heap = r.live_heap_start_mb === undefined ? '-' : `${fmt(r.live_heap_start_mb, 1)} → ${fmt(r.live_heap_end_mb ?? NaN, 1)}`;
      lines.push(`| ${r.engine} | ${r.scenario} | ${r.completed} | ${fmt(r.rss_after_warmup_mb, 1)} | ${fmt(r.rss_end_mb, 1)} | ${fmt(r.rss_max_mb, 1)} | ` +
        `${fmt(r.growth_pct, 1)}% | ${heap} | ${fmt(r.rps)} | ${r.pass ? '✅' : '❌'} |`);
    }
    lines.push('');
  }
  if (report.clear.length) {
    lines.push('## clearsessions (target: < 30 s, flat memory)');
    lines.push('');
    lines.push('| Store | Expired | Live | Time s | Peak RSS MB | Left: expired / live | |');
    lines.push('| --- | ---: | ---: | ---: | ---: | --- | --- |');
    for (const c of report.clear) {
      lines.push(`| ${c.kind} | ${c.expired} | ${c.live} | ${fmt(c.seconds, 1)} | ${fmt(c.peak_rss_mb, 1)} | ${c.remaining_expired} / ${c.remaining_live} | ${c.pass ? '✅' : '❌'}${c.note ? ` ${c.note}` : ''} |`);
    }
    lines.push('');
  }
  if (report.hashing?.length) {
    lines.push(`## Password hashing (target: ≥ ${HASHING_RATE_TARGET} hash/s, the event loop lags < ${HASHING_LAG_TARGET_MS} ms while hashing)`);
    lines.push('');
    lines.push('| Algorithm | Iterations | At once | Hashes | Hashes/s | Max timer lag ms | |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const h of report.hashing) {
      lines.push(`| ${h.algorithm} | ${h.iterations} | ${h.concurrency} | ${h.hashes} | ${fmt(h.hashes_per_second, 1)} | ${fmt(h.loop_max_lag_ms, 1)} | ${h.pass ? '✅' : '❌'} |`);
    }
    lines.push('');
  }
  if (report.skipped.length) {
    lines.push('## Skipped');
    lines.push('');
    for (const s of report.skipped) lines.push(`- ${s}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Rewrites the .md of a results .json (after a change to the rendering), returning the report. */
export function rerender(json_file: string): Report {
  const report = JSON.parse(fs.readFileSync(json_file, 'utf8')) as Report;
  fs.writeFileSync(json_file.replace(/\.json$/, '.md'), `${markdown(report)}\n`);
  return report;
}

/** bench/results/<date>, -quick for a smoke run, -rate<N> for a fixed-rate run: each kind merges only with its own. */
export function results_base(date: string, quick: boolean, rate: number | undefined): string {
  // A --contrib run is kept apart from the sessions-only figures of the same day.
  const contrib = process.env.BENCH_CONTRIB === '1' ? '-contrib' : '';
  return path.join(RESULTS_DIR, `${date}${quick ? '-quick' : ''}${rate ? `-rate${rate}` : ''}${contrib}`);
}

/** Merges `report` into today's files (rows keyed by scenario+engine, sections by engine/kind) and writes .json and .md. */
export function write_report(report: Report): { json: string; md: string; merged: Report } {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const base = results_base(report.date, report.quick, report.rate);
  let merged = report;
  if (fs.existsSync(`${base}.json`)) {
    try {
      const old = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as Report;
      const keep = <T>(olds: T[] | undefined, news: T[], key: (x: T) => string) => {
        const fresh = new Set(news.map(key));
        return [...(olds ?? []).filter((x) => !fresh.has(key(x))), ...news];
      };
      merged = {
        ...report,
        results: keep(old.results, report.results, (r) => `${r.scenario}|${r.engine}|${r.server ?? ''}`),
        check: keep(old.check, report.check, (c) => c.engine),
        memory: keep(old.memory, report.memory, (r) => `${r.engine}|${r.scenario}`),
        clear: keep(old.clear, report.clear, (c) => c.kind),
        hashing: keep(old.hashing, report.hashing ?? [], (h) => h.algorithm),
        profiles: keep(old.profiles, report.profiles, (p) => p.file),
        skipped: report.skipped,
      };
    } catch {
      // unreadable: overwrite
    }
  }
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(merged, null, 2)}\n`);
  fs.writeFileSync(`${base}.md`, `${markdown(merged)}\n`);
  return { json: `${base}.json`, md: `${base}.md`, merged };
}
