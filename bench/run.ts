/**
 * `npm run bench`: Tango against a bare-Fastify baseline doing the same store
 * round trips, scenario by scenario and engine by engine; then the
 * no-round-trip check, the memory runs and the clearsessions timings. Writes
 * bench/results/<date>.json and .md (a --quick run: <date>-quick.*).
 *
 *   npm run bench                      # everything, 5 s runs
 *   npm run bench -- --quick           # smoke: 1 s runs, small sizes
 *   npm run bench -- --only S1,S3 --engines db-pg,cache-redis --duration 10
 *   npm run bench -- --only memory --full-memory
 *   npm run bench -- --only S3 --engines db-pg --profile
 *
 * See docs/performance.md for what each scenario measures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clear_files, clear_pg } from './clear';
import { store_check } from './check';
import {
  ENGINE_INFO, engine_available, floor_of, HOT_TARGET, PATHS, RESULTS_DIR, ROOT, S1_COOKIE_HEADER, SESSION_COOKIE_NAME, sessions_available,
  type EngineId, type Scenario,
} from './config';
import { LoadGen, measure } from './measure';
import { hashing_run } from './hashing';
import { memory_run } from './memory';
import { parse_options, type Options } from './options';
import { Child, compiled, ServeProcess, type Server } from './procs';
import { format_summary, summarise } from './profile';
import { machine, markdown, rerender, results_base, results_table, today, write_report, type Report, type ScenarioResult } from './report';
import { cache_prefix, cleanup, copy_sqlite_for_baseline, create_sessions, missing_service, prepare, services, type ServiceStatus } from './stores';

const log = (s: string) => console.log(s);

interface Probe { status: number; body: string; set_cookie: string[] }

async function probe(port: number, scenario: Scenario, cookie?: string): Promise<Probe> {
  const res = await fetch(`http://127.0.0.1:${port}${PATHS[scenario]}`, { headers: cookie ? { cookie } : {} });
  return { status: res.status, body: await res.text(), set_cookie: res.headers.getSetCookie() };
}

/** Both servers answer a scenario as they should before we time them. */
async function verify(scenario: Scenario, tango: Server, baseline: Server, cookies: string[], server_cookies = cookies): Promise<string[]> {
  const cookie = (list: string[]) => scenario === 'S1' ? S1_COOKIE_HEADER : scenario === 'S3' || scenario === 'S5' || scenario === 'S6' ? `${SESSION_COOKIE_NAME}=${list[0]}` : undefined;
  const problems: string[] = [];
  for (const [name, server, list] of [['tango', tango, server_cookies], ['baseline', baseline, cookies]] as const) {
    const p = await probe(server.port, scenario, cookie(list));
    if (p.status !== 200) problems.push(`${name} answered ${p.status} to ${PATHS[scenario]}: ${p.body.slice(0, 120)}`);
    else if (scenario === 'S3' && !p.body.includes('zhiliao')) problems.push(`${name} did not find the pre-created session (body: ${p.body.slice(0, 60)})`);
    else if ((scenario === 'S4' || scenario === 'S5' || scenario === 'S6') && !p.set_cookie.some((c) => c.startsWith(`${SESSION_COOKIE_NAME}=`))) problems.push(`${name} set no session cookie`);
    else if (scenario === 'S2' && !p.set_cookie.some((c) => c.startsWith('username='))) problems.push(`${name} set no cookie`);
  }
  return problems;
}

function profile_flags(o: Options, dir: string, name: string): string[] {
  return o.profile ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
}

function collect_profile(o: Options, report: Report, dir: string, name: string, from_us: number, requests: number): void {
  if (!o.profile) return;
  const file = path.join(dir, `${name}.cpuprofile`);
  if (!fs.existsSync(file)) {
    log(`  (no profile written at ${path.relative(ROOT, file)})`);
    return;
  }
  const s = summarise(file, 20, from_us, requests);
  report.profiles.push(s);
  log(format_summary(s));
}

async function scenarios_on(
  engine: EngineId, scenarios: Scenario[], o: Options, load: LoadGen, report: Report, prof_dir: string,
): Promise<void> {
  const info = ENGINE_INFO[engine];
  const name = `tango-${engine}-${scenarios.join('')}`;
  const base_name = `baseline-${engine}-${scenarios.join('')}`;
  // S1/S2 ('core') never touch a store: nothing to prepare.
  if (engine !== 'core') await prepare(engine);
  const tango = await Child.fork(`tango ${engine}`, 'bench/server.ts', ['--engine', engine], { node_flags: profile_flags(o, prof_dir, name) });
  let baseline: Child | undefined;
  /** The baseline compiled, as bare Fastify runs in production: what the `serve` rows compare against. */
  let compiled_baseline: Child | undefined;
  const served: Array<{ level: string; server: ServeProcess }> = [];
  let compared: { server: Child; cookies: string[] } | undefined;
  let tango_from = tango.ready_us;
  try {
    const session = scenarios.some((s) => s !== 'S1' && s !== 'S2');
    const cookies = session && engine !== 'core' ? await create_sessions(tango.port, o.sessions) : [];
    // Profiles cover the measured load only, not start-up or the session creation above.
    tango_from = Number((await tango.ask({ type: 'now' })).hrtime_us);
    const args = ['--engine', engine];
    if (cookies.length) args.push('--sample-key', cookies[0]);
    const setup_problems: string[] = [];
    if (session && (info.redis || info.memcached)) {
      const prefix = await cache_prefix(engine, cookies[0]);
      if (prefix === undefined) setup_problems.push('could not find where Tango stores the session in the cache: the baseline reads missing keys');
      else args.push('--cache-prefix', prefix);
    }
    if (info.sqlite) copy_sqlite_for_baseline();
    const ts_baseline = await Child.fork(`baseline ${engine}`, 'bench/baseline.ts', args, { node_flags: profile_flags(o, prof_dir, base_name) });
    baseline = ts_baseline;
    // The production command beside the in-process server, on the same stores and settings (bench/settings.ts).
    if (o.serve.length) compiled_baseline = await Child.fork(`baseline ${engine} (compiled)`, compiled('baseline'), args);
    const serve_baseline = compiled_baseline ?? ts_baseline;
    for (const level of o.serve) {
      const server = await ServeProcess.start(`serve ${engine} --log-level ${level}`, ['--workers', '1', '--log-level', level],
        { BENCH_ENGINE: engine });
      served.push({ level, server });
    }
    // Issue 20's comparison for the hot session: @fastify/session on the same Redis, with its own sessions.
    if (engine === 'cache-redis' && scenarios.includes('S6') && o.fastify_session) {
      try {
        const server = await Child.fork('@fastify/session', 'bench/fastify_session.ts', []);
        compared = { server, cookies: await create_sessions(server.port, o.sessions) };
      } catch (err) {
        // Tango's own rows still run; the comparison's absence is said.
        log(`  ⚠ @fastify/session did not start: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const measured: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      const servers: Array<readonly [string | undefined, Server, string[], Child]> = [
        [undefined, tango, cookies, ts_baseline],
        ...served.map((s) => [s.level === 'warn' ? 'serve' : `serve --log-level ${s.level}`, s.server, cookies, serve_baseline] as const),
        ...(compared && scenario === 'S6' ? [['@fastify/session', compared.server, compared.cookies, ts_baseline] as const] : []),
      ];
      for (const [label, server, server_cookies, against] of servers) {
        log(`  ${scenario} ${engine}${label ? ` (${label})` : ''} (${scenario === 'S1' || scenario === 'S2' ? 'no session' : floor_of(scenario, engine)})`);
        const before = await verify(scenario, server, against, cookies, server_cookies);
        for (const p of before) log(`    ⚠ ${p}`);
        const r = await measure(load, scenario, engine, server, against, o, cookies, log, server_cookies);
        if (label) r.server = label;
        r.problems.unshift(...setup_problems, ...before);
        if (scenario === 'S3' || scenario === 'S5' || scenario === 'S6') {
          const after = await verify('S3', server, against, cookies, server_cookies);
          if (after.length) r.problems.push(`after the runs: ${after.join('; ')} (store flushed by another process?)`);
        }
        if (scenario === 'S6' && label === '@fastify/session') {
          // Not Tango: a reference row, and Tango's own S6 row says how it compares.
          r.reference = true;
          r.pass = true;
          const own = measured.find((m) => m.scenario === 'S6' && m.server === undefined);
          if (own) {
            own.vs_reference = own.tango.rps / r.tango.rps;
            log(`    Tango's S6 on Redis: ${own.vs_reference.toFixed(2)}× @fastify/session's req/s`);
          }
        } else if (scenario === 'S6') {
          // The hot session's target: at least HOT_TARGET of what the same server gets on many sessions (S5, this run).
          const s5 = measured.find((m) => m.scenario === 'S5' && m.server === r.server);
          r.target = HOT_TARGET;
          if (s5) r.hot_share = r.tango.rps / s5.tango.rps;
          else r.problems.push('S5 was not run beside it: no share to compare (run --only S5,S6)');
          r.pass = (r.hot_share ?? 0) >= HOT_TARGET;
        }
        r.pass &&= r.problems.length === 0;
        measured.push(r);
        report.results.push(r);
        log(`    → tango ${r.tango.rps.toFixed(0)} req/s (p50 ${r.tango.p50_ms.toFixed(2)} ms, p99 ${r.tango.p99_ms.toFixed(2)} ms), ` +
          `baseline ${r.baseline.rps.toFixed(0)} req/s (p50 ${r.baseline.p50_ms.toFixed(2)} ms, p99 ${r.baseline.p99_ms.toFixed(2)} ms), ` +
          `ratio ${r.ratio.toFixed(3)} (target ≥ ${r.target}) ${r.problems.length ? '⚠' : r.pass ? 'OK' : 'MISS'}; ` +
          `server CPU/req ${r.tango.cpu_us_per_req.toFixed(0)} vs ${r.baseline.cpu_us_per_req.toFixed(0)} µs` +
          `${r.hot_share !== undefined ? `; ${r.hot_share.toFixed(2)} of S5's req/s` : ''}`);
      }
    }
  } finally {
    await Promise.all([tango.stop(), baseline?.stop(), compiled_baseline?.stop(), compared?.server.stop(), ...served.map((s) => s.server.stop())]);
    if (engine !== 'core') await cleanup(engine);
  }
  collect_profile(o, report, prof_dir, name, tango_from, load.served.get(tango.port) ?? 0);
  if (baseline) collect_profile(o, report, prof_dir, base_name, baseline.ready_us, load.served.get(baseline.port) ?? 0);
}

function update_docs(report: Report): void {
  const file = path.join(ROOT, 'docs/performance.md');
  if (!fs.existsSync(file)) {
    log('  docs/performance.md does not exist: not updated');
    return;
  }
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const text = fs.readFileSync(file, 'utf8');
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j < i) {
    log(`  docs/performance.md has no ${start} … ${end} markers: not updated`);
    return;
  }
  const body = markdown(report).replace(/^# .*\n/, '').replace(/^## /gm, '### ');
  fs.writeFileSync(file, `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`);
  log('  docs/performance.md updated');
}

async function main(): Promise<void> {
  const o = parse_options(process.argv.slice(2));
  // Read by bench_settings in this process and in every server and manage.ts it starts.
  if (o.contrib) process.env.BENCH_CONTRIB = '1';
  if (o.report_only) {
    const json = `${results_base(today(), o.quick, o.rate)}.json`;
    if (!fs.existsSync(json)) throw new Error(`${path.relative(ROOT, json)} does not exist: nothing to re-render`);
    const report = rerender(json);
    log(`Re-rendered ${path.relative(ROOT, json.replace(/\.json$/, '.md'))}`);
    if (o.docs) update_docs(report);
    return;
  }
  const report: Report = { date: today(), machine: machine(), quick: o.quick, ...(o.rate ? { rate: o.rate } : {}), results: [], check: [], memory: [], clear: [], profiles: [], skipped: [] };
  const m = report.machine;
  log(`Tango bench ${report.date}${o.quick ? ' (quick)' : ''}${o.rate ? `, both servers at ${o.rate} req/s (ratio = CPU per request)` : ''}: ${m.nproc} cores, ${m.cpu}, Node ${m.node}`);
  log(`  ${o.connections} connections, ${o.duration} s runs, ${o.warmup} s warm-up, ${o.rounds} A/B rounds; scenarios ${o.scenarios.join(',') || '-'}; ` +
    `phases ${o.phases.join(',') || '-'}; engines ${o.engines.join(',')}${o.contrib ? '; middleware: sessions, CSRF, auth, messages (--contrib)' : ''}`);
  const svc: ServiceStatus = await services();
  log(`  services: PostgreSQL ${svc.pg ? 'up' : 'DOWN'}, Redis ${svc.redis ? 'up' : 'DOWN'}, Memcached ${svc.memcached ? 'up' : 'DOWN'}`);
  const have_sessions = sessions_available();
  if (!have_sessions) log('  @tango/sessions has no middleware yet: S1/S2 run without session middleware; S3–S5, the check and memory runs are skipped');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const prof_dir = path.join(RESULTS_DIR, 'profiles', stamp);
  const started = Date.now();

  const loadgen = await Child.fork('loadgen', 'bench/loadgen.ts', []);
  const load = new LoadGen(loadgen);
  try {
    // S1/S2: the cookie views, behind the demo's middleware (sessions on the db engine, never touched).
    const cookie_scenarios = o.scenarios.filter((s) => s === 'S1' || s === 'S2');
    if (cookie_scenarios.length) {
      log('\nCookie views (S1, S2)');
      await scenarios_on('core', cookie_scenarios, { ...o }, load, report, prof_dir).catch((err: unknown) => {
        report.skipped.push(`S1/S2: ${(err as Error).message}`);
        log(`  ✗ ${(err as Error).message}`);
      });
    }

    const runnable = (engine: EngineId, what: string): boolean => {
      const why = !have_sessions ? 'sessions are not available yet' : !engine_available(engine) ? `the ${ENGINE_INFO[engine].session_engine} backend does not exist yet` : missing_service(engine, svc);
      if (why) {
        report.skipped.push(`${what} on ${engine}: ${why}`);
        return false;
      }
      return true;
    };

    if (o.phases.includes('check')) {
      log('\nStore round trips for requests without a session cookie (S1 + S2), target 0');
      for (const engine of o.engines) {
        if (!runnable(engine, 'round-trip check')) continue;
        try {
          await prepare(engine);
          const c = await store_check(engine);
          report.check.push(c);
          log(`  ${engine}: ${c.knex_queries} queries, ${c.socket_writes} socket writes, ${c.fs_ops} fs calls over ${c.requests} requests ` +
            `(control, ${c.control.requests} session requests: ${c.control.knex_queries} / ${c.control.socket_writes} / ${c.control.fs_ops}) ${c.pass ? 'OK' : 'FAIL'}`);
          if (c.queries) log(`    queries: ${c.queries.join(' | ')}`);
          const bad = Object.entries(c.control.statuses).filter(([k]) => k !== '200');
          if (bad.length) log(`    ⚠ control requests answered ${bad.map(([k, v]) => `${v}× ${k}`).join(', ')}`);
        } catch (err) {
          report.skipped.push(`round-trip check on ${engine}: ${(err as Error).message}`);
          log(`  ✗ ${engine}: ${(err as Error).message}`);
        } finally {
          await cleanup(engine);
        }
      }
    }

    // S4 last: the sessions it creates fill a cache store, and memcached at its
    // memory limit evicts entries, the pre-created sessions S3 and S5 read among them.
    const session_scenarios = (['S3', 'S5', 'S6', 'S4'] as const).filter((s) => o.scenarios.includes(s));
    if (session_scenarios.length) {
      log(`\nSession views (${session_scenarios.join(', ')})`);
      for (const engine of o.engines) {
        if (!runnable(engine, session_scenarios.join('/'))) continue;
        await scenarios_on(engine, session_scenarios, o, load, report, prof_dir).catch((err: unknown) => {
          report.skipped.push(`${session_scenarios.join('/')} on ${engine}: ${(err as Error).message}`);
          log(`  ✗ ${engine}: ${(err as Error).message}`);
        });
      }
    }

    if (o.phases.includes('memory')) {
      log(`\nMemory: ${o.mem_requests} requests of S4 and S5 after ${o.mem_warmup} warm-up requests, target < 10% RSS growth`);
      for (const engine of o.mem_engines) {
        if (!runnable(engine, 'memory run')) continue;
        for (const scenario of ['S4', 'S5'] as const) {
          try {
            const r = await memory_run(load, engine, scenario, o, log);
            report.memory.push(r);
            log(`    → ${r.completed} requests at ${r.rps.toFixed(0)} req/s: RSS ${r.rss_after_warmup_mb.toFixed(1)} → ${r.rss_end_mb.toFixed(1)} MB ` +
              `(max ${r.rss_max_mb.toFixed(1)}), growth ${r.growth_pct.toFixed(1)}% ${r.pass ? 'OK' : 'MISS'}; ` +
              `live heap after GC ${r.live_heap_start_mb?.toFixed(1)} → ${r.live_heap_end_mb?.toFixed(1)} MB`);
          } catch (err) {
            report.skipped.push(`memory ${scenario} on ${engine}: ${(err as Error).message}`);
            log(`  ✗ memory ${scenario} on ${engine}: ${(err as Error).message}`);
          }
        }
      }
    }

    if (o.phases.includes('clear')) {
      log('\nclearsessions, target < 30 s');
      if (runnable('db-pg', 'clearsessions')) {
        try {
          const r = await clear_pg(o.clear_rows, log);
          report.clear.push(r);
          log(`  PostgreSQL: ${r.expired} expired + ${r.live} live rows: ${r.seconds.toFixed(1)} s, peak RSS ${r.peak_rss_mb.toFixed(1)} MB, ` +
            `left ${r.remaining_expired} expired / ${r.remaining_live} live ${r.pass ? 'OK' : 'MISS'} (${r.note ?? ''})`);
        } catch (err) {
          report.skipped.push(`clearsessions on PostgreSQL: ${(err as Error).message}`);
          log(`  ✗ PostgreSQL: ${(err as Error).message}`);
        }
      }
      if (runnable('file', 'clearsessions')) {
        try {
          const r = await clear_files(o.clear_files, log);
          report.clear.push(r);
          log(`  file: ${r.expired} expired + ${r.live} live files: ${r.seconds.toFixed(1)} s, peak RSS ${r.peak_rss_mb.toFixed(1)} MB, ` +
            `left ${r.remaining_expired} expired / ${r.remaining_live} live ${r.pass ? 'OK' : 'MISS'}${r.note ? ` (${r.note})` : ''}`);
        } catch (err) {
          report.skipped.push(`clearsessions on files: ${(err as Error).message}`);
          log(`  ✗ file: ${(err as Error).message}`);
        }
      }
    }
    if (o.phases.includes('hashing')) {
      log('\nPassword hashing (Django 5.2 pbkdf2_sha256 on the thread pool)');
      try {
        (report.hashing ??= []).push(await hashing_run(o.duration, log));
      } catch (err) {
        report.skipped.push(`hashing: ${(err as Error).message}`);
        log(`  ✗ hashing: ${(err as Error).message}`);
      }
    }
  } finally {
    await loadgen.stop();
  }

  const { json, md, merged } = write_report(report);
  log(`\n${results_table(report.results)}`);
  const misses: ScenarioResult[] = report.results.filter((r) => !r.pass);
  if (misses.length) log(`\n${misses.length} of ${report.results.length} scenario results miss their target or have problems.`);
  for (const s of report.skipped) log(`  skipped: ${s}`);
  log(`\nWrote ${path.relative(ROOT, json)} and ${path.relative(ROOT, md)} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  if (o.docs) update_docs(merged);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
