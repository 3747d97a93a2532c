/**
 * Issue 20, item 4: saves of one session queued behind a running save share
 * one write (save_queue.ts). Here the store's connection is cut (TcpProxy)
 * just as that shared write goes out, on PostgreSQL (db engine), Redis and
 * Memcached (cache engine) and PostgreSQL under cached_db. The test shows:
 *   - every save the write carried fails, with StoreUnavailable (a 503), the
 *     error a save of its own meets on the cut store;
 *   - the save before it, which was acknowledged, is kept; none of the
 *     failed saves' changes is in the record;
 *   - once the store is back, the same saves succeed and all are kept.
 */
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import { StoreUnavailable } from '@tango/core/errors';
import { set_stderr_logging } from '@tango/core/log';
import { describe_with, type ServiceName } from '@tango/core/testing';
import type { SessionBase } from '../../base';
import { get_session_store_class } from '../../engine';
import { save_queue } from '../../save_queue';
import { cached_db_setup, host_port, SECRET_KEY, store_setup, TcpProxy, with_port, type StoreSetup } from './helpers';

const TIMEOUT_MS = 1000;
/** The saves of the burst: the first writes alone, the others queue behind it and share one write. */
const SAVES = 6;

interface Case {
  label: string;
  service: ServiceName;
  /** The store behind the proxy is PostgreSQL, with the cache (cached_db) reached directly. */
  cached_db?: boolean;
  setup(location: string): StoreSetup;
}

const CASES: Case[] = [
  { label: 'db on PostgreSQL', service: 'TEST_DATABASE_URL', setup: (at) => store_setup('postgresql', at) },
  { label: 'cache on Redis', service: 'TEST_REDIS_URL', setup: (at) => store_setup('redis', at) },
  { label: 'cache on Memcached', service: 'TEST_MEMCACHED_URL', setup: (at) => store_setup('memcached', at) },
  {
    label: 'cached_db, its PostgreSQL (cache on Redis)', service: 'TEST_DATABASE_URL', cached_db: true,
    setup: (at) => cached_db_setup(at, 'redis', process.env.TEST_REDIS_URL as string),
  },
];

type CompareAndSwap = { compare_and_swap(expected: unknown, data: unknown): Promise<string> };

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

for (const c of CASES) {
  const run = c.cached_db
    ? (title: string, fn: (url: string) => void) => describe_with('TEST_REDIS_URL')(`${title} (with TEST_REDIS_URL)`, () => describe_with(c.service)(title, fn))
    : describe_with(c.service);
  run(`a shared write cut off: ${c.label}`, (url) => {
    let proxy: TcpProxy;
    let store: StoreSetup;
    const keys: string[] = [];

    beforeAll(async () => {
      const target = host_port(url);
      proxy = new TcpProxy(target.host, target.port);
      await proxy.start();
      store = c.setup(with_port(url, proxy.port));
      configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, SESSION_STORE_TIMEOUT: TIMEOUT_MS, ...store.settings(TIMEOUT_MS) });
      await store.create();
    });

    afterAll(async () => {
      await proxy.restore();
      // What this suite left in a shared cache (PostgreSQL: the schema goes with drop()).
      const Store = get_session_store_class();
      for (const key of keys) await new Store(null).delete_session(key).catch(() => undefined);
      await store.drop();
      await close_connections();
      await close_caches();
      await proxy.close();
    });

    afterEach(() => jest.restoreAllMocks());

    /** `n` sessions of `key`, each loaded, as `n` requests would hold them. */
    async function loaded(key: string, n: number): Promise<SessionBase[]> {
      const Store = get_session_store_class();
      const sessions = Array.from({ length: n }, () => new Store(key));
      await Promise.all(sessions.map((s) => s.preload()));
      return sessions;
    }

    async function stored(key: string): Promise<Record<string, unknown>> {
      const [s] = await loaded(key, 1);
      return Object.fromEntries(s.items());
    }

    /** `step` once the store answers again: the client reconnects by itself, after a dead pooled connection or two. */
    async function once_back<T>(step: () => Promise<T>): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        try {
          return await step();
        } catch (err) {
          if (!(err instanceof StoreUnavailable) || attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }

    it('every save the write carried fails with StoreUnavailable; the acknowledged save stays, theirs are not written; all succeed once the store is back', async () => {
      const Store = get_session_store_class();
      const seed = new Store(null);
      seed.set('n', 0);
      await seed.save();
      const key = seed.session_key as string;
      keys.push(key);

      const sessions = await loaded(key, SAVES);
      sessions.forEach((s, i) => s.set(`k${i}`, i));
      // The engine's own compare-and-swap on the real store, counted; the second call is the shared write.
      const proto = (Store as unknown as { prototype: CompareAndSwap }).prototype;
      const original = proto.compare_and_swap;
      let writes = 0;
      jest.spyOn(proto, 'compare_and_swap').mockImplementation(async function (this: CompareAndSwap, expected, data) {
        if (++writes === 2) await proxy.cut();
        return original.call(this, expected, data);
      });

      const outcomes = await Promise.allSettled(sessions.map((s) => s.save()));
      expect(writes).toBe(2);
      expect(outcomes[0].status).toBe('fulfilled');
      for (const o of outcomes.slice(1)) {
        expect(o.status).toBe('rejected');
        expect((o as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailable);
      }
      // Alone on the cut store, one of them meets the same error.
      await expect(sessions[1].save()).rejects.toBeInstanceOf(StoreUnavailable);
      expect(save_queue(Store).size).toBe(0);

      await proxy.restore();
      jest.restoreAllMocks();
      expect(await once_back(() => stored(key))).toEqual({ n: 0, k0: 0 });
      // The same saves, again (as their clients would retry): all kept.
      await Promise.all(sessions.slice(1).map((s) => s.save()));
      expect(await stored(key)).toEqual({ n: 0, ...Object.fromEntries(sessions.map((_, i) => [`k${i}`, i])) });
    }, 30_000);
  });
}
