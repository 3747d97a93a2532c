/**
 * SessionBase on its own (reference §1, §7 items 71–73), the preload
 * mechanics that stand in for Django's lazy load, the store timeout, the
 * error catalogue, and properties checked with fast-check.
 */
import fc from 'fast-check';
import { configure, override_settings } from '../../core/conf';
import { BadRequest, StoreUnavailable, SuspiciousOperation } from '../../core/errors';
import { SessionBase, new_dict, with_store_timeout, type SessionDict } from '../base';
import {
  CreateError, InvalidSessionKey, NotImplementedError, SessionInterrupted, SESSION_INTERRUPTED_MESSAGE,
  SuspiciousSession, UpdateError,
} from '../exceptions';
import { get_session_store_class } from '../engine';
import { SessionStore as SignedCookieStore } from '../backends/signed_cookies';
import { TEST_SECRET_KEY } from './contract';

/** An in-memory engine: the smallest SessionBase that stores anything. */
const records = new Map<string, SessionDict>();
class MemoryStore extends SessionBase {
  loads = 0;
  async load(): Promise<SessionDict> {
    this.loads++;
    await new Promise((r) => setImmediate(r));
    const data = records.get(this.session_key as string);
    if (!data) {
      this._session_key = null;
      return {};
    }
    return { ...data };
  }
  async exists(key: string): Promise<boolean> {
    return records.has(key);
  }
  async save(must_create = false): Promise<void> {
    if (this.session_key === null) return this.create();
    const data = await this._aget_session(must_create);
    if (must_create && records.has(this.session_key)) throw new CreateError();
    if (!must_create && !records.has(this.session_key)) throw new UpdateError();
    records.set(this.session_key, { ...data });
  }
  async delete_session(key: string | null = null): Promise<void> {
    records.delete(key ?? (this.session_key as string));
  }
}

/** A store whose load() marks it modified, as signed_cookies and file do on a bad record. */
class ResettingStore extends MemoryStore {
  override async load(): Promise<SessionDict> {
    await this.create();
    return {};
  }
  override async create(): Promise<void> {
    this.modified = true;
  }
}

beforeAll(() => {
  configure({ SECRET_KEY: TEST_SECRET_KEY });
});

describe('the base class', () => {
  it('clear_expired() is not supported by default (71, §8.2)', async () => {
    await expect(MemoryStore.clear_expired()).rejects.toThrow(NotImplementedError);
    await expect(MemoryStore.clear_expired()).rejects.toThrow('This backend does not support clear_expired().');
  });

  it('a new session is empty (73)', () => {
    expect(new MemoryStore().is_empty()).toBe(true);
  });

  it('key_salt follows the class name, as Django\'s __qualname__ does', () => {
    expect(new MemoryStore().key_salt).toBe('django.contrib.sessions.MemoryStore');
    expect(new SignedCookieStore().key_salt).toBe('django.contrib.sessions.SessionStore');
  });

  it('create() retries on a key collision', async () => {
    const s = new MemoryStore();
    let calls = 0;
    const original = s.exists.bind(s);
    // The first generated key is reported free but collides on insert.
    s.exists = async (k: string) => (calls++ === 0 ? false : original(k));
    let first = true;
    const save = s.save.bind(s);
    s.save = async (must_create?: boolean) => {
      if (first && must_create) {
        first = false;
        throw new CreateError();
      }
      return save(must_create);
    };
    await s.create();
    expect(s.session_key).toMatch(/^[a-z0-9]{32}$/);
    expect(s.modified).toBe(true);
    expect(records.has(s.session_key as string)).toBe(true);
  });
});

describe('preload (Django\'s lazy load, made explicit)', () => {
  it('loads once, however many callers await it', async () => {
    records.set('k'.repeat(32), { a: 1 });
    const s = new MemoryStore('k'.repeat(32));
    await Promise.all([s.preload(), s.preload(), s.preload()]);
    expect(s.loads).toBe(1);
    expect(s.get('a')).toBe(1);
    await s.preload();
    expect(s.loads).toBe(1);
  });

  it('does not load without a key, or when the data is already there', async () => {
    const s = new MemoryStore();
    await s.preload();
    s.set('x', 1);
    await s.preload();
    expect(s.loads).toBe(0);
  });

  it("keeps load()'s effect on `modified` until the data is read", async () => {
    const s = new ResettingStore('r'.repeat(32));
    await s.preload();
    expect(s.modified).toBe(false);
    expect(s.accessed).toBe(false);
    expect(s.items()).toEqual([]);
    expect(s.modified).toBe(true);
  });

  it('is dropped by clear(): a cleared session keeps its key and is not re-read', async () => {
    const s = new MemoryStore('u'.repeat(32));
    await s.preload();
    s.clear();
    expect(s.get('x')).toBeUndefined();
    expect(s.session_key).toBe('u'.repeat(32));
  });

  it('save() and cycle_key() load on their own when nothing was preloaded', async () => {
    records.set('c'.repeat(32), { a: 1 });
    const s = new MemoryStore('c'.repeat(32));
    await s.cycle_key();
    expect(s.get('a')).toBe(1);
    expect(records.has('c'.repeat(32))).toBe(false);
    const t = new MemoryStore(s.session_key);
    await t.save();
    expect(records.get(t.session_key as string)).toEqual({ a: 1 });
  });

  it('a load failure propagates from preload (a 5xx), and leaves the session as it was', async () => {
    class Failing extends MemoryStore {
      override async load(): Promise<SessionDict> {
        throw new StoreUnavailable('down');
      }
    }
    const s = new Failing('f'.repeat(32));
    await expect(s.preload()).rejects.toThrow(StoreUnavailable);
    expect(s.session_key).toBe('f'.repeat(32));
    expect(() => s.get('x')).toThrow(/preload/);
  });
});

describe('with_store_timeout', () => {
  it('passes results and errors through', async () => {
    await expect(with_store_timeout(Promise.resolve(1), 'x', 50)).resolves.toBe(1);
    await expect(with_store_timeout(Promise.reject(new Error('no')), 'x', 50)).rejects.toThrow('no');
  });

  it('rejects with StoreUnavailable when the store does not answer', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(with_store_timeout(never, 'load', 20)).rejects.toThrow(StoreUnavailable);
    await expect(with_store_timeout(never, 'load', 20)).rejects.toThrow('did not answer within 20 ms (load)');
  });

  it('reads SESSION_STORE_TIMEOUT; 0 turns it off', async () => {
    await override_settings({ SESSION_STORE_TIMEOUT: 0 }, async () => {
      const slow = new Promise((r) => setTimeout(() => r('late'), 30));
      await expect(with_store_timeout(slow, 'x')).resolves.toBe('late');
    });
  });
});

describe('the error catalogue', () => {
  it('has stable codes and Django\'s hierarchy', () => {
    expect(new InvalidSessionKey('x')).toBeInstanceOf(SuspiciousOperation);
    expect(new SuspiciousSession('x')).toBeInstanceOf(SuspiciousOperation);
    expect(new SessionInterrupted()).toBeInstanceOf(BadRequest);
    expect(new SessionInterrupted().status).toBe(400);
    expect(new SessionInterrupted().message).toBe(
      "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.");
    expect(SESSION_INTERRUPTED_MESSAGE).toBe(new SessionInterrupted().message);
    expect([
      new CreateError().code, new UpdateError().code, new InvalidSessionKey('x').code, new SuspiciousSession('x').code,
      new SessionInterrupted().code, new NotImplementedError('x').code,
    ]).toEqual([
      'TANGO_SESSION_CREATE_COLLISION', 'TANGO_SESSION_UPDATE_MISSING', 'TANGO_INVALID_SESSION_KEY',
      'TANGO_SUSPICIOUS_SESSION', 'TANGO_SESSION_INTERRUPTED', 'TANGO_NOT_IMPLEMENTED',
    ]);
  });
});

describe('get_session_store_class', () => {
  it('resolves short and full names to the built-in engines', () => {
    expect(get_session_store_class('signed_cookies')).toBe(SignedCookieStore);
    expect(get_session_store_class('@tango/sessions/backends/signed_cookies')).toBe(SignedCookieStore);
  });

  it('names the problem for a module without SessionStore', () => {
    expect(() => get_session_store_class(require.resolve('../exceptions'))).toThrow(/does not export a SessionStore class/);
  });
});

describe('properties', () => {
  const key = fc.string({ minLength: 0, maxLength: 12 });
  const json: fc.Arbitrary<unknown> = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);

  it('encode/decode round-trips any JSON dict', () => {
    const s = new MemoryStore();
    fc.assert(fc.property(fc.dictionary(key, json), (d) => {
      expect(s.decode(s.encode(new_dict(d)))).toEqual(new_dict(d));
    }), { numRuns: 200 });
  });

  it('set/get/delete behave as a dict for any key, prototype names included', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'del'), fc.oneof(key, fc.constantFrom('__proto__', 'constructor', 'toString')), fc.integer())), (ops) => {
      const s = new MemoryStore();
      const model = new Map<string, number>();
      for (const [op, k, v] of ops) {
        if (op === 'set') {
          s.set(k, v);
          model.set(k, v);
        } else if (model.has(k)) {
          s.delete(k);
          model.delete(k);
        } else {
          expect(() => s.delete(k)).toThrow();
        }
      }
      expect(new Map(s.items())).toEqual(model);
      for (const k of model.keys()) expect(s.get(k)).toBe(model.get(k));
    }), { numRuns: 200 });
  });

  it('a key is kept iff it has at least 8 code points', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), (k) => {
      const s = new MemoryStore(k);
      expect(s.session_key).toBe([...k].length >= 8 ? k : null);
    }));
  });

  it('get_expiry_age floors to whole seconds, negative included', () => {
    const s = new MemoryStore();
    const m = new Date(1_700_000_000_000);
    fc.assert(fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), (ms) => {
      expect(s.get_expiry_age({ modification: m, expiry: new Date(m.getTime() + ms) })).toBe(Math.floor(ms / 1000));
    }));
  });
});
