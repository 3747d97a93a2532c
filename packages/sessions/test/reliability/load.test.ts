/**
 * Issue 6, item 8: load with verification. 200 concurrent clients, each with
 * its own session, send a mix of reads and increments of a counter for a
 * fixed time, on PostgreSQL (db engine), on Redis (cache engine) and (issue
 * 19) on PostgreSQL with Redis in front (cached_db), through a real listening
 * server. Each client sends its requests one after another
 * (a browser tab clicking), so within one session nothing overlaps and any
 * lost or phantom write would be a bug.
 *
 * Checked: zero 5xx (zero non-200 at all); every read sees exactly the
 * increments acknowledged so far, in the client's own session; afterwards
 * each session's counter, read straight from the store, equals the number of
 * increments the server acknowledged.
 *
 * RELIABILITY_LOAD_SECONDS sets the duration (10 s by default so CI stays
 * fast; the full run is RELIABILITY_LOAD_SECONDS=60). The load
 * generator runs in the same process as the server, so the rates printed are
 * a floor, not a benchmark (`npm run bench` is the benchmark).
 */
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import { set_stderr_logging } from '@tango/core/log';
import { capture_logs, describe_with } from '@tango/core/testing';
import type { ServiceName } from '@tango/core/testing';
import type { FastifyInstance } from 'fastify';
import { get_session_store_class } from '../../engine';
import { cached_db_setup, latency_summary, machine, report, SECRET_KEY, SessionUser, start_app, store_setup, type StoreSetup } from './helpers';

const CLIENTS = 200;
const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 10);
/**
 * The stores' I/O timeouts and SESSION_STORE_TIMEOUT. 200 clients with no
 * think time keep the server saturated, so each request waits about
 * 200 / throughput: on a shared 2-CPU CI machine that is seconds. This test
 * is about correctness at saturation, so the limit is raised (30 s) and
 * saturation shows as latency; outages.test.ts is where timeouts are tested.
 */
const TIMEOUT_MS = Number(process.env.RELIABILITY_LOAD_TIMEOUT_MS ?? 30_000);

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

/** A small deterministic generator (mulberry32), one per client, so a run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CASES: Array<[string, ServiceName, (url: string) => StoreSetup]> = [
  ['postgresql', 'TEST_DATABASE_URL', (url) => store_setup('postgresql', url)],
  ['redis', 'TEST_REDIS_URL', (url) => store_setup('redis', url)],
  ['cached_db (PostgreSQL + Redis)', 'TEST_REDIS_URL', (url) => cached_db_setup(process.env.TEST_DATABASE_URL as string, 'redis', url)],
];

/** describe_with the case's service, and for cached_db PostgreSQL too (each skips with its reason when unset). */
function describe_case(kind: string, service: ServiceName): (title: string, fn: (url: string) => void) => void {
  if (!kind.startsWith('cached_db')) return describe_with(service);
  return (title, fn) => describe_with('TEST_DATABASE_URL')(`${title} (with TEST_DATABASE_URL)`, () => describe_with(service)(title, fn));
}

for (const [kind, service, setup] of CASES) {
  describe_case(kind, service)(`load with verification on ${kind}`, (url) => {
    const store = setup(url);
    let app: FastifyInstance;
    let base: string;
    const users: SessionUser[] = [];

    beforeAll(async () => {
      configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_STORE_TIMEOUT: TIMEOUT_MS, ...store.settings(TIMEOUT_MS) });
      await store.create();
      ({ app, base } = await start_app());
    });

    afterAll(async () => {
      if (store.engine === 'cache') {
        const SessionStore = get_session_store_class();
        for (const u of users) if (u.cookie) await new SessionStore(u.cookie).delete_session().catch(() => undefined);
      }
      await app?.close();
      await close_connections();
      await close_caches();
      await store.drop();
    });

    it(`${CLIENTS} clients, ${SECONDS} s of reads and increments: no 5xx, no lost write`, async () => {
      const logs = capture_logs();
      // One request first, so the store connection is up before the crowd arrives.
      const warm = new SessionUser(-1, base);
      expect((await warm.request('/incr/?owner=warm-up')).status).toBe(200);
      users.push(warm);

      for (let i = 0; i < CLIENTS; i++) users.push(new SessionUser(i, base, TIMEOUT_MS * 3));
      const clients = users.slice(1);
      const acked = new Array<number>(CLIENTS).fill(0);
      const statuses: Record<string, number> = {};
      const problems: string[] = [];
      const incr_ms: number[] = [];
      const read_ms: number[] = [];
      let first_ms: ReturnType<typeof latency_summary> | undefined;
      let started = Date.now();
      let deadline = Infinity;

      try {
        // All clients arrive at once: each opens its connection and gets its
        // session with a first increment. Then the timed mix starts.
        const arrivals = await Promise.all(clients.map((u) => u.request(`/incr/?owner=${u.id}`)));
        first_ms = latency_summary(arrivals.map((o) => o.ms));
        for (const o of arrivals) {
          statuses[o.status] = (statuses[o.status] ?? 0) + 1;
          if (o.status === 200 && JSON.parse(o.body).n === 1) acked[o.user] = 1;
          else problems.push(`client ${o.user}: first increment → ${o.status} ${o.body.slice(0, 120)}`);
        }
        started = Date.now();
        deadline = started + SECONDS * 1000;
        await Promise.all(clients.map(async (u) => {
          const random = prng(u.id + 1);
          while (Date.now() < deadline) {
            const is_incr = random() < 0.5;
            const o = await u.request(is_incr ? `/incr/?owner=${u.id}` : '/read/');
            statuses[o.status] = (statuses[o.status] ?? 0) + 1;
            (is_incr ? incr_ms : read_ms).push(o.ms);
            if (o.status !== 200) {
              problems.push(`client ${u.id}: ${o.path} → ${o.status} ${o.body.slice(0, 120)}`);
              continue;
            }
            const { n, owner } = JSON.parse(o.body) as { n: number | null; owner: string | null };
            if (is_incr) acked[u.id]++;
            const expected_owner = acked[u.id] === 0 ? null : String(u.id);
            if (owner !== expected_owner || (n ?? 0) !== acked[u.id]) {
              problems.push(`client ${u.id}: ${o.path} saw n=${n} owner=${owner}, expected n=${acked[u.id]}`);
            }
          }
        }));
        const elapsed_s = (Date.now() - started) / 1000;

        // What the store holds, read directly, for every client that has a session.
        const SessionStore = get_session_store_class();
        const stored = await Promise.all(clients.map(async (u) => {
          if (u.cookie === null) return 0;
          const s = new SessionStore(u.cookie);
          await s.preload();
          return (s.get('n', 0) as number);
        }));
        const mismatches = clients.filter((u) => stored[u.id] !== acked[u.id]).map((u) => `client ${u.id}: stored ${stored[u.id]}, acknowledged ${acked[u.id]}`);

        const requests = incr_ms.length + read_ms.length + CLIENTS;
        const increments = acked.reduce((a, b) => a + b, 0);
        const all = latency_summary([...incr_ms, ...read_ms]);
        const inc = latency_summary(incr_ms);
        const rd = latency_summary(read_ms);
        const server_errors = Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce((a, [, c]) => a + c, 0);
        const ok = server_errors === 0 && problems.length === 0 && mismatches.length === 0;
        report(`load ${kind}: ${CLIENTS} clients arrive at once: first request (connect + new session) p50 ${first_ms.p50} ms, max ${first_ms.max} ms; ` +
          `then ${elapsed_s.toFixed(1)} s of mixed traffic: ${requests - CLIENTS} requests (${Math.round((requests - CLIENTS) / elapsed_s)}/s); ` +
          `${requests} requests in all, ` +
          `${increments} increments acknowledged, ${rd.n} reads; statuses ${JSON.stringify(statuses)}; ` +
          `mixed-traffic latency p50 ${all.p50} ms, p99 ${all.p99} ms, max ${all.max} ms (increments p99 ${inc.p99} ms, reads p99 ${rd.p99} ms); ` +
          `stored counters equal acknowledged increments for ${CLIENTS - mismatches.length}/${CLIENTS} clients → ${ok ? 'PASS' : 'FAIL'} ` +
          `(store timeouts ${TIMEOUT_MS} ms; ${machine()})`);

        expect(server_errors).toBe(0);
        expect(problems.slice(0, 10)).toEqual([]);
        expect(mismatches.slice(0, 10)).toEqual([]);
        expect(logs.records.filter((r) => r.level === 'error').map((r) => r.msg).slice(0, 5)).toEqual([]);
        expect(increments).toBeGreaterThan(CLIENTS);
      } finally {
        logs.stop();
      }
    }, SECONDS * 1000 + TIMEOUT_MS * 6 + 60_000);
  });
}
