/**
 * The session engine contract: Django's SessionTestsMixin
 * (tests/sessions_tests/tests.py) written
 * once and run against every engine on every store.
 *
 * Usage, from a *.test.ts file:
 *
 *   describe_session_engine('file', {
 *     settings: { SESSION_ENGINE: 'file', SESSION_FILE_PATH: dir },
 *     before: async () => {...},   // after settings are configured: create tables, connect…
 *     after: async () => {...},    // close connections, remove directories…
 *   }, { server_side: true });
 *
 * `settings` is merged over a test baseline (SECRET_KEY, USE_TZ=true,
 * TIME_ZONE='UTC') and installed with configure() before `before` runs; the
 * engine is resolved from SESSION_ENGINE. `server_side: false` (signed
 * cookies) skips the cases that need a store holding records and runs the
 * signed-cookie variants instead. Every case runs with the clock frozen at a
 * whole second of real time, so expiry arithmetic is exact while stores that
 * expire by wall time (Redis, memcached, file mtimes) still agree with it.
 * The expiry cases run a second time under USE_TZ=false in a zone with an
 * offset, as Django re-runs its suites with time zones.
 */
import { configure, override_settings, settings } from '@tango/core/conf';
import { freeze_time } from '@tango/core/clock';
import { KeyError } from '@tango/core/errors';
import { capture_logs, set_stderr_logging } from '@tango/core/log';
import { TimestampSigner } from '@tango/core/signing';
import type { SessionBase, SessionStoreClass } from '../base';
import { with_bracket_access } from '../bracket_access';
import { get_session_store_class } from '../engine';
import { CreateError, UpdateError } from '../exceptions';

export interface EngineSetup {
  settings: Record<string, unknown>;
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}

export interface EngineOptions {
  /** The engine keeps records in a store (everything but signed_cookies). Default true. */
  server_side?: boolean;
}

export const TEST_SECRET_KEY = 'django-insecure-example-secret';

/** Seconds since the epoch, as the session tests' frozen "now". */
export function frozen_now(): number {
  return Math.floor(Date.now() / 1000);
}

type Flags = { accessed: boolean; modified: boolean };

function reset(s: Flags): void {
  s.accessed = false;
  s.modified = false;
}

export function describe_session_engine(name: string, setup: EngineSetup, opts: EngineOptions = {}): void {
  const server_side = opts.server_side ?? true;
  // Cases that need records in a store are not registered for signed cookies.
  const server_it = server_side ? it : ((() => undefined) as unknown as jest.It);

  describe(`session engine contract: ${name}`, () => {
    let Store: SessionStoreClass;
    let session: SessionBase;
    let unfreeze: () => void = () => undefined;
    let now = 0;

    const baseline = { SECRET_KEY: TEST_SECRET_KEY, USE_TZ: true, TIME_ZONE: 'UTC', ...setup.settings };

    beforeAll(async () => {
      // Corrupt-data cases log security warnings on purpose; capture_logs() still sees them.
      set_stderr_logging(false);
      configure(baseline);
      Store = get_session_store_class();
      await setup.before?.();
    });

    afterAll(async () => {
      set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1');
      await setup.after?.();
    });

    beforeEach(() => {
      now = frozen_now();
      unfreeze = freeze_time(now * 1000);
      session = new Store();
    });

    afterEach(async () => {
      unfreeze();
      // Leave nothing behind in shared stores.
      if (server_side && session.session_key) await session.delete_session().catch(() => undefined);
    });

    /** A fresh store for `key`, loaded as the middleware would load it. */
    async function reopen(key: string | null): Promise<SessionBase> {
      const s = new Store(key);
      await s.preload();
      return s;
    }

    // --- 1–13: the dict API and its flags ---------------------------------

    it('starts neither modified nor accessed (1)', () => {
      expect(session.modified).toBe(false);
      expect(session.accessed).toBe(false);
    });

    it('get() of a missing key is undefined (2)', () => {
      expect(session.get('cat')).toBeUndefined();
      expect(session.get('cat', 'fallback')).toBe('fallback');
    });

    it('set marks modified; pop returns the value (3)', () => {
      session.set('cat', 'dog');
      expect(session.modified).toBe(true);
      expect(session.pop('cat')).toBe('dog');
    });

    it('pop of a present key sets accessed and modified and removes it (4)', () => {
      session.set('some key', 'exists');
      reset(session);
      expect(session.pop('some key')).toBe('exists');
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(true);
      expect(session.get('some key')).toBeUndefined();
    });

    it('pop of a missing key with a default returns it, accessed but not modified (5)', () => {
      expect(session.pop('some key', 'does not exist')).toBe('does not exist');
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(false);
      expect(session.pop('other key', undefined)).toBeUndefined();
    });

    it('pop of a missing key without a default throws KeyError (6)', () => {
      expect(() => session.pop('some key')).toThrow(KeyError);
    });

    it('setdefault inserts once (7)', () => {
      expect(session.setdefault('foo', 'bar')).toBe('bar');
      expect(session.setdefault('foo', 'baz')).toBe('bar');
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(true);
    });

    it('setdefault of a present key does not modify', () => {
      session.set('foo', 'bar');
      reset(session);
      expect(session.setdefault('foo', 'baz')).toBe('bar');
      expect(session.modified).toBe(false);
    });

    it('update sets accessed and modified, even when empty (8)', () => {
      session.update({ 'update key': 1 });
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(true);
      expect(session.get('update key')).toBe(1);
      reset(session);
      session.update({});
      expect(session.modified).toBe(true);
    });

    it('has() only accesses (9)', () => {
      session.set('some key', 1);
      reset(session);
      expect(session.has('some key')).toBe(true);
      expect(session.has('toString')).toBe(false);
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(false);
    });

    it('values() (10)', () => {
      expect(session.values()).toEqual([]);
      expect(session.accessed).toBe(true);
      session.set('some key', 1);
      reset(session);
      expect(session.values()).toEqual([1]);
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(false);
    });

    it('keys() (11)', () => {
      session.set('x', 1);
      reset(session);
      expect(session.keys()).toEqual(['x']);
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(false);
    });

    it('items() (12)', () => {
      session.set('x', 1);
      reset(session);
      expect(session.items()).toEqual([['x', 1]]);
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(false);
    });

    it('clear() empties and sets accessed and modified (13)', () => {
      session.set('x', 1);
      reset(session);
      expect(session.items()).toEqual([['x', 1]]);
      session.clear();
      expect(session.items()).toEqual([]);
      expect(session.accessed).toBe(true);
      expect(session.modified).toBe(true);
    });

    it('delete() removes a key and throws KeyError for a missing one', () => {
      session.set('x', 1);
      reset(session);
      session.delete('x');
      expect(session.modified).toBe(true);
      expect(session.has('x')).toBe(false);
      expect(() => session.delete('x')).toThrow(KeyError);
    });

    it('bracket access (request.session\'s) reads and writes the data', () => {
      const s = with_bracket_access(session) as unknown as Record<string, unknown>;
      s['user_id'] = 'zhiliao';
      expect(session.get('user_id')).toBe('zhiliao');
      expect(session.modified).toBe(true);
      expect(s['user_id']).toBe('zhiliao');
      expect(s['missing']).toBeUndefined();
      delete s['user_id'];
      expect(session.has('user_id')).toBe(false);
      // Methods and fields stay themselves.
      expect(typeof s['get']).toBe('function');
      expect(s['accessed']).toBe(true);
    });

    it('keys that look like Object.prototype members are plain keys', () => {
      session.set('__proto__', 'p');
      session.set('constructor', 'c');
      expect(session.get('__proto__')).toBe('p');
      expect(session.keys()).toEqual(['__proto__', 'constructor']);
      expect(session.get('hasOwnProperty')).toBeUndefined();
    });

    it('reading a session is not a thenable (await session is safe)', async () => {
      session.set('then', 'x');
      reset(session);
      await expect(Promise.resolve(session)).resolves.toBe(session);
      expect(session.accessed).toBe(false);
    });

    // --- 14–22: storage -----------------------------------------------------

    server_it('save() makes the key exist (14)', async () => {
      await session.save();
      expect(await session.exists(session.session_key as string)).toBe(true);
    });

    server_it('delete_session(key) makes it not exist (15)', async () => {
      await session.save();
      const key = session.session_key as string;
      await session.delete_session(key);
      expect(await session.exists(key)).toBe(false);
    });

    it('flush() deletes the record, drops the key, sets both flags (16)', async () => {
      session.set('foo', 'bar');
      await session.save();
      const prev = session.session_key as string;
      await session.flush();
      expect(await session.exists(prev)).toBe(false);
      expect(session.session_key).toBeNull();
      expect(session.modified).toBe(true);
      expect(session.accessed).toBe(true);
      expect(session.is_empty()).toBe(true);
    });

    server_it('cycle_key() keeps the data under a new key and removes the old record (17)', async () => {
      session.set('a', 'c');
      session.set('b', 'd');
      await session.save();
      const prev_key = session.session_key as string;
      const prev_items = session.items();
      await session.cycle_key();
      expect(await session.exists(prev_key)).toBe(false);
      expect(session.session_key).not.toBe(prev_key);
      expect(session.items()).toEqual(prev_items);
      expect(await session.exists(session.session_key as string)).toBe(true);
    });

    it('cycle_key() on a store that was never loaded keeps the data (18)', async () => {
      session.set('a', 'c');
      session.set('b', 'd');
      await session.save();
      const prev_items = session.items();
      const fresh = new Store(session.session_key);
      await fresh.cycle_key();
      expect(fresh.items()).toEqual(prev_items);
      session = fresh;
    });

    it('save() keeps the data in memory (19)', async () => {
      session.set('a', 'b');
      await session.save();
      expect(session.get('a')).toBe('b');
    });

    it('a too-short key is replaced on save (20)', async () => {
      const s = new Store('1');
      await s.save();
      expect(s.session_key).not.toBe('1');
      expect(s.get('cat')).toBeUndefined();
      await s.delete_session();
    });

    it('keys shorter than 8 characters become null (21)', () => {
      const internal = session as unknown as { _session_key: string | null };
      internal._session_key = '';
      expect(session.session_key).toBeNull();
      internal._session_key = '1234567';
      expect(session.session_key).toBeNull();
      internal._session_key = '12345678';
      expect(session.session_key).toBe('12345678');
      expect(new Store('1234567').session_key).toBeNull();
    });

    it('session_key is read-only (22)', () => {
      expect(() => {
        (session as unknown as { session_key: string }).session_key = 'abcdefghij';
      }).toThrow(TypeError);
    });

    it('data survives a round trip through the store', async () => {
      session.set('answer', 42); // not 'user_id': the demo declares that one a string (SessionData is one for the whole program)
      session.set('nested', { list: [1, 'two', null], 'h\u00e9': '\u6e05\u98a8' });
      await session.save();
      const again = await reopen(session.session_key);
      expect(again.get('answer')).toBe(42);
      expect(again.get('nested')).toEqual({ list: [1, 'two', null], 'h\u00e9': '\u6e05\u98a8' });
    });

    server_it('an emptied keyed session is saved and reads back empty (86)', async () => {
      session.set('x', 1);
      await session.save();
      const again = await reopen(session.session_key);
      again.delete('x');
      await again.save();
      expect(again.session_key).toBe(session.session_key);
      const third = await reopen(session.session_key);
      expect(third.items()).toEqual([]);
      expect(third.session_key).toBe(session.session_key);
    });

    // --- loading rules -------------------------------------------------------

    it('synchronous access with an unloaded key throws a clear error', () => {
      const s = new Store('abcdefgh12345678');
      expect(() => s.get('x')).toThrow(/preload\(\)/);
    });

    server_it('an unknown key: load() drops it and creates no record (34)', async () => {
      const s = new Store('someunknownkey');
      expect(await s.load()).toEqual({});
      expect(s.session_key).toBeNull();
      expect(await s.exists('someunknownkey')).toBe(false);
    });

    server_it('preload keeps the key until the data is read (Django loads lazily) (94)', async () => {
      const unknown = 'a'.repeat(32);
      const s = await reopen(unknown);
      expect(s.session_key).toBe(unknown);
      expect(s.is_empty()).toBe(false);
      expect(s.accessed).toBe(false);
      expect(s.get('x')).toBeUndefined();
      expect(s.session_key).toBeNull();
      expect(s.is_empty()).toBe(true);
    });

    server_it('a session deleted elsewhere is not resurrected by save (35)', async () => {
      const s1 = new Store();
      s1.set('test_data', 'value1');
      await s1.save(true);
      const s2 = new Store(s1.session_key);
      await s2.delete_session();
      s1.set('test_data', 'value2');
      await expect(s1.save()).rejects.toThrow(UpdateError);
      expect(await s1.load()).toEqual({});
    });

    server_it('save(must_create) never writes over an existing record: CreateError', async () => {
      session.set('owner', 'first');
      await session.save();
      const intruder = await reopen(session.session_key);
      intruder.set('owner', 'second');
      await expect(intruder.save(true)).rejects.toThrow(CreateError);
      expect((await reopen(session.session_key)).get('owner')).toBe('first');
    });

    server_it('create() on a key taken meanwhile retries with another key', async () => {
      session.set('owner', 'first');
      await session.save();
      const taken = session.session_key as string;
      const s = new Store();
      s.set('owner', 'second');
      // As if the key was stored between the uniqueness check and the insert.
      const draw = jest.spyOn(s as unknown as { _get_new_session_key(): Promise<string> }, '_get_new_session_key')
        .mockResolvedValueOnce(taken);
      await s.save();
      expect(draw).toHaveBeenCalledTimes(2);
      expect(s.session_key).not.toBe(taken);
      expect((await reopen(taken)).get('owner')).toBe('first');
      expect((await reopen(s.session_key)).get('owner')).toBe('second');
      await s.delete_session();
    });

    server_it('two stores saving different keys of one session both keep their change', async () => {
      session.set('n', 0);
      await session.save();
      const a = await reopen(session.session_key);
      const b = await reopen(session.session_key);
      a.set('a', 1);
      b.set('b', 2);
      await b.save();
      await a.save();
      expect(Object.fromEntries((await reopen(session.session_key)).items())).toEqual({ n: 0, b: 2, a: 1 });
    });

    server_it('new keys are 32 characters of [a-z0-9] (36)', async () => {
      await session.save();
      expect(session.session_key).toMatch(/^[a-z0-9]{32}$/);
    });

    it('key_salt is django.contrib.sessions.SessionStore (37)', () => {
      expect(session.key_salt).toBe('django.contrib.sessions.SessionStore');
    });

    // --- 23–28: expiry ---------------------------------------------------------

    function expiry_cases(label: string): void {
      describe(label, () => {
        it('the default age is SESSION_COOKIE_AGE, also after set_expiry(0) (23)', () => {
          expect(session.get_expiry_age()).toBe(settings.SESSION_COOKIE_AGE);
          session.set_expiry(0);
          expect(session.get_expiry_age()).toBe(settings.SESSION_COOKIE_AGE);
        });

        it('set_expiry(seconds) counts from the modification (24)', () => {
          const m = new Date(now * 1000);
          session.set_expiry(10);
          expect(session.get_expiry_date({ modification: m })).toEqual(new Date((now + 10) * 1000));
          expect(session.get_expiry_age({ modification: m })).toBe(10);
          expect(session.get('_session_expiry')).toBe(10);
        });

        it('set_expiry(now + 10 s) (25, 26)', () => {
          const at = new Date((now + 10) * 1000 + 123);
          session.set_expiry(at);
          expect(typeof session.get('_session_expiry')).toBe('string');
          expect(session.get_expiry_date()).toEqual(at);
          expect(session.get_expiry_age()).toBe(10);
        });

        it('a past instant gives a negative age', () => {
          session.set_expiry(new Date((now - 10) * 1000));
          expect(session.get_expiry_age()).toBe(-10);
        });

        it('set_expiry(null) returns to the global policy (27)', () => {
          session.set_expiry(null);
          session.set_expiry(10);
          session.set_expiry(null);
          expect(session.get_expiry_age()).toBe(settings.SESSION_COOKIE_AGE);
          expect(session.has('_session_expiry')).toBe(false);
        });

        it('set_expiry(null) without an expiry set does not modify', () => {
          session.set_expiry(null);
          expect(session.accessed).toBe(true);
          expect(session.modified).toBe(false);
        });

        it('get_expire_at_browser_close follows the setting and set_expiry (28)', async () => {
          await override_settings({ SESSION_EXPIRE_AT_BROWSER_CLOSE: false }, () => {
            session.set_expiry(10);
            expect(session.get_expire_at_browser_close()).toBe(false);
            session.set_expiry(0);
            expect(session.get_expire_at_browser_close()).toBe(true);
            session.set_expiry(null);
            expect(session.get_expire_at_browser_close()).toBe(false);
          });
          await override_settings({ SESSION_EXPIRE_AT_BROWSER_CLOSE: true }, () => {
            session.set_expiry(10);
            expect(session.get_expire_at_browser_close()).toBe(false);
            session.set_expiry(0);
            expect(session.get_expire_at_browser_close()).toBe(true);
            session.set_expiry(null);
            expect(session.get_expire_at_browser_close()).toBe(true);
          });
        });

        it('the expiry options avoid reading the session', () => {
          const s = new Store('abcdefgh12345678');
          expect(s.get_expiry_age({ expiry: null })).toBe(settings.SESSION_COOKIE_AGE);
          expect(s.get_expiry_age({ expiry: 60 })).toBe(60);
          expect(s.get_expiry_age({ expiry: new Date((now + 30) * 1000) })).toBe(30);
          expect(s.get_expiry_date({ expiry: null, modification: new Date(now * 1000) }))
            .toEqual(new Date((now + settings.SESSION_COOKIE_AGE) * 1000));
          expect(s.accessed).toBe(false);
        });

        it('an instant expiry survives the store as its ISO string', async () => {
          const at = new Date((now + 3600) * 1000);
          session.set('x', 1);
          session.set_expiry(at);
          await session.save();
          const again = await reopen(session.session_key);
          expect(again.get('_session_expiry')).toBe(session.get('_session_expiry'));
          expect(again.get_expiry_date()).toEqual(at);
          expect(again.get_expiry_age()).toBe(3600);
        });

        it('an expired session does not survive (32; signed cookies: 33)', async () => {
          session.set('foo', 'bar');
          session.set_expiry(new Date((now - 10) * 1000));
          await session.save();
          const again = await reopen(session.session_key);
          // Signed cookies cannot enforce set_expiry server-side (Django ticket #19201).
          expect(again.has('foo')).toBe(!server_side);
        });

        it('an overridden get_session_cookie_age() is the default (46)', () => {
          // Django's test subclasses the store; overriding the hook on an instance exercises the same path.
          const s = new Store();
          s.get_session_cookie_age = () => 86400;
          expect(s.get_expiry_age()).toBe(86400);
          s.set_expiry(0);
          expect(s.get_expiry_age()).toBe(86400);
          s.set_expiry(5);
          s.set_expiry(null);
          expect(s.get_expiry_age()).toBe(86400);
        });
      });
    }

    expiry_cases("expiry (the engine's settings)");

    describe('with USE_TZ=false in America/Chicago', () => {
      beforeAll(() => {
        configure({ ...baseline, USE_TZ: false, TIME_ZONE: 'America/Chicago' });
      });
      afterAll(() => {
        configure(baseline);
      });

      it('stores a naive local ISO string', () => {
        session.set_expiry(new Date(Date.UTC(2030, 0, 2, 3, 4, 5)));
        expect(session.get('_session_expiry')).toBe('2030-01-01T21:04:05');
      });

      it('an aware string then cannot be compared (Python raises TypeError)', () => {
        session.set('_session_expiry', '2030-01-02T03:04:05+00:00');
        expect(() => session.get_expiry_age()).toThrow(TypeError);
      });

      expiry_cases('expiry');
    });

    it('under USE_TZ=true an instant is stored with +00:00', async () => {
      await override_settings({ USE_TZ: true }, () => {
        session.set_expiry(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 123)));
        expect(session.get('_session_expiry')).toBe('2030-01-02T03:04:05.123000+00:00');
      });
    });

    // --- 29–31: encode / decode -------------------------------------------------

    it('decode(encode(d)) round-trips (29)', () => {
      const data = { 'a test key': 'a test value' };
      expect(session.decode(session.encode(data))).toEqual(data);
    });

    it("encode matches Django's bytes (django/contrib/sessions/backends/base.py encode)", () => {
      unfreeze();
      unfreeze = freeze_time(1700000000 * 1000);
      expect(session.encode({ foo: 'bar' })).toBe('eyJmb28iOiJiYXIifQ:1r31eq:4oPGY5wdWjXpNxPeUP6zVLoClceQgN6FoGSindagTXo');
      expect(session.decode('eyJmb28iOiJiYXIifQ:1r31eq:4oPGY5wdWjXpNxPeUP6zVLoClceQgN6FoGSindagTXo')).toEqual({ foo: 'bar' });
    });

    it('corrupt data decodes to {} with a security warning (30)', () => {
      const logs = capture_logs();
      try {
        expect(session.decode('bad:encoded:value')).toEqual({});
        expect(session.decode(Buffer.from('flaskdj:alkdjf').toString('base64'))).toEqual({});
      } finally {
        logs.stop();
      }
      const warnings = logs.records.filter((r) => r.name === 'tango.security.SuspiciousSession' && r.level === 'warn');
      expect(warnings).toHaveLength(2);
      for (const w of warnings) expect(w.msg).toContain('Session data corrupted');
    });

    it('a correctly signed but undecodable payload decodes to {} silently (31)', () => {
      const signer = new TimestampSigner({ salt: session.key_salt });
      const logs = capture_logs();
      try {
        expect(session.decode(signer.sign('bad payload*'))).toEqual({});
        expect(session.decode(signer.sign(Buffer.from('{not json').toString('base64url')))).toEqual({});
      } finally {
        logs.stop();
      }
      expect(logs.records.filter((r) => r.name.startsWith('tango.security'))).toHaveLength(0);
    });

    it('a correctly signed non-object payload counts as corrupt', () => {
      const signer = new TimestampSigner({ salt: session.key_salt });
      expect(session.decode(signer.sign(Buffer.from('[1,2]').toString('base64url')))).toEqual({});
    });

    // --- 72: test cookie ---------------------------------------------------------

    it('test cookie helpers (72)', () => {
      session.set_test_cookie();
      expect(session.test_cookie_worked()).toBe(true);
      session.delete_test_cookie();
      expect(session.has('testcookie')).toBe(false);
      expect(() => session.delete_test_cookie()).toThrow(KeyError);
    });

    it('is_empty (73)', () => {
      expect(session.is_empty()).toBe(true);
      session.set('x', 1);
      expect(session.is_empty()).toBe(false);
      session.clear();
      expect(session.is_empty()).toBe(true);
      expect(new Store('abcdefgh12345678').is_empty()).toBe(false);
    });

    it('clear_expired() resolves to a count', async () => {
      await expect(Store.clear_expired()).resolves.toEqual(expect.any(Number));
    });
  });
}
