/**
 * The cache engine on each cache it supports (locmem always; Redis and
 * Memcached when TEST_REDIS_URL / TEST_MEMCACHED_URL are set): the contract,
 * then django/contrib/sessions/backends/cache.py's rules, plus Cache.add atomicity, the
 * TTL and fast failure of a dead store.
 */
import { configure, override_settings } from '../../core/conf';
import { CacheVersion, close_caches, get_cache, InvalidCacheBackendError } from '../../core/cache';
import { freeze_time } from '../../core/clock';
import { StoreUnavailable } from '../../core/errors';
import { describe_with } from '../../core/testing/services';
import { KEY_PREFIX, SessionStore } from '../backends/cache';
import { UpdateError } from '../exceptions';
import { describe_session_engine, frozen_now, TEST_SECRET_KEY } from './contract';
import { host_port, TcpProxy, with_port } from './reliability/helpers';

type CacheEntry = Record<string, unknown>;

function specifics(label: string, cache: CacheEntry): void {
  describe(`cache engine specifics: ${label}`, () => {
    let unfreeze: () => void;
    beforeAll(() => {
      configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES: { default: cache } });
    });
    afterAll(() => close_caches());
    beforeEach(() => {
      unfreeze = freeze_time(frozen_now() * 1000);
    });
    afterEach(() => unfreeze());

    it('cache_key is the prefix + the key, and save() stores the dict there (54, 56, 57)', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      await s.save();
      expect(s.cache_key).toBe(`django.contrib.sessions.cache${s.session_key}`);
      expect(KEY_PREFIX).toBe('django.contrib.sessions.cache');
      expect(await get_cache().get(s.cache_key)).toEqual({ foo: 'bar' });
      await s.delete_session();
      expect(await get_cache().get(s.cache_key)).toBeUndefined();
    });

    it('the TTL is get_expiry_age()', async () => {
      const s = new SessionStore();
      s.set_expiry(1234);
      await s.save();
      const raw = await get_cache().getRaw(s.cache_key);
      const ttl_ms = (raw?.expires as number) - Date.now();
      expect(ttl_ms).toBeGreaterThan(1234_000 - 2000);
      expect(ttl_ms).toBeLessThanOrEqual(1234_000);
      const d = new SessionStore();
      d.set('x', 1);
      await d.save();
      const raw_default = await get_cache().getRaw(d.cache_key);
      expect((raw_default?.expires as number) - Date.now()).toBeGreaterThan(1209600_000 - 2000);
      await s.delete_session();
      await d.delete_session();
    });

    it('an expiry age <= 0 stores nothing', async () => {
      const s = new SessionStore();
      s.set('x', 1);
      s.set_expiry(new Date(Date.now() - 1000));
      await s.save();
      expect(await get_cache().get(s.cache_key)).toBeUndefined();
    });

    it('clear_expired() is a no-op (58)', async () => {
      await expect(SessionStore.clear_expired()).resolves.toBe(0);
    });

    it('save() when the entry has gone is UpdateError (59)', async () => {
      const s = new SessionStore();
      s.set('x', 1);
      await s.save();
      await get_cache().delete(s.cache_key);
      s.set('x', 2);
      await expect(s.save()).rejects.toThrow(UpdateError);
    });

    it('a 620-character key loads as {} without a round trip (50)', async () => {
      const s = new SessionStore('a'.repeat(620));
      expect(await s.load()).toEqual({});
      expect(s.session_key).toBeNull();
    });

    it('Cache.add is atomic: one of many concurrent adds wins', async () => {
      const key = `tango-test-add-${Math.random().toString(36).slice(2)}`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => get_cache().add(key, i, 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await get_cache().add(key, 'again', 60_000)).toBe(false);
      await get_cache().delete(key);
      expect(await get_cache().add(key, 'now', 60_000)).toBe(true);
      expect(await get_cache().get(key)).toBe('now');
      await get_cache().delete(key);
    });

    it('gets/cas: writes only over the version read; a changed entry is a conflict, a missing one gone', async () => {
      const c = get_cache();
      const key = `tango-test-cas-${Math.random().toString(36).slice(2)}`;
      expect(await c.gets(key)).toBeUndefined();
      const added = (await c.add_versioned(key, { n: 0 }, 60_000)) as CacheVersion;
      expect(added).toBeInstanceOf(CacheVersion);
      expect(await c.add_versioned(key, { n: 9 }, 60_000)).toBeNull();
      // From add's version (memcached: compared by value, then swapped on the token it reads).
      expect(await c.cas(key, added, { n: 1 }, 60_000)).toBeInstanceOf(CacheVersion);
      expect(await c.cas(key, added, { n: 2 }, 60_000)).toBe('conflict');
      const read = await c.gets(key);
      expect(read?.value).toEqual({ n: 1 });
      const swapped = await c.cas(key, (read as { version: CacheVersion }).version, { n: 3 }, 60_000);
      expect(swapped).toBeInstanceOf(CacheVersion);
      expect(await c.get(key)).toEqual({ n: 3 });
      // A version's own value, deserialized afresh.
      expect(await c.value_of((read as { version: CacheVersion }).version)).toEqual({ n: 1 });
      // From cas's version (memcached: the token its reply carried).
      const again = await c.cas(key, swapped as CacheVersion, { n: 4 }, 60_000);
      expect(again).toBeInstanceOf(CacheVersion);
      await c.delete(key);
      expect(await c.cas(key, again as CacheVersion, { n: 5 }, 60_000)).toBe('gone');
      expect(await c.get(key)).toBeUndefined();
    });

    it('gets() of an entry it wrote or read before gives a fresh copy, and an entry written by someone else afresh', async () => {
      const c = get_cache();
      const key = `tango-test-kept-${Math.random().toString(36).slice(2)}`;
      const value = { user_id: 'zhiliao', count: 1 };
      await c.add_versioned(key, value, 60_000);
      value.count = 99; // the caller's object changes after the write: what was stored did not
      const first = (await c.gets(key))!.value as Record<string, unknown>;
      expect(first).toEqual({ user_id: 'zhiliao', count: 1 });
      first.count = 2;
      expect((await c.gets(key))!.value).toEqual({ user_id: 'zhiliao', count: 1 });
      // Changed while the write is under way: what is kept is what was written.
      const read_back = await c.gets(key);
      const changing = { user_id: 'zhiliao', count: 5 };
      const swap = c.cas(key, read_back!.version, changing, 60_000);
      changing.count = 6;
      await swap;
      expect((await c.gets(key))!.value).toEqual({ user_id: 'zhiliao', count: 5 });
      // Written through Keyv's own set (as another process would): different text, read afresh.
      await c.set(key, { user_id: 'other', count: 7 }, 60_000);
      expect((await c.gets(key))!.value).toEqual({ user_id: 'other', count: 7 });
      expect((await c.gets(key))!.value).toEqual({ user_id: 'other', count: 7 });
      // Nested values are not kept, and still come back whole.
      const read = await c.gets(key);
      await c.cas(key, read!.version, { cart: [{ sku: 'A' }] }, 60_000);
      const nested = (await c.gets(key))!.value as { cart: { sku: string }[] };
      nested.cart[0].sku = 'B';
      expect((await c.gets(key))!.value).toEqual({ cart: [{ sku: 'A' }] });
      await c.delete(key);
    });

    it('cas is atomic: of many concurrent swaps from one version, exactly one wins', async () => {
      const c = get_cache();
      const key = `tango-test-cas-${Math.random().toString(36).slice(2)}`;
      await c.set(key, { n: 0 }, 60_000);
      const { version } = (await c.gets(key)) as { version: CacheVersion };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.cas(key, version, { n: i + 1 }, 60_000)));
      const winners = results.map((r, i) => [r, i] as const).filter(([r]) => r instanceof CacheVersion);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r === 'conflict')).toHaveLength(19);
      expect(await c.get(key)).toEqual({ n: winners[0][1] + 1 });
      await c.delete(key);
    });

    it('replace writes only over a live entry', async () => {
      const c = get_cache();
      const key = `tango-test-replace-${Math.random().toString(36).slice(2)}`;
      expect(await c.replace(key, 'x', 60_000)).toBeNull();
      expect(await c.get(key)).toBeUndefined();
      await c.set(key, 'a', 60_000);
      expect(await c.replace(key, 'b', 60_000)).toBeInstanceOf(CacheVersion);
      expect(await c.get(key)).toBe('b');
      await c.delete(key);
    });

    it('a save over an entry that changed since the load merges (the cache compare-and-swap)', async () => {
      const s = new SessionStore();
      s.set('n', 0);
      await s.save();
      const key = s.session_key as string;
      const a = new SessionStore(key);
      await a.preload();
      const b = new SessionStore(key);
      await b.preload();
      a.set('a', 1);
      b.set('b', 2);
      await b.save();
      await a.save();
      expect(await get_cache().get(s.cache_key)).toEqual({ n: 0, b: 2, a: 1 });
      await s.delete_session();
    });

    it('two sessions created concurrently get different keys', async () => {
      const stores = Array.from({ length: 10 }, () => new SessionStore());
      await Promise.all(stores.map((s) => s.save()));
      expect(new Set(stores.map((s) => s.session_key)).size).toBe(10);
      await Promise.all(stores.map((s) => s.delete_session()));
    });
  });
}

const LOCMEM = { BACKEND: 'locmem' };

describe_session_engine('cache (locmem)', {
  settings: { SESSION_ENGINE: 'cache', CACHES: { default: LOCMEM } },
  after: () => close_caches(),
});
specifics('locmem', LOCMEM);

describe('cache engine: SESSION_CACHE_ALIAS and configuration', () => {
  beforeAll(() => {
    configure({
      SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', SESSION_CACHE_ALIAS: 'sessions',
      CACHES: { default: { BACKEND: 'locmem', LOCATION: 'default-cache' }, sessions: { BACKEND: 'locmem', LOCATION: 'sessions-cache' } },
    });
  });
  afterAll(() => close_caches());

  it('uses the cache named by SESSION_CACHE_ALIAS (55)', async () => {
    const s = new SessionStore();
    s.set('x', 1);
    await s.save();
    expect(await get_cache('sessions').has(s.cache_key)).toBe(true);
    expect(await get_cache('default').has(s.cache_key)).toBe(false);
  });

  it('an unknown alias fails at construction', async () => {
    await override_settings({ SESSION_CACHE_ALIAS: 'nope' }, () => {
      expect(() => new SessionStore()).toThrow(InvalidCacheBackendError);
      expect(() => new SessionStore()).toThrow("The connection 'nope' doesn't exist.");
    });
  });

  it('locmem culls a third of its entries at MAX_ENTRIES, least recently used first', async () => {
    await override_settings({ CACHES: { default: { BACKEND: 'locmem', LOCATION: 'cull', OPTIONS: { MAX_ENTRIES: 9 } } } }, async () => {
      const c = get_cache();
      for (let i = 0; i < 9; i++) await c.set(`k${i}`, i);
      await c.get('k0');
      await c.set('k9', 9);
      const present = await Promise.all(Array.from({ length: 10 }, (_, i) => c.has(`k${i}`)));
      expect(present).toEqual([true, false, false, false, true, true, true, true, true, true]);
    });
  });
});

describe_with('TEST_REDIS_URL')('cache engine on Redis', (url) => {
  const REDIS = { BACKEND: 'redis', LOCATION: url };
  describe_session_engine('cache (redis)', {
    settings: { SESSION_ENGINE: 'cache', CACHES: { default: REDIS } },
    after: () => close_caches(),
  });
  specifics('redis', REDIS);

  it('the Redis TTL equals the expiry age', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES: { default: REDIS } });
    try {
      const s = new SessionStore();
      s.set_expiry(777);
      await s.save();
      const client = (get_cache().store as { client: { pTTL(key: string): Promise<number> } }).client;
      const pttl = await client.pTTL(s.cache_key);
      expect(pttl).toBeGreaterThan(775_000);
      expect(pttl).toBeLessThanOrEqual(777_000);
      // A save over the entry (the Lua compare-and-swap) sets the new TTL too.
      s.set_expiry(888);
      await s.save();
      const after = await client.pTTL(s.cache_key);
      expect(after).toBeGreaterThan(886_000);
      expect(after).toBeLessThanOrEqual(888_000);
      await s.delete_session();
    } finally {
      await close_caches();
    }
  });

  it('a save over an entry still works after Redis forgot its scripts (SCRIPT FLUSH, a restart)', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES: { default: REDIS } });
    try {
      const client = (get_cache().store as { client: { sendCommand(args: string[]): Promise<unknown> } }).client;
      const s = new SessionStore();
      s.set('n', 1);
      await s.save();
      s.set('n', 2);
      await s.save();
      await client.sendCommand(['SCRIPT', 'FLUSH']);
      s.set('n', 3);
      await s.save();
      s.set('n', 4);
      await s.save();
      const again = new SessionStore(s.session_key);
      await again.preload();
      expect(again.get('n')).toBe(4);
      await s.delete_session();
    } finally {
      await close_caches();
    }
  });
});

describe_with('TEST_MEMCACHED_URL')('cache engine on Memcached', (url) => {
  const MEMCACHED = { BACKEND: 'memcached', LOCATION: url };
  describe_session_engine('cache (memcached)', {
    settings: { SESSION_ENGINE: 'cache', CACHES: { default: MEMCACHED } },
    after: () => close_caches(),
  });
  specifics('memcached', MEMCACHED);

  it('a save too large for memcached fails, and the stored session stays as it was', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES: { default: MEMCACHED } });
    try {
      const s = new SessionStore();
      s.set('n', 1);
      await s.save();
      s.set('blob', 'x'.repeat(2 * 1024 * 1024));
      // The compare-and-swap is a REPLACE with the CAS token: unlike a SET, a failed one does not unlink the old item.
      await expect(s.save()).rejects.toThrow(/Value too large/);
      const again = new SessionStore(s.session_key);
      await again.preload();
      expect(again.items()).toEqual([['n', 1]]);
      await s.delete_session();
    } finally {
      await close_caches();
    }
  });
});

describe('a dead cache fails fast with StoreUnavailable', () => {
  afterEach(() => close_caches());

  it.each([
    ['redis', { BACKEND: 'redis', LOCATION: 'redis://127.0.0.1:1' }],
    ['memcached', { BACKEND: 'memcached', LOCATION: '127.0.0.1:1' }],
  ])('%s', async (_name, cache) => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES: { default: cache }, SESSION_STORE_TIMEOUT: 3000 });
    const started = Date.now();
    const s = new SessionStore('a'.repeat(32));
    await expect(s.preload()).rejects.toThrow(StoreUnavailable);
    const fresh = new SessionStore();
    fresh.set('x', 1);
    await expect(fresh.save()).rejects.toThrow(StoreUnavailable);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an unanswered store hits SESSION_STORE_TIMEOUT', async () => {
    // A listening socket that never replies.
    const net = require('node:net') as typeof import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = net.createServer((sock) => { sockets.push(sock); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      configure({
        SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', SESSION_STORE_TIMEOUT: 300,
        CACHES: { default: { BACKEND: 'redis', LOCATION: `redis://127.0.0.1:${port}`, OPTIONS: { CONNECT_TIMEOUT: 1500, COMMAND_TIMEOUT: 1500 } } },
      });
      const started = Date.now();
      await expect(new SessionStore('a'.repeat(32)).preload()).rejects.toThrow(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe_with('TEST_REDIS_URL')('Redis with default OPTIONS (no per-command timeout)', (url) => {
  afterEach(() => close_caches());

  it('a Redis that stops answering is a StoreUnavailable within SESSION_STORE_TIMEOUT, and reads work again once it answers', async () => {
    const { host, port } = host_port(url);
    const proxy = new TcpProxy(host, port);
    await proxy.start();
    try {
      configure({
        SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', SESSION_STORE_TIMEOUT: 300,
        CACHES: { default: { BACKEND: 'redis', LOCATION: with_port(url, proxy.port) } },
      });
      const s = new SessionStore();
      s.set('n', 1);
      await s.save();
      const key = s.session_key as string;

      proxy.hang();
      const started = Date.now();
      await expect(new SessionStore(key).preload()).rejects.toThrow(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(2000);

      await proxy.restore();
      const again = new SessionStore(key);
      await again.preload();
      expect(again.get('n')).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});
