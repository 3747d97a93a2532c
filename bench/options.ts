/**
 * `npm run bench -- [flags]`. Every flag also reads an environment variable
 * (BENCH_DURATION=10 npm run bench), so CI can lengthen a run without editing it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ENGINES, SCENARIOS, type EngineId, type Scenario } from './config';

export const PHASES = ['check', 'memory', 'clear', 'hashing'] as const;
export type Phase = (typeof PHASES)[number];

export interface Options {
  quick: boolean;
  scenarios: Scenario[];
  phases: Phase[];
  engines: EngineId[];
  connections: number;
  /** Connections of S6, all on one session. */
  hot_connections: number;
  /** S6 on cache-redis also runs @fastify/session on the same Redis (bench/fastify_session.ts). */
  fastify_session: boolean;
  /** Also bench the compiled `node dist/manage.js serve --workers 1` at each of these --log-level values (empty: not). */
  serve: string[];
  duration: number;
  warmup: number;
  rounds: number;
  sessions: number;
  mem_engines: EngineId[];
  mem_requests: number;
  mem_warmup: number;
  clear_rows: number;
  clear_files: number;
  profile: boolean;
  /** Both servers at this many requests per second; the ratio is then of CPU per request. */
  rate: number | undefined;
  docs: boolean;
  /** Django's default middleware stack (sessions, CSRF, auth, messages) instead of sessions alone. */
  contrib: boolean;
  /** Measure nothing: re-render today's .md (and, with --docs, docs/performance.md) from today's .json. */
  report_only: boolean;
}

const env = (name: string) => process.env[`BENCH_${name}`];

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function list<T extends string>(allowed: readonly T[], what: string) {
  return (v: string): T[] => {
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (!allowed.includes(i as T)) throw new InvalidArgumentError(`unknown ${what} '${i}' (expected ${allowed.join(', ')})`);
    return items as T[];
  };
}

export function parse_options(argv: string[]): Options {
  const program = new Command('npm run bench --')
    .description('Tango vs bare Fastify: throughput, latency, store round trips, memory, clearsessions.')
    .option('--quick', 'short smoke run: 1 s runs, small memory and clearsessions sizes', env('QUICK') === '1')
    .option('--only <items>', `scenarios and phases to run: ${[...SCENARIOS, ...PHASES].join(',')}`, list([...SCENARIOS, ...PHASES], 'item'), undefined)
    .option('--engines <ids>', `session engines for S3–S5 and the check: ${ENGINES.join(',')}`, list(ENGINES, 'engine'), undefined)
    .option('--duration <s>', 'seconds per measured run', positive, env('DURATION') ? Number(env('DURATION')) : undefined)
    .option('--warmup <s>', 'seconds of warm-up per server and scenario', positive, env('WARMUP') ? Number(env('WARMUP')) : undefined)
    .option('--rounds <n>', 'A/B rounds per scenario (each round: one Tango run, one baseline run)', positive, env('ROUNDS') ? Number(env('ROUNDS')) : undefined)
    .option('--connections <n>', 'concurrent connections', positive, Number(env('CONNECTIONS') ?? 20))
    .option('--hot-connections <n>', 'connections of S6, all carrying one session', positive, Number(env('HOT_CONNECTIONS') ?? 32))
    .option('--no-fastify-session', 'S6 on cache-redis without the @fastify/session comparison')
    .option('--serve [levels]', "also bench the production command, node dist/manage.js serve --workers 1 (compiled into bench/dist, against a compiled baseline), at these --log-level values (default: warn, serve's own default)", env('SERVE'))
    .option('--sessions <n>', 'sessions pre-created for S3/S5', positive, env('SESSIONS') ? Number(env('SESSIONS')) : undefined)
    .option('--mem-engines <ids>', 'engines for the memory run', list(ENGINES, 'engine'), env('MEM_ENGINES') ? env('MEM_ENGINES')!.split(',') as EngineId[] : undefined)
    .option('--mem-requests <n>', 'requests per memory run (the target is stated for 1000000)', positive, env('MEM_REQUESTS') ? Number(env('MEM_REQUESTS')) : undefined)
    .option('--full-memory', 'memory runs of 1,000,000 requests')
    .option('--clear-rows <n>', 'expired (and as many live) PostgreSQL rows for the clearsessions timing', positive, env('CLEAR_ROWS') ? Number(env('CLEAR_ROWS')) : undefined)
    .option('--clear-files <n>', 'expired session files for the file-engine clearsessions timing', positive, env('CLEAR_FILES') ? Number(env('CLEAR_FILES')) : undefined)
    .option('--profile', 'run the servers (Tango and baseline) under node --cpu-prof and print their top self-time functions', env('PROFILE') === '1')
    .option('--rate <n>', 'drive both servers at this many requests/s and compare their CPU per request instead of their req/s', positive, env('RATE') ? Number(env('RATE')) : undefined)
    .option('--contrib', "Tango's servers run Django's default middleware stack: sessions, CSRF, auth, messages (sets BENCH_CONTRIB=1)", env('CONTRIB') === '1')
    .option('--docs', 'also rewrite the results section of docs/performance.md', env('DOCS') === '1')
    .option('--report-only', "measure nothing: re-render today's results .md (and docs with --docs) from its .json")
    .allowExcessArguments(false);
  program.parse(argv, { from: 'user' });
  const o = program.opts<Record<string, unknown>>();
  const quick = Boolean(o.quick);
  if (o.contrib && o.docs) program.error('--contrib cannot be combined with --docs: the docs table is of the sessions middleware alone');
  if (o.rate !== undefined && o.docs) program.error('--rate cannot be combined with --docs: the docs table compares full-speed throughput');
  const only = o.only as (Scenario | Phase)[] | undefined;
  return {
    quick,
    scenarios: only ? SCENARIOS.filter((s) => only.includes(s)) : [...SCENARIOS],
    phases: only ? PHASES.filter((p) => only.includes(p)) : [...PHASES],
    engines: (o.engines as EngineId[] | undefined) ?? (env('ENGINES')?.split(',') as EngineId[] | undefined) ?? [...ENGINES],
    connections: o.connections as number,
    hot_connections: o.hotConnections as number,
    fastify_session: o.fastifySession !== false && env('FASTIFY_SESSION') !== '0',
    serve: o.serve === undefined || o.serve === false ? [] : o.serve === true ? ['warn'] : String(o.serve).split(',').map((l) => l.trim()).filter(Boolean),
    duration: (o.duration as number | undefined) ?? (quick ? 1 : 3),
    warmup: (o.warmup as number | undefined) ?? (quick ? 1 : 3),
    rounds: (o.rounds as number | undefined) ?? (quick ? 2 : 4),
    sessions: (o.sessions as number | undefined) ?? (quick ? 200 : 1000),
    mem_engines: (o.memEngines as EngineId[] | undefined) ?? ['db-pg', 'cache-redis'],
    mem_requests: o.fullMemory ? 1_000_000 : (o.memRequests as number | undefined) ?? (quick ? 5_000 : 100_000),
    mem_warmup: quick ? 2_000 : 20_000,
    clear_rows: (o.clearRows as number | undefined) ?? (quick ? 20_000 : 1_000_000),
    clear_files: (o.clearFiles as number | undefined) ?? (quick ? 2_000 : 100_000),
    profile: Boolean(o.profile),
    rate: o.rate as number | undefined,
    docs: Boolean(o.docs),
    contrib: Boolean(o.contrib),
    report_only: Boolean(o.reportOnly),
  };
}
