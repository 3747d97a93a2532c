/**
 * The cached_db engine on SQLite + locmem, PostgreSQL + Redis and PostgreSQL +
 * Memcached: the shared contract, then django/contrib/sessions/backends/cached_db.py's rules:
 * write-through, refill on a cache miss with the row's remaining lifetime,
 * and a cache outage that costs nothing but a log line.
 */
import { configure } from '../../core/conf';
import { StoreUnavailable } from '../../core/errors';
import { close_caches, get_cache, InvalidCacheBackendError } from '../../core/cache';
import { freeze_time } from '../../core/clock';
import { close_connections, db_datetime, get_connection } from '../../core/db';
import { capture_logs } from '../../core/log';
import { describe_with } from '../../core/testing/services';
import { up } from '../migrations/0001_initial';
import { KEY_PREFIX, PENDING, SessionStore } from '../backends/cached_db';
import { describe_session_engine, frozen_now, TEST_SECRET_KEY } from './contract';
import { postgres_database, sqlite_database, type TestDatabase } from './db_helpers';

type CacheEntry = Record<string, unknown>;

const FOO_BAR = 'eyJmb28iOiJiYXIifQ:1r31eq:4oPGY5wdWjXpNxPeUP6zVLoClceQgN6FoGSindagTXo';

async function reopen(key: string | null): Promise<SessionStore> {
  const s = new SessionStore(key);
  await s.preload();
  return s;
}

function random_key(): string {
  return Array.from({ length: 32 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]).join('');
}

function suites(label: string, make: () => TestDatabase, cache: CacheEntry, dead_cache: CacheEntry | null): void {
  const contract_db = make();
  describe_session_engine(`cached_db on ${label}`, {
    settings: { SESSION_ENGINE: 'cached_db', DATABASES: { default: contract_db.settings }, CACHES: { default: cache } },
    before: async () => {
      await contract_db.create();
      await up(get_connection());
    },
    after: async () => {
      await close_caches();
      await close_connections();
      await contract_db.drop();
    },
  });

  describe(`cached_db specifics on ${label}`, () => {
    const db = make();
    let unfreeze: () => void = () => undefined;
    const settings = (c: CacheEntry) => ({
      SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cached_db', DATABASES: { default: db.settings }, CACHES: { default: c },
    });

    beforeAll(async () => {
      configure(settings(cache));
      await db.create();
      await up(get_connection());
    });
    afterAll(async () => {
      await close_caches();
      await close_connections();
      await db.drop();
    });
    beforeEach(() => {
      configure(settings(cache));
      unfreeze = freeze_time(frozen_now() * 1000);
    });
    afterEach(() => unfreeze());

    test('write-through: the row holds Django data, the cache the dict under prefix + key (53)', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      await s.save();
      const key = s.session_key as string;
      expect(s.cache_key).toBe(`django.contrib.sessions.cached_db${key}`);
      expect(KEY_PREFIX).toBe('django.contrib.sessions.cached_db');
      expect(await get_cache().get(s.cache_key)).toEqual({ foo: 'bar' });
      const row = await get_connection()('django_session').where('session_key', key).first();
      expect(new SessionStore().decode(row.session_data)).toEqual({ foo: 'bar' });
      await s.delete_session();
      // A mark without writers, not data: a reader that looked before the delete cannot add the old row back (issue 19).
      expect(await get_cache().get(s.cache_key)).toBe(PENDING);
      expect(await get_connection()('django_session').where('session_key', key).first()).toBeUndefined();
    });

    test('reads come from the cache while it has the entry', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      await s.save();
      await get_cache().set(s.cache_key, { foo: 'from the cache' }, 60_000);
      expect((await reopen(s.session_key)).get('foo')).toBe('from the cache');
      await s.delete_session();
    });

    test('a miss reads the row Django wrote and refills the cache for its remaining lifetime', async () => {
      const key = random_key();
      const now_s = frozen_now();
      const expire = new Date((now_s + 1000) * 1000);
      const knex = get_connection();
      // Written as Django's db engine writes it, with nothing in the cache.
      await knex('django_session').insert({ session_key: key, session_data: FOO_BAR, expire_date: db_datetime(expire, knex) });
      const cache_key = KEY_PREFIX + key;
      expect(await get_cache().get(cache_key)).toBeUndefined();

      const s = await reopen(key);
      expect(s.get('foo')).toBe('bar');
      expect(await get_cache().get(cache_key)).toEqual({ foo: 'bar' });
      const raw = await get_cache().getRaw(cache_key);
      const ttl_ms = (raw?.expires as number) - Date.now();
      expect(ttl_ms).toBeGreaterThan(1000_000 - 3000);
      expect(ttl_ms).toBeLessThanOrEqual(1000_000 + 1000);
      await s.delete_session();
    });

    test('an expired row is neither loaded nor cached', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      s.set_expiry(60);
      await s.save();
      const key = s.session_key as string;
      await get_cache().delete(s.cache_key);
      unfreeze();
      unfreeze = freeze_time((frozen_now() + 120) * 1000);
      const again = await reopen(key);
      expect(again.get('foo')).toBeUndefined();
      expect(again.session_key).toBeNull();
      expect(await get_cache().get(KEY_PREFIX + key)).toBeUndefined();
    });

    test('overlapping saves: the row has both changes; the cache holds the row\'s data or nothing', async () => {
      const s = new SessionStore();
      s.set('n', 0);
      await s.save();
      const key = s.session_key as string;
      const a = await reopen(key);
      const b = await reopen(key);
      a.set('a', 1);
      b.set('b', 2);
      await b.save();
      await a.save();
      const row = await get_connection()('django_session').where('session_key', key).first();
      expect(new SessionStore().decode(row.session_data)).toEqual({ n: 0, b: 2, a: 1 });
      const cached = await get_cache().get(s.cache_key);
      if (cached !== undefined) expect(cached).toEqual({ n: 0, b: 2, a: 1 });
      expect(Object.fromEntries((await reopen(key)).items())).toEqual({ n: 0, b: 2, a: 1 });
      await s.delete_session();
    });

    test('a stale cache entry cannot write its stale values back to the row', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      await s.save();
      await get_cache().set(s.cache_key, { foo: 'stale' }, 60_000);
      const again = await reopen(s.session_key);
      expect(again.get('foo')).toBe('stale');
      again.set('x', 1);
      await again.save();
      const row = await get_connection()('django_session').where('session_key', s.session_key).first();
      expect(new SessionStore().decode(row.session_data)).toEqual({ foo: 'bar', x: 1 });
      await s.delete_session();
    });

    test('a save of a session read from the cache is one UPDATE that checks the row still holds the data read', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      s.set('n', 1);
      await s.save();
      const again = await reopen(s.session_key);
      again.set('n', 2);
      const sql: string[] = [];
      const listener = (q: { sql: string }) => sql.push(q.sql);
      get_connection().on('query', listener);
      try {
        await again.save();
      } finally {
        get_connection().off('query', listener);
      }
      expect(sql).toHaveLength(1);
      expect(sql[0]).toMatch(/^UPDATE .* AND substr\(session_data, 1, /);
      const row = await get_connection()('django_session').where('session_key', s.session_key).first();
      expect(new SessionStore().decode(row.session_data)).toEqual({ foo: 'bar', n: 2 });
      await s.delete_session();
    });

    test('a session read from an entry this process wrote saves with the payload that save wrote, without decoding the entry again', async () => {
      const s = new SessionStore();
      s.set('foo', 'bar');
      s.set('n', 1);
      await s.save();
      const written = (await get_connection()('django_session').where('session_key', s.session_key).first()).session_data as string;
      const again = await reopen(s.session_key);
      again.set('n', 2);
      const bindings: unknown[][] = [];
      const listener = (q: { bindings: unknown[] }) => bindings.push(q.bindings);
      const value_of = jest.spyOn(get_cache(), 'value_of');
      let decoded: number;
      get_connection().on('query', listener);
      try {
        await again.save();
      } finally {
        get_connection().off('query', listener);
        decoded = value_of.mock.calls.length;
        value_of.mockRestore();
      }
      expect(decoded).toBe(0);
      expect(bindings).toHaveLength(1);
      expect(bindings[0].slice(-1)).toEqual([written.slice(0, written.indexOf(':') + 1)]);
      expect(Object.fromEntries((await reopen(s.session_key)).items())).toEqual({ foo: 'bar', n: 2 });
      await s.delete_session();
    });

    test('a row changed behind the cache since this process wrote the entry is a conflict, merged from the row', async () => {
      const s = new SessionStore();
      s.set('foo', 'mine');
      await s.save();
      const key = s.session_key as string;
      // Django (or a SQL script) rewrites the row and leaves the cache entry as it was.
      await get_connection()('django_session').where('session_key', key).update({ session_data: FOO_BAR });
      const again = await reopen(key);
      expect(again.get('foo')).toBe('mine');
      again.set('x', 1);
      await again.save();
      const row = await get_connection()('django_session').where('session_key', key).first();
      expect(new SessionStore().decode(row.session_data)).toEqual({ foo: 'bar', x: 1 });
      await s.delete_session();
    });

    test('exists() is answered by the cache first (49)', async () => {
      const s = new SessionStore();
      s.set('x', 1);
      await s.save();
      const key = s.session_key as string;
      await get_connection()('django_session').where('session_key', key).del();
      expect(await new SessionStore().exists(key)).toBe(true);
      await get_cache().delete(s.cache_key);
      expect(await new SessionStore().exists(key)).toBe(false);
    });

    test('a 620-character key loads as {} without an error (50)', async () => {
      const s = new SessionStore('a'.repeat(620));
      expect(await s.load()).toEqual({});
      expect(s.session_key).toBeNull();
    });

    test('an unknown SESSION_CACHE_ALIAS fails at construction (51)', () => {
      configure({ ...settings(cache), SESSION_CACHE_ALIAS: 'nope' });
      expect(() => new SessionStore()).toThrow(InvalidCacheBackendError);
    });

    test('clear_expired() is the db engine\'s', async () => {
      const s = new SessionStore();
      s.set('x', 1);
      s.set_expiry(new Date((frozen_now() - 10) * 1000));
      await s.save();
      expect(await SessionStore.clear_expired()).toBeGreaterThanOrEqual(1);
      expect(await s.exists(s.session_key as string)).toBe(false);
    });

    describe('when the cache is down', () => {
      let broken: () => void = () => undefined;
      beforeEach(async () => {
        if (dead_cache) {
          configure(settings(dead_cache));
        } else {
          // locmem cannot go down: make its calls fail, as Django's test does with a faked cache (52).
          const c = get_cache();
          const spies = (['set', 'get', 'has', 'delete', 'gets', 'add_versioned', 'cas', 'replace'] as const).map((m) =>
            jest.spyOn(c, m).mockRejectedValue(new Error('Faked exception saving to cache')));
          broken = () => spies.forEach((s) => s.mockRestore());
        }
      });
      afterEach(async () => {
        broken();
        broken = () => undefined;
        await close_caches();
      });

      test('save() succeeds and logs one ERROR on tango.sessions (52)', async () => {
        const logs = capture_logs();
        const s = new SessionStore();
        s.set('foo', 'bar');
        try {
          await s.save();
        } finally {
          logs.stop();
        }
        const errors = logs.records.filter((r) => r.name === 'tango.sessions' && r.level === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0].msg).toBe(`Error saving to cache (${String(get_cache())})`);
        expect(errors[0].err).toBeInstanceOf(Error);
        const row = await get_connection()('django_session').where('session_key', s.session_key).first();
        expect(new SessionStore().decode(row.session_data)).toEqual({ foo: 'bar' });
      });

      test('load() and exists() fall back to the database', async () => {
        const logs = capture_logs();
        try {
          const s = new SessionStore();
          s.set('foo', 'bar');
          await s.save();
          const key = s.session_key as string;
          expect((await reopen(key)).get('foo')).toBe('bar');
          expect(await new SessionStore().exists(key)).toBe(true);
        } finally {
          logs.stop();
        }
      });

      test('a save over a row or a delete is StoreUnavailable and leaves the row: the entry it could not mark may still be there (issue 19)', async () => {
        const logs = capture_logs();
        try {
          const s = new SessionStore();
          s.set('foo', 'bar');
          await s.save();
          const key = s.session_key as string;
          const again = await reopen(key);
          again.set('foo', 'changed');
          await expect(again.save()).rejects.toThrow(StoreUnavailable);
          await expect(again.delete_session()).rejects.toThrow(StoreUnavailable);
          const row = await get_connection()('django_session').where('session_key', key).first();
          expect(new SessionStore().decode(row.session_data)).toEqual({ foo: 'bar' });
        } finally {
          logs.stop();
        }
      });
    });
  });
}

suites('SQLite + locmem', sqlite_database, { BACKEND: 'locmem', LOCATION: 'cached-db-tests' }, null);

describe_with('TEST_DATABASE_URL')('with TEST_DATABASE_URL', (db_url) => {
  describe_with('TEST_REDIS_URL')('and TEST_REDIS_URL', (redis_url) => {
    suites('PostgreSQL + Redis', () => postgres_database(db_url),
      { BACKEND: 'redis', LOCATION: redis_url }, { BACKEND: 'redis', LOCATION: 'redis://127.0.0.1:1' });
  });
  describe_with('TEST_MEMCACHED_URL')('and TEST_MEMCACHED_URL', (memcached_url) => {
    suites('PostgreSQL + Memcached', () => postgres_database(db_url),
      { BACKEND: 'memcached', LOCATION: memcached_url }, { BACKEND: 'memcached', LOCATION: '127.0.0.1:1' });
  });
});
