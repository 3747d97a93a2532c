/**
 * Issue 19, items 1 and 3: the cached_db engine after its cache goes away.
 *
 * PostgreSQL (TEST_DATABASE_URL) holds the rows; the cache is a redis-server
 * (appendonly on) or memcached that this test starts itself, so that it can:
 *   cut   put the existing TcpProxy in front and reset every connection
 *         (the cache process stays up, with the entries it had);
 *   kill  kill -9 the cache process and start it again on the same port
 *         (Redis: in the same directory, so its AOF brings its old entries back).
 * 50 clients, each with its own session, increment and read a counter over
 * real HTTP on a listening server while the cache is away for 5 s. Every
 * acknowledged answer is checked as it arrives: an increment must answer more
 * than the last value acknowledged to that client, a read at least that much.
 * A few more clients log out while the cache is away (retrying until the
 * logout is acknowledged); a copy of each one's cookie must stay signed out
 * from the moment its logout was acknowledged, through and after the restore.
 */
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import { set_stderr_logging } from '@tango/core/log';
import { capture_logs, describe_with } from '@tango/core/testing';
import type { FastifyInstance } from 'fastify';
import {
  machine, NO_ANSWER, report, SECRET_KEY, SessionUser, sleep, start_app, store_setup, TcpProxy, with_port, type Outcome,
} from './helpers';
import { StoreProcess, type ServerKind } from './store_processes';

const CLIENTS = 50;
const LOGOUTS = 5;
const TIMEOUT_MS = 1000;
const HEALTHY_BEFORE_MS = 1000;
const OUTAGE_MS = 5000;
/** Traffic kept up after every client has been served again, so that a stale entry left behind would be read. */
const AFTER_RECOVERY_MS = 2000;
const RECOVERY_LIMIT_MS = 15_000;

type Mode = 'cut' | 'kill';

interface Ledger {
  /** The highest counter value acknowledged to this client (what it may rely on). */
  high: number;
  /** Increments answered with a 5xx or not at all: their outcome is unknown to the client. */
  unknown: number;
  recovered_at: number | null;
}

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

describe_with('TEST_DATABASE_URL')('cached_db: nothing acknowledged is lost when the cache goes away', (db_url) => {
  const db = store_setup('postgresql', db_url);
  let created = false;

  afterAll(async () => {
    await close_connections();
    await close_caches();
    if (created) await db.drop();
  });

  const CASES: Array<[ServerKind, Mode]> = [['redis', 'cut'], ['redis', 'kill'], ['memcached', 'cut'], ['memcached', 'kill']];

  it.each(CASES)('%s %s for 5 s under 50 clients: every answer is at least what was acknowledged; a logout stays done', async (kind, mode) => {
    const server = new StoreProcess(kind);
    let proxy: TcpProxy | null = null;
    let app: FastifyInstance | undefined;
    const logs = capture_logs();
    try {
      await server.start();
      let location = server.location;
      if (mode === 'cut') {
        proxy = new TcpProxy('127.0.0.1', server.port);
        await proxy.start();
        location = with_port(location, proxy.port);
      }
      configure({
        SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_STORE_TIMEOUT: TIMEOUT_MS,
        ...db.settings(TIMEOUT_MS),
        SESSION_ENGINE: 'cached_db',
        CACHES: { default: { BACKEND: kind, LOCATION: location, OPTIONS: { CONNECT_TIMEOUT: TIMEOUT_MS, COMMAND_TIMEOUT: TIMEOUT_MS } } },
      });
      if (!created) {
        await db.create();
        created = true;
      }
      let base: string;
      ({ app, base } = await start_app());

      const warm = new SessionUser(-1, base);
      for (let i = 0; i < 20 && warm.cookie === null; i++) await warm.request('/incr/?owner=warm-up');
      expect(warm.cookie).not.toBeNull();

      const users = Array.from({ length: CLIENTS }, (_, i) => new SessionUser(i, base, 30_000));
      const ledgers: Ledger[] = users.map(() => ({ high: 0, unknown: 0, recovered_at: null }));
      const problems: string[] = [];
      let lost = 0;
      const outcomes: Outcome[] = [];

      /** Checks one answer to user `u` against what was acknowledged to it before, as it arrives. */
      const check = (u: SessionUser, o: Outcome, is_incr: boolean) => {
        const l = ledgers[u.id];
        if (o.status !== 200) {
          if (is_incr) l.unknown++;
          return;
        }
        const { n, owner } = JSON.parse(o.body) as { n: number | null; owner: string | null };
        const value = n ?? 0;
        if (owner !== String(u.id)) problems.push(`user ${u.id}: ${o.path} read owner ${owner} (n=${n})`);
        const low = l.high + (is_incr ? 1 : 0);
        if (value < low) {
          // Acknowledged increments that are gone: the client counts from a lower value from now on.
          lost += low - value;
          problems.push(`user ${u.id}: ${o.path} answered n=${value} after n=${l.high} was acknowledged`);
          l.high = value;
          return;
        }
        if (value > low + l.unknown) problems.push(`user ${u.id}: ${o.path} answered n=${value}, more than ${low} + ${l.unknown} unknown`);
        l.high = value;
      };

      // Seed: three acknowledged increments each (a 5xx on a cold connection is retried).
      await Promise.all(users.map(async (u) => {
        for (let attempt = 0; ledgers[u.id].high < 3 && attempt < 50; attempt++) check(u, await u.request(`/incr/?owner=${u.id}`), true);
        expect(ledgers[u.id].high).toBe(3);
      }));
      const cookies = users.map((u) => u.cookie);

      // Clients that will log out while the cache is away, and a copy of each one's cookie.
      const leavers = Array.from({ length: LOGOUTS }, (_, i) => new SessionUser(1000 + i, base));
      for (const v of leavers) {
        for (let i = 0; i < 20 && v.cookie === null; i++) await v.request(`/incr/?owner=${v.id}`);
        expect(v.cookie).not.toBeNull();
      }
      const copies = leavers.map((v) => v.cookie as string);

      let stop = false;
      let restored_at = Infinity;
      const loops = users.map(async (u) => {
        const l = ledgers[u.id];
        for (let step = 0; !stop; step++) {
          const is_incr = step % 3 !== 2;
          const o = await u.request(is_incr ? `/incr/?owner=${u.id}` : '/read/');
          outcomes.push(o);
          check(u, o, is_incr);
          if (o.status === 200 && o.started >= restored_at && l.recovered_at === null) l.recovered_at = o.started + o.ms;
          if (o.status !== 200) await sleep(20);
        }
      });

      await sleep(HEALTHY_BEFORE_MS);
      const away_at = Date.now();
      if (proxy) await proxy.cut();
      else await server.kill9();
      await sleep(1000);

      // Each leaver logs out (retrying every 250 ms until acknowledged); from then on its copied cookie must read nothing.
      const logout_statuses: Record<string, number> = {};
      const signed_in_again: string[] = [];
      const logouts = leavers.map(async (v, i) => {
        let acked_at = 0;
        for (let attempt = 0; attempt < 200 && !stop; attempt++) {
          const o = await v.request('/logout/');
          if (o.started < restored_at) logout_statuses[o.status] = (logout_statuses[o.status] ?? 0) + 1;
          if (o.status === 302) {
            acked_at = Date.now();
            break;
          }
          v.cookie = copies[i];
          await sleep(250);
        }
        expect(acked_at).toBeGreaterThan(0);
        const thief = new SessionUser(2000 + i, base);
        while (!stop) {
          thief.cookie = copies[i];
          const o = await thief.request('/read/');
          if (o.status === 200 && JSON.parse(o.body).n !== null) signed_in_again.push(`leaver ${i}: ${o.body} ${o.started - acked_at} ms after its logout`);
          await sleep(100);
        }
      });

      await sleep(OUTAGE_MS - 1000);
      const away = outcomes.filter((o) => o.started >= away_at);
      const during = { ok: away.filter((o) => o.status === 200).length, unavailable: away.filter((o) => o.status === 503).length, other: away.filter((o) => o.status !== 200 && o.status !== 503).length };
      restored_at = Date.now();
      if (proxy) await proxy.restore();
      else await server.start();

      const deadline = restored_at + RECOVERY_LIMIT_MS;
      while (ledgers.some((l) => l.recovered_at === null) && Date.now() < deadline) await sleep(50);
      const recovered = Date.now();
      await sleep(AFTER_RECOVERY_MS);
      stop = true;
      await Promise.all([...loops, ...logouts]);

      // Each counter read once more, after everything settled.
      for (const u of users) check(u, await u.request('/read/'), false);

      const statuses: Record<string, number> = {};
      for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
      const recovery_ms = Math.max(...ledgers.map((l) => (l.recovered_at ?? recovered) - restored_at));
      report(`cached_db ${kind}/${mode}: ${outcomes.length} requests ${JSON.stringify(statuses)}; while the cache was away ` +
        `${during.ok} answered 200, ${during.unavailable} 503, ${during.other} other; ${lost} acknowledged increments lost ` +
        `(${problems.length} problems); logouts while away ${JSON.stringify(logout_statuses)}, copied cookies signed in again ${signed_in_again.length} times; ` +
        `all ${CLIENTS} clients served again ${recovery_ms} ms after the cache returned; ${machine()}`);

      expect(outcomes.filter((o) => o.status === NO_ANSWER).map((o) => o.body).slice(0, 3)).toEqual([]);
      expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503).map((o) => `${o.path} ${o.status} ${o.body.slice(0, 100)}`).slice(0, 5)).toEqual([]);
      expect(lost).toBe(0);
      expect(problems.slice(0, 10)).toEqual([]);
      expect(signed_in_again.slice(0, 5)).toEqual([]);
      expect(users.map((u) => u.cookie)).toEqual(cookies);
      expect(ledgers.map((l, i) => (l.recovered_at === null ? i : -1)).filter((i) => i >= 0)).toEqual([]);
    } finally {
      logs.stop();
      await app?.close();
      await close_caches();
      await proxy?.close();
      await server.stop();
    }
  }, 90_000);
});
