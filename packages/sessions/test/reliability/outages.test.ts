/**
 * Issue 6, item 5: store outages under load, for PostgreSQL (db engine),
 * Redis and Memcached (cache engine), and (issue 19) the cached_db engine
 * with its cache taken away.
 *
 * The app reaches its store through a TcpProxy, so the test can take the
 * store away without stopping the real server (other suites share it):
 *   cut   every store connection is reset and the port refuses new ones
 *   hang  connections stay open but nothing moves (a frozen server, a partition)
 * and (issue 19) through no proxy, to a server the test starts itself:
 *   kill  kill -9 of that redis-server (appendonly on) or memcached, started
 *         again on the same port (Redis: same directory, so its AOF brings
 *         back what it acknowledged; memcached comes back empty, so the cache
 *         engine's sessions on it are gone: documented, and checked to end in
 *         a fresh session, never another user's or an older value)
 * While 20 users, each with a session, send requests one after another
 * (increments and reads of a counter), the store is taken away for 3 s and
 * given back. The test shows that:
 *   - every request gets an answer: 200, or a 5xx within the configured
 *     timeout plus a margin (measured per request; the bound is the
 *     behaviour under test), each 5xx with a logged reason;
 *   - a request that needs no store (no session cookie) is served throughout;
 *   - no acknowledged increment is lost and no session is dropped or crossed
 *     with another: each user keeps its cookie, and its counter afterwards is
 *     at least what the server acknowledged (and at most that plus the
 *     increments that failed, whose outcome a client cannot know);
 *   - service resumes by itself once the store is back, on the same app.
 */
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import { set_stderr_logging } from '@tango/core/log';
import { capture_logs, describe_with } from '@tango/core/testing';
import type { ServiceName } from '@tango/core/testing';
import type { FastifyInstance } from 'fastify';
import {
  cached_db_setup, latency_summary, machine, NO_ANSWER, report, SECRET_KEY, SessionUser, sleep, start_app, store_setup, TcpProxy, host_port, with_port,
  type Outcome, type ProxyMode, type StoreSetup,
} from './helpers';
import { StoreProcess } from './store_processes';

/** SESSION_STORE_TIMEOUT and the store's own I/O timeouts. */
const TIMEOUT_MS = 1000;
/**
 * What a failing request may take beyond TIMEOUT_MS: the store calls that
 * succeeded before the one that failed, and scheduling on a loaded machine
 * (the suites share two CPUs with the services and other suites).
 */
const MARGIN_MS = 1500;
/** A request that succeeds makes at most three store calls (load, exists, save), each bounded by TIMEOUT_MS. */
const ANY_REQUEST_LIMIT_MS = 3 * TIMEOUT_MS + MARGIN_MS;
const USERS = 20;
const SEED_INCREMENTS = 3;
const HEALTHY_BEFORE_MS = 1000;
const OUTAGE_MS = 3000;
/** How long after the store returns every user must have been served again. */
const RECOVERY_LIMIT_MS = 10_000;

interface UserLedger {
  acked: number;
  /** The highest counter value acknowledged to the user (an increment of unknown outcome may have counted). */
  last: number;
  failed_incr: number;
  recovered_at: number | null;
}

interface ScenarioFigures {
  requests: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  failure_ms: ReturnType<typeof latency_summary>;
  slowest_ms: number;
  recovery_ms: number;
  ping_ms: number;
  logged: number;
  sessions_lost: number;
}

type Mode = ProxyMode | 'kill';

interface Case {
  label: string;
  service: ServiceName;
  /** The store the outage takes away, from its location (the real server's, or one the test started). */
  setup: (location: string) => StoreSetup;
  /** cached_db: the rows live in PostgreSQL, which stays up. */
  needs_db?: boolean;
  /** The server kind to start for the kill test; none: no kill test (PostgreSQL is shared). */
  kill?: 'redis' | 'memcached';
  /** Whether sessions survive a kill (memcached keeps nothing across a restart). */
  survives_kill?: boolean;
}

const CASES: Case[] = [
  { label: 'postgresql', service: 'TEST_DATABASE_URL', setup: (at) => store_setup('postgresql', at) },
  { label: 'redis', service: 'TEST_REDIS_URL', setup: (at) => store_setup('redis', at), kill: 'redis', survives_kill: true },
  { label: 'memcached', service: 'TEST_MEMCACHED_URL', setup: (at) => store_setup('memcached', at), kill: 'memcached', survives_kill: false },
  {
    label: 'cached_db, its Redis', service: 'TEST_REDIS_URL', needs_db: true, kill: 'redis', survives_kill: true,
    setup: (at) => cached_db_setup(process.env.TEST_DATABASE_URL as string, 'redis', at),
  },
  {
    label: 'cached_db, its Memcached', service: 'TEST_MEMCACHED_URL', needs_db: true, kill: 'memcached', survives_kill: true,
    setup: (at) => cached_db_setup(process.env.TEST_DATABASE_URL as string, 'memcached', at),
  },
];

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

/** describe_with for a case: its own service, and PostgreSQL too for cached_db. */
function describe_case(c: Case): (title: string, fn: (url: string) => void) => void {
  if (!c.needs_db) return describe_with(c.service);
  return (title, fn) => describe_with('TEST_DATABASE_URL')(`${title} (with TEST_DATABASE_URL)`, () => describe_with(c.service)(title, fn));
}

for (const c of CASES) {
  const kind = c.label;
  describe_case(c)(`store outage under load: ${kind}`, (url) => {
    const target = host_port(url);
    let proxy: TcpProxy;
    let store: StoreSetup;
    let app: FastifyInstance;
    let base: string;
    const created_keys = new Set<string>();

    beforeAll(async () => {
      proxy = new TcpProxy(target.host, target.port);
      await proxy.start();
      store = c.setup(url);
      // An hour, so that anything this suite leaves in a shared cache soon expires.
      configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_STORE_TIMEOUT: TIMEOUT_MS, ...store.settings(TIMEOUT_MS, with_port(url, proxy.port)) });
      await store.create();
      ({ app, base } = await start_app());
    });

    afterAll(async () => {
      await proxy.restore();
      // Remove what this suite stored in the shared caches (PostgreSQL: the schema goes).
      if (store.engine === 'cache') {
        const { SessionStore } = await import('../../backends/cache');
        for (const key of created_keys) await new SessionStore(key).delete_session().catch(() => undefined);
      }
      await app?.close();
      await close_connections();
      await close_caches();
      await proxy.close();
      await store.drop();
    });

    it.each<ProxyMode>(['cut', 'hang'])(`%s: requests fail fast with a logged 5xx, nothing is lost, service resumes by itself`, async (mode) => {
      await scenario({
        kind, mode, base: () => base, created_keys, survives: true,
        away: async () => (mode === 'cut' ? proxy.cut() : proxy.hang()),
        back: () => proxy.restore(),
      });
    }, 60_000);
  });

  const kill = c.kill;
  if (kill) {
    describe_case(c)(`store process killed under load: ${kind}`, () => {
      const server = new StoreProcess(kill);
      let store: StoreSetup;
      let app: FastifyInstance;
      let base: string;

      beforeAll(async () => {
        await server.start();
        store = c.setup(server.location);
        configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_STORE_TIMEOUT: TIMEOUT_MS, ...store.settings(TIMEOUT_MS) });
        await store.create();
        ({ app, base } = await start_app());
      });

      afterAll(async () => {
        await app?.close();
        await close_connections();
        await close_caches();
        await server.stop();
        await store.drop();
      });

      it(`kill -9, then started again: requests fail fast with a logged 5xx, ${c.survives_kill ? 'nothing is lost' : 'sessions are lost but never crossed'}, service resumes by itself`, async () => {
        await scenario({
          kind, mode: 'kill', base: () => base, created_keys: new Set(), survives: c.survives_kill === true,
          away: () => server.kill9(),
          back: () => server.start(),
        });
      }, 60_000);
    });
  }
}

interface Scenario {
  kind: string;
  mode: Mode;
  base: () => string;
  created_keys: Set<string>;
  /** false: the store comes back empty, so a user may find its session gone (a new cookie, its counter from 1). */
  survives: boolean;
  away: () => Promise<void>;
  back: () => Promise<void>;
}

async function scenario({ kind, mode, base: get_base, created_keys, survives, away, back }: Scenario): Promise<void> {
  const base = get_base();
  const logs = capture_logs();
  const users = Array.from({ length: USERS }, (_, i) => new SessionUser(i, base, 30_000));
  const ledgers: UserLedger[] = users.map(() => ({ acked: 0, last: 0, failed_incr: 0, recovered_at: null }));
  const outcomes: Outcome[] = [];
  const problems: string[] = [];
  let figures: ScenarioFigures | undefined;
  try {
    // Sessions saved before the outage. One request first, so the store
    // connection is up before the crowd arrives. On a loaded machine a cold
    // pool can miss the 1 s timeout: such a 5xx is retried, and counted like
    // any failed increment (its outcome is unknown to the client).
    const warm = new SessionUser(-1, base);
    for (let i = 0; i < 20 && warm.cookie === null; i++) await warm.request('/incr/?owner=warm-up');
    expect(warm.cookie).not.toBeNull();
    created_keys.add(warm.cookie as string);
    await Promise.all(users.map(async (u) => {
      const ledger = ledgers[u.id];
      for (let attempt = 0; ledger.acked < SEED_INCREMENTS && attempt < 50; attempt++) {
        const o = await u.request(`/incr/?owner=${u.id}`);
        if (o.status === 200) {
          const { n } = JSON.parse(o.body) as { n: number };
          if (n < ledger.acked + 1 || n > ledger.acked + 1 + ledger.failed_incr) problems.push(`seed: user ${u.id} got n=${n}`);
          ledger.acked++;
          ledger.last = n;
        } else {
          expect([500, 503]).toContain(o.status);
          ledger.failed_incr++;
        }
      }
      expect(ledger.acked).toBe(SEED_INCREMENTS);
    }));
    const cookies = users.map((u) => u.cookie);
    for (const c of cookies) {
      expect(c).toMatch(/^[a-z0-9]{32}$/);
      created_keys.add(c as string);
    }

    let stop = false;
    let restored_at = Infinity;
    let sessions_lost = 0;
    const loops = users.map(async (u) => {
      const ledger = ledgers[u.id];
      let cookie = u.cookie;
      for (let step = 0; !stop; step++) {
        const is_incr = step % 3 !== 2;
        const o = await u.request(is_incr ? `/incr/?owner=${u.id}` : '/read/');
        outcomes.push(o);
        if (o.status === 200) {
          const body = JSON.parse(o.body) as { n: number | null; owner: string | null };
          if (!survives && (u.cookie !== cookie || body.n === null)) {
            // The store came back empty: the session is gone (documented). From here on, the new one is checked.
            sessions_lost++;
            Object.assign(ledger, { acked: 0, last: 0, failed_incr: 0 });
            cookie = u.cookie;
            if (body.n === null) continue;
            if (u.cookie !== null) created_keys.add(u.cookie);
          }
          // Never another user's session; never less than the last value acknowledged to this user, as it arrives.
          if (body.owner !== String(u.id)) problems.push(`user ${u.id} read owner ${body.owner}`);
          const n = body.n ?? 0;
          if (is_incr ? n <= ledger.last : n < ledger.last) problems.push(`user ${u.id}: ${o.path} answered n=${n} after n=${ledger.last} was acknowledged`);
          const low = ledger.acked + (is_incr ? 1 : 0);
          if (n < low || n > low + ledger.failed_incr) problems.push(`user ${u.id} read n=${n}, expected ${low}..${low + ledger.failed_incr}`);
          if (is_incr) ledger.acked++;
          ledger.last = Math.max(ledger.last, n);
          if (o.started >= restored_at && ledger.recovered_at === null) ledger.recovered_at = o.started + o.ms;
        } else {
          if (is_incr) ledger.failed_incr++;
          await sleep(20);
        }
      }
    });

    await sleep(HEALTHY_BEFORE_MS);
    const cut_at = Date.now();
    await away();
    await sleep(OUTAGE_MS / 2);
    // A request that needs no store is served while the store is away.
    const ping = await new SessionUser(-1, base, 10_000).request('/ping/');
    expect(ping.status).toBe(200);
    await sleep(OUTAGE_MS / 2);
    const failed_during = outcomes.filter((o) => o.started >= cut_at && o.status !== 200).length;
    restored_at = Date.now();
    await back();

    const deadline = restored_at + RECOVERY_LIMIT_MS;
    while (ledgers.some((l) => l.recovered_at === null) && Date.now() < deadline) await sleep(50);
    stop = true;
    await Promise.all(loops);

    // --- every request was answered, fast or right -----------------------
    const failed = outcomes.filter((o) => o.status !== 200);
    const statuses: Record<string, number> = {};
    for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
    // Lost or crossed data first: on issue 19's cached_db every request answered 200, and counters went backwards.
    expect(problems.slice(0, 10)).toEqual([]);
    expect(outcomes.filter((o) => o.status === NO_ANSWER)).toEqual([]);
    for (const o of failed) expect([500, 503]).toContain(o.status);
    expect(failed_during).toBeGreaterThan(0);
    // The bound is the behaviour under test: a failing request gives up within the timeout.
    const slow_failures = failed.filter((o) => o.ms >= TIMEOUT_MS + MARGIN_MS);
    expect(slow_failures.map((o) => `${o.path} ${o.status} ${Math.round(o.ms)} ms`)).toEqual([]);
    const too_slow = outcomes.filter((o) => o.ms >= ANY_REQUEST_LIMIT_MS);
    expect(too_slow.map((o) => `${o.path} ${o.status} ${Math.round(o.ms)} ms`)).toEqual([]);

    // --- each 5xx has a logged reason ---------------------------------------
    const errors = logs.records.filter((r) => r.name === 'tango.request' && r.level === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(failed.length);
    for (const r of errors) expect(r.msg).toMatch(/^(Service Unavailable|Internal Server Error): \/(incr|read)\/: \S.{8,}/);

    // --- nothing lost, nothing crossed, service back ------------------------
    expect(problems).toEqual([]);
    if (survives) expect(users.map((u) => u.cookie)).toEqual(cookies);
    expect(ledgers.filter((l) => l.recovered_at === null).map((_, i) => i)).toEqual([]);
    for (const u of users) {
      const o = await u.request('/read/');
      expect(o.status).toBe(200);
      const { n, owner } = JSON.parse(o.body) as { n: number; owner: string };
      const l = ledgers[u.id];
      // A session the empty store lost, found gone by the last request of the loop.
      if (!survives && n === null && l.acked === 0) continue;
      expect(owner).toBe(String(u.id));
      expect(n).toBeGreaterThanOrEqual(l.last);
      expect(n).toBeGreaterThanOrEqual(l.acked);
      expect(n).toBeLessThanOrEqual(l.acked + l.failed_incr);
    }

    figures = {
      requests: outcomes.length,
      ok: outcomes.length - failed.length,
      failed: failed.length,
      statuses,
      failure_ms: latency_summary(failed.map((o) => o.ms)),
      slowest_ms: Math.round(Math.max(...outcomes.map((o) => o.ms))),
      recovery_ms: Math.round(Math.max(...ledgers.map((l) => (l.recovered_at as number) - restored_at))),
      ping_ms: Math.round(ping.ms),
      logged: errors.length,
      sessions_lost,
    };
  } finally {
    logs.stop();
    if (figures) {
      const f = figures;
      report(`outage ${kind}/${mode}: ${f.requests} requests (${f.ok} ok, ${f.failed} failed: ${JSON.stringify(f.statuses)}); ` +
        `failure latency p50 ${f.failure_ms.p50} ms, p99 ${f.failure_ms.p99} ms, max ${f.failure_ms.max} ms; slowest request ${f.slowest_ms} ms; ` +
        `/ping/ during the outage ${f.ping_ms} ms; all ${USERS} users served again ${f.recovery_ms} ms after the store returned; ${f.logged} errors logged; ` +
        (survives ? '' : `${f.sessions_lost} sessions found gone after the restart (the store came back empty); `) +
        `timeout ${TIMEOUT_MS} ms; ${machine()}`);
      const sample = logs.records.find((r) => r.name === 'tango.request' && r.level === 'error');
      if (sample) report(`outage ${kind}/${mode}: logged e.g. "${sample.msg}"`);
    }
  }
}
