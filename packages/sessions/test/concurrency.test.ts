/**
 * Concurrent requests on one session, over a real listening server, for every
 * server-side engine on every store (docs/reliability.md, "Concurrent requests
 * on one session"). Django, and every Node peer, let the last save overwrite
 * the whole session; Tango merges.
 *
 * Each race is forced, not hoped for: a view changes the session and then
 * waits on a gate the test controls, so "A loads, B loads, B saves, then A
 * saves" happens in that order every time. The gate opens only once A's view
 * runs, which is after the middleware has loaded A's session.
 *
 * `describe_concurrency(name, setup)` is written once and called per engine ×
 * store; `raw(key)` is the record as the store keeps it (row, bytes and
 * mtime, cache string and CAS token), so "never writes" is checked on the
 * store itself. signed_cookies has no server-side record: each response
 * carries a whole session and the browser keeps the last one, so there is
 * nothing to compare or merge on the server, and it is not run here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { create_app, HttpResponse, JsonResponse, path as url, type HttpRequest } from '@tango/core';
import { Client, describe_with, type ClientResponse } from '@tango/core/testing';
import { configure } from '../../core/conf';
import { close_caches, get_cache } from '../../core/cache';
import { close_connections, get_connection } from '../../core/db';
import { capture_logs, set_stderr_logging } from '../../core/log';
import { NotSerializable } from '@tango/core/errors';
import { SessionBase } from '../base';
import { UpdateError } from '../exceptions';
import { KEY_PREFIX as CACHE_PREFIX } from '../backends/cache';
import { KEY_PREFIX as CACHED_DB_PREFIX } from '../backends/cached_db';
import { get_session_store_class } from '../engine';
import { SessionMiddleware } from '../middleware';
import { save_queue } from '../save_queue';
import { up } from '../migrations/0001_initial';
import { TEST_SECRET_KEY } from './contract';
import { postgres_database, sqlite_database, type TestDatabase } from './db_helpers';

export interface ConcurrencySetup {
  settings: Record<string, unknown>;
  before?: () => Promise<void>;
  after?: () => Promise<void>;
  /** The stored record for `key` exactly as the store keeps it, or undefined when there is none. */
  raw(key: string): Promise<unknown>;
}

// --- gates: a view waits at one until the test opens it ----------------------

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

const gates = new Map<string, { reached: Deferred; release: Deferred }>();

function gate(name: string): { reached: Deferred; release: Deferred } {
  let g = gates.get(name);
  if (!g) {
    g = { reached: deferred(), release: deferred() };
    gates.set(name, g);
  }
  return g;
}

/** In a view: tell the test this request got here (its session loaded and changed), then wait. */
async function hold(name: string | null): Promise<void> {
  if (name === null) return;
  const g = gate(name);
  g.reached.resolve();
  await g.release.promise;
}

let gate_count = 0;
function new_gate(): string {
  return `g${++gate_count}`;
}

// --- the views -----------------------------------------------------------------

/** The query's `hold` and every other parameter, its value read as JSON. */
function params(request: HttpRequest): { hold: string | null; values: Array<[string, unknown]> } {
  const q = new URLSearchParams(request.query_string);
  const values: Array<[string, unknown]> = [];
  for (const [k, v] of q) if (k !== 'hold') values.push([k, JSON.parse(v)]);
  return { hold: q.get('hold'), values };
}

const ok = (): HttpResponse => new HttpResponse('ok');

const urlpatterns = [
  url('set/', async (request: HttpRequest) => {
    const p = params(request);
    for (const [k, v] of p.values) request.session.set(k, v);
    await hold(p.hold);
    return ok();
  }),
  url('delete/', async (request: HttpRequest) => {
    const p = params(request);
    for (const [k] of p.values) request.session.delete(k);
    await hold(p.hold);
    return ok();
  }),
  url('clear/', async (request: HttpRequest) => {
    const p = params(request);
    request.session.clear();
    for (const [k, v] of p.values) request.session.set(k, v);
    await hold(p.hold);
    return ok();
  }),
  // Django's documented idiom for a value changed in place: mutate, then set `modified`.
  url('push/', async (request: HttpRequest) => {
    const p = params(request);
    const cart = request.session.get<unknown[]>('cart') as unknown[];
    for (const [, v] of p.values) cart.push(v);
    request.session.modified = true;
    await hold(p.hold);
    return ok();
  }),
  url('expiry/', async (request: HttpRequest) => {
    const p = params(request);
    request.session.set_expiry(Number(new Map(p.values).get('seconds')));
    await hold(p.hold);
    return ok();
  }),
  url('read/', async (request: HttpRequest) => {
    const p = params(request);
    const items = request.session.items();
    await hold(p.hold);
    return new JsonResponse({ items });
  }),
  url('flush/', async (request: HttpRequest) => {
    const p = params(request);
    await request.session.flush();
    await hold(p.hold);
    return ok();
  }),
];

function session_cookie(res: ClientResponse): string | undefined {
  for (const line of res.set_cookies) {
    const m = /^sessionid=([^;]*)/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

function query(values: Record<string, unknown>): string {
  return Object.entries(values).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(JSON.stringify(v))}`).join('&');
}

type NewSessionKey = { _get_new_session_key(): Promise<string> };
type CompareAndSwap = { compare_and_swap(expected: unknown, data: unknown): Promise<string> };

/** The configured engine's prototype, to count its saves. */
function engine_prototype(): SessionBase {
  return (get_session_store_class() as unknown as { prototype: SessionBase }).prototype;
}

export function describe_concurrency(name: string, setup: ConcurrencySetup): void {
  describe(`concurrent requests on one session: ${name}`, () => {
    let app: FastifyInstance;
    let base: string;

    /** A browser holding the session cookie `key` (or none). */
    function browser(key?: string): Client {
      const c = new Client(base);
      if (key) c.cookies.set('sessionid', key);
      return c;
    }

    /** A new session holding `data`; returns its key. */
    async function seed(data: Record<string, unknown>): Promise<string> {
      const res = await browser().get(`/set/?${query(data)}`);
      expect(res.status).toBe(200);
      return session_cookie(res) as string;
    }

    async function items(key: string): Promise<Array<[string, unknown]>> {
      return (await browser(key).get('/read/')).json<{ items: Array<[string, unknown]> }>().items;
    }

    /**
     * A loads the session and makes its change, then waits; B loads, changes
     * and saves, start to finish; then A finishes and saves.
     */
    async function a_then_b_saves_first(key: string, a: string, b: string): Promise<{ a: ClientResponse; b: ClientResponse }> {
      const g = new_gate();
      const pending = browser(key).get(`${a}${a.includes('?') ? '&' : '?'}hold=${g}`);
      await gate(g).reached.promise;
      const b_res = await browser(key).get(b);
      gate(g).release.resolve();
      return { a: await pending, b: b_res };
    }

    beforeAll(async () => {
      // A 400 for the interrupted save is logged on purpose.
      set_stderr_logging(false);
      configure({ SECRET_KEY: TEST_SECRET_KEY, ...setup.settings });
      await setup.before?.();
      app = await create_app({ urlpatterns, middleware: [SessionMiddleware] });
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });

    afterAll(async () => {
      await app?.close();
      await setup.after?.();
      set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1');
    });

    afterEach(() => jest.restoreAllMocks());

    // --- (a) different keys -------------------------------------------------

    it('two requests set different keys: both are kept', async () => {
      const key = await seed({ n: 0 });
      const { a, b } = await a_then_b_saves_first(key, `/set/?${query({ a: 1 })}`, `/set/?${query({ b: 2 })}`);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await items(key)).toEqual([['n', 0], ['b', 2], ['a', 1]]);
    });

    it('one request deletes a key while another sets one: both are kept', async () => {
      const key = await seed({ n: 0, x: 1 });
      const { a, b } = await a_then_b_saves_first(key, `/delete/?${query({ x: null })}`, `/set/?${query({ y: 2 })}`);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await items(key)).toEqual([['n', 0], ['y', 2]]);
    });

    it('clear() deletes the keys it loaded, not a key another request added meanwhile', async () => {
      const key = await seed({ n: 0, x: 1 });
      const { a } = await a_then_b_saves_first(key, `/clear/?${query({ z: 3 })}`, `/set/?${query({ y: 2 })}`);
      expect(a.status).toBe(200);
      expect(await items(key)).toEqual([['y', 2], ['z', 3]]);
    });

    it('a value changed in place (then modified = true) is merged too', async () => {
      const key = await seed({ cart: [1, 2] });
      const { a } = await a_then_b_saves_first(key, `/push/?${query({ item: 3 })}`, `/set/?${query({ b: 2 })}`);
      expect(a.status).toBe(200);
      expect(await items(key)).toEqual([['cart', [1, 2, 3]], ['b', 2]]);
    });

    it('set_expiry() counts as a key: merged with the other request, and the cookie follows it', async () => {
      const key = await seed({ n: 0 });
      const { a, b } = await a_then_b_saves_first(key, `/expiry/?${query({ seconds: 600 })}`, `/set/?${query({ b: 2 })}`);
      expect(a.set_cookies[0]).toContain('Max-Age=600');
      expect(b.set_cookies[0]).toContain('Max-Age=1209600');
      expect(await items(key)).toEqual([['n', 0], ['b', 2], ['_session_expiry', 600]]);
      // and the other way round: B's set_expiry survives A's later save, and A's cookie carries it
      const key2 = await seed({ n: 0 });
      const r = await a_then_b_saves_first(key2, `/set/?${query({ a: 1 })}`, `/expiry/?${query({ seconds: 700 })}`);
      expect(await items(key2)).toEqual([['n', 0], ['_session_expiry', 700], ['a', 1]]);
      expect(r.a.set_cookies[0]).toContain('Max-Age=700');
    });

    it('six overlapping writers of different keys all keep their change', async () => {
      const key = await seed({ n: 0 });
      const logs = capture_logs();
      try {
        const g = Array.from({ length: 6 }, () => new_gate());
        const pending = g.map((name, i) => browser(key).get(`/set/?${query({ [`k${i}`]: i })}&hold=${name}`));
        // All six have loaded the same version before any of them saves.
        await Promise.all(g.map((name) => gate(name).reached.promise));
        for (const name of g) gate(name).release.resolve();
        expect((await Promise.all(pending)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      } finally {
        logs.stop();
      }
      expect(Object.fromEntries(await items(key))).toEqual({ n: 0, k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5 });
      // Six writers conflict at most five times each: never the last-write-wins fallback.
      expect(logs.records.filter((r) => r.level === 'warn')).toEqual([]);
    });

    it('32 overlapping saves of one session in one process: those queued behind the first share one write, no conflict, every change kept', async () => {
      const key = await seed({ n: 0 });
      const cas = jest.spyOn(engine_prototype() as unknown as CompareAndSwap, 'compare_and_swap');
      const g = Array.from({ length: 32 }, () => new_gate());
      const pending = g.map((name, i) => browser(key).get(`/set/?${query({ [`k${i}`]: i })}&hold=${name}`));
      // All 32 have loaded the same version before any of them saves.
      await Promise.all(g.map((name) => gate(name).reached.promise));
      for (const name of g) gate(name).release.resolve();
      expect((await Promise.all(pending)).map((r) => r.status)).toEqual(g.map(() => 200));
      const results = await Promise.all(cas.mock.results.map((r) => r.value as Promise<string>));
      expect(results.filter((r) => r !== 'ok')).toEqual([]);
      // One write for the first save, then one for each batch that queued up while a write ran.
      expect(results.length).toBeGreaterThanOrEqual(2);
      expect(results.length).toBeLessThan(32);
      expect(Object.fromEntries(await items(key))).toEqual({ n: 0, ...Object.fromEntries(g.map((_, i) => [`k${i}`, i])) });
      // The queue keeps an entry only while a save of its key is pending.
      expect(save_queue(get_session_store_class()).size).toBe(0);
    });

    // --- saves queued behind a running one: one write (save_queue.ts) -------------

    /** `n` sessions of `key`, each loaded, as `n` requests would hold them. */
    async function loaded(key: string, n: number): Promise<SessionBase[]> {
      const Store = get_session_store_class();
      const sessions = Array.from({ length: n }, () => new Store(key));
      await Promise.all(sessions.map((s) => s.preload()));
      return sessions;
    }

    /** The record of `key` as a new request loads it. */
    async function stored(key: string): Promise<Record<string, unknown>> {
      const [s] = await loaded(key, 1);
      return Object.fromEntries(s.items());
    }

    /** Counts the engine's compare-and-swaps (its writes over a record), each going to the real store; `before(call)` runs first. */
    function count_writes(before?: (call: number) => Promise<void>): { readonly calls: number } {
      const proto = engine_prototype() as unknown as CompareAndSwap;
      const original = proto.compare_and_swap;
      const counter = { calls: 0 };
      jest.spyOn(proto, 'compare_and_swap').mockImplementation(async function (this: CompareAndSwap, expected, data) {
        const call = ++counter.calls;
        await before?.(call);
        return original.call(this, expected, data);
      });
      return counter;
    }

    it('saves queued behind a running one are written once, their changes on top in the order they came', async () => {
      const key = await seed({ n: 0, gone: 1, same: 'x' });
      const N = 8;
      const sessions = await loaded(key, N);
      sessions.forEach((s, i) => {
        s.set(`k${i}`, i);
        s.set('same', i);
      });
      sessions[3].delete('gone');
      sessions[5].set_expiry(600);
      // clear() takes away the keys it loaded (n, gone), not those the saves before it added.
      sessions[6].clear();
      sessions[6].set('k6', 6);
      sessions[6].set('same', 6);
      const writes = count_writes();
      // In this order: the first writes alone, the seven behind it wait for it together.
      await Promise.all(sessions.map((s) => s.save()));
      expect(writes.calls).toBe(2);
      const expected = { ...Object.fromEntries(sessions.map((_, i) => [`k${i}`, i])), same: N - 1, _session_expiry: 600 };
      expect(await stored(key)).toEqual(expected);
      // Each save of the shared write holds the record written, and the cookie follows its expiry.
      for (const s of sessions.slice(1)) {
        expect(Object.fromEntries(s.items())).toEqual(expected);
        expect(s.get_expiry_age()).toBe(600);
      }
      expect(save_queue(get_session_store_class()).size).toBe(0);
      // A later save of one of them builds on that record: nothing of the others is undone.
      sessions[2].set('after', true);
      await sessions[2].save();
      expect(await stored(key)).toEqual({ ...expected, after: true });
    });

    it('a save whose own data cannot be written fails alone; the others queued with it are written', async () => {
      const key = await seed({ n: 0 });
      const sessions = await loaded(key, 4);
      sessions.forEach((s, i) => s.set(`k${i}`, i));
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      sessions[2].set('bad', cycle as never);
      const outcomes = await Promise.allSettled(sessions.map((s) => s.save()));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(NotSerializable);
      expect(await stored(key)).toEqual({ n: 0, k0: 0, k1: 1, k3: 3 });
      expect(save_queue(get_session_store_class()).size).toBe(0);
    });

    it('a logout between the running write and the shared one: every save of that write is an UpdateError, nothing re-created', async () => {
      const key = await seed({ user: 'alice' });
      const sessions = await loaded(key, 5);
      sessions.forEach((s, i) => s.set(`k${i}`, i));
      const Store = get_session_store_class();
      const writes = count_writes(async (call) => {
        if (call === 2) await new Store(null).delete_session(key);
      });
      const outcomes = await Promise.allSettled(sessions.map((s) => s.save()));
      expect(writes.calls).toBe(2);
      expect(outcomes[0].status).toBe('fulfilled');
      for (const o of outcomes.slice(1)) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(UpdateError);
      expect(await setup.raw(key)).toBeUndefined();
      expect(save_queue(get_session_store_class()).size).toBe(0);
    });

    // --- (b) the same key ---------------------------------------------------

    it('two requests set the same key: the later save wins (and other keys of both are kept)', async () => {
      const key = await seed({ n: 0 });
      const { a, b } = await a_then_b_saves_first(key, `/set/?${query({ n: 1, a: 1 })}`, `/set/?${query({ n: 2, b: 2 })}`);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await items(key)).toEqual([['n', 1], ['b', 2], ['a', 1]]);
    });

    it('a later save that re-sets the value it loaded still wins over an earlier change', async () => {
      const key = await seed({ n: 0 });
      await a_then_b_saves_first(key, `/set/?${query({ n: 0 })}`, `/set/?${query({ n: 2 })}`);
      expect(await items(key)).toEqual([['n', 0]]);
    });

    // --- (c) reads never write ----------------------------------------------

    it('a read-only request never writes the record', async () => {
      const key = await seed({ n: 0 });
      const before = await setup.raw(key);
      expect(before).toBeDefined();
      const save = jest.spyOn(engine_prototype(), 'save');
      // Long enough for any rewrite to show in a timestamp (mtime, expire_date, Keyv's expires).
      await new Promise((r) => setTimeout(r, 20));
      const res = await browser(key).get('/read/');
      expect(res.json()).toEqual({ items: [['n', 0]] });
      expect(res.set_cookies).toEqual([]);
      expect(save).not.toHaveBeenCalled();
      expect(await setup.raw(key)).toEqual(before);
    });

    it('a read-only request overlapping a write leaves that write alone', async () => {
      const key = await seed({ n: 0 });
      const save = jest.spyOn(engine_prototype(), 'save');
      const g = new_gate();
      const reader = browser(key).get(`/read/?hold=${g}`);
      await gate(g).reached.promise;
      expect((await browser(key).get(`/set/?${query({ n: 5 })}`)).status).toBe(200);
      const written = await setup.raw(key);
      gate(g).release.resolve();
      const res = await reader;
      expect(res.json()).toEqual({ items: [['n', 0]] });
      expect(save).toHaveBeenCalledTimes(1);
      expect(await setup.raw(key)).toEqual(written);
      expect(await items(key)).toEqual([['n', 5]]);
    });

    // --- (d) logout while another request saves ------------------------------

    it('logout (flush) while another request saves: the saver gets a 400 and the session stays deleted', async () => {
      const key = await seed({ user: 'alice' });
      const { a, b } = await a_then_b_saves_first(key, `/set/?${query({ cart: 3 })}`, '/flush/');
      expect(b.status).toBe(200);
      expect(b.set_cookies[0]).toMatch(/^sessionid=""; expires=Thu, 01 Jan 1970/);
      expect(a.status).toBe(400);
      expect(a.set_cookies).toEqual([]);
      expect(await setup.raw(key)).toBeUndefined();
      expect(await items(key)).toEqual([]);
    });

    it('logout while a read-only request is in flight: no 400, nothing re-created', async () => {
      const key = await seed({ user: 'alice' });
      const { a, b } = await a_then_b_saves_first(key, '/read/', '/flush/');
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await setup.raw(key)).toBeUndefined();
    });

    // --- (e) must_create never overwrites --------------------------------------

    it('a new session whose key is already taken gets another key, never the existing record', async () => {
      const victim = await seed({ owner: 'victim' });
      const before = await setup.raw(victim);
      // As if another request stored this key between the uniqueness check and the insert.
      jest.spyOn(SessionBase.prototype as unknown as NewSessionKey, '_get_new_session_key').mockResolvedValueOnce(victim);
      const res = await browser().get(`/set/?${query({ owner: 'intruder' })}`);
      expect(res.status).toBe(200);
      const fresh = session_cookie(res) as string;
      expect(fresh).toMatch(/^[a-z0-9]{32}$/);
      expect(fresh).not.toBe(victim);
      expect(await setup.raw(victim)).toEqual(before);
      expect(await items(victim)).toEqual([['owner', 'victim']]);
      expect(await items(fresh)).toEqual([['owner', 'intruder']]);
    });

    it('two overlapping new sessions drawn with the same key: one gets it, the other another key', async () => {
      const shared = 'c'.repeat(8) + Math.random().toString(36).slice(2, 10).padEnd(8, '0') + 'd'.repeat(16);
      jest.spyOn(SessionBase.prototype as unknown as NewSessionKey, '_get_new_session_key')
        .mockResolvedValueOnce(shared).mockResolvedValueOnce(shared);
      const g = [new_gate(), new_gate()];
      const pending = g.map((name, i) => browser().get(`/set/?${query({ who: i })}&hold=${name}`));
      await Promise.all(g.map((name) => gate(name).reached.promise));
      for (const name of g) gate(name).release.resolve();
      const keys = (await Promise.all(pending)).map((r) => session_cookie(r) as string);
      expect(new Set(keys).size).toBe(2);
      expect(keys).toContain(shared);
      for (const [i, k] of keys.entries()) expect(await items(k)).toEqual([['who', i]]);
    });
  });
}

// --- every server-side engine on every store ----------------------------------

function db_setup(make: () => TestDatabase, engine: 'db' | 'cached_db', cache?: Record<string, unknown>): ConcurrencySetup {
  const db = make();
  return {
    settings: { SESSION_ENGINE: engine, DATABASES: { default: db.settings }, ...(cache ? { CACHES: { default: cache } } : {}) },
    before: async () => {
      await db.create();
      await up(get_connection());
    },
    after: async () => {
      await close_caches();
      await close_connections();
      await db.drop();
    },
    raw: async (key) => {
      const row = await get_connection()('django_session').where('session_key', key).first();
      if (engine === 'db') return row;
      const hit = await get_cache().gets(CACHED_DB_PREFIX + key);
      // A pending mark (issue 19) holds no session: as far as data goes, it is no entry.
      const cached = hit !== undefined && typeof hit.value === 'object' ? hit : undefined;
      return row === undefined && cached === undefined ? undefined : { row, cache: cached && cache_raw(cached.version) };
    },
  };
}

function cache_raw(version: { serialized: string; token: Buffer | null }): unknown {
  // memcached's CAS token changes on every write, even of the same bytes.
  return { serialized: version.serialized, token: version.token?.toString('hex') ?? null };
}

function cache_setup(cache: Record<string, unknown>): ConcurrencySetup {
  return {
    settings: { SESSION_ENGINE: 'cache', CACHES: { default: cache } },
    after: () => close_caches(),
    raw: async (key) => {
      const hit = await get_cache().gets(CACHE_PREFIX + key);
      return hit && cache_raw(hit.version);
    },
  };
}

describe_concurrency('db on SQLite', db_setup(sqlite_database, 'db'));

const file_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-concurrency-'));
describe_concurrency('file', {
  settings: { SESSION_ENGINE: 'file', SESSION_FILE_PATH: file_dir },
  after: async () => fs.rmSync(file_dir, { recursive: true, force: true }),
  raw: async (key) => {
    const file = path.join(file_dir, `sessionid${key}`);
    if (!fs.existsSync(file)) return undefined;
    return { content: fs.readFileSync(file, 'latin1'), mtime_ns: fs.statSync(file, { bigint: true }).mtimeNs };
  },
});

describe_concurrency('cache on locmem', cache_setup({ BACKEND: 'locmem', LOCATION: 'concurrency' }));
describe_concurrency('cached_db on SQLite + locmem', db_setup(sqlite_database, 'cached_db', { BACKEND: 'locmem', LOCATION: 'concurrency-cdb' }));

describe_with('TEST_DATABASE_URL')('on PostgreSQL', (pg) => {
  describe_concurrency('db on PostgreSQL', db_setup(() => postgres_database(pg), 'db'));
  describe_with('TEST_REDIS_URL')('and Redis', (redis) => {
    describe_concurrency('cached_db on PostgreSQL + Redis', db_setup(() => postgres_database(pg), 'cached_db', { BACKEND: 'redis', LOCATION: redis }));
  });
  describe_with('TEST_MEMCACHED_URL')('and Memcached', (memcached) => {
    describe_concurrency('cached_db on PostgreSQL + Memcached', db_setup(() => postgres_database(pg), 'cached_db', { BACKEND: 'memcached', LOCATION: memcached }));
  });
});

describe_with('TEST_REDIS_URL')('on Redis', (redis) => {
  describe_concurrency('cache on Redis', cache_setup({ BACKEND: 'redis', LOCATION: redis }));
});

describe_with('TEST_MEMCACHED_URL')('on Memcached', (memcached) => {
  describe_concurrency('cache on Memcached', cache_setup({ BACKEND: 'memcached', LOCATION: memcached }));
});
