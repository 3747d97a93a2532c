/**
 * SessionBase on its own (Django's tests/sessions_tests/tests.py), the preload
 * that stands in for Django's lazy load, the store timeout, the
 * error catalogue, and properties checked with fast-check.
 */
import fc from 'fast-check';
import { configure, override_settings } from '../../core/conf';
import { BadRequest, StoreUnavailable, SuspiciousOperation } from '../../core/errors';
import { capture_logs, set_stderr_logging } from '../../core/log';
import { MAX_SAVE_RETRIES, SessionBase, is_key_text } from '../base';
import { apply_changes, is_dict, new_dict, type SessionDict } from '../session_dict';
import { with_store_timeout, type CasResult, type StoredState } from '../store_io';
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
  override async save(must_create = false): Promise<void> {
    if (this.session_key === null) return this.create();
    if (!must_create) await this.preload();
    const data = this._get_session(must_create);
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
  it('clear_expired() is not supported by default (71)', async () => {
    await expect(MemoryStore.clear_expired()).rejects.toThrow(NotImplementedError);
    await expect(MemoryStore.clear_expired()).rejects.toThrow('This backend does not support clear_expired().');
  });

  it('a new session is empty (73)', () => {
    expect(new MemoryStore().is_empty()).toBe(true);
  });

  it('a session dict has no Object.prototype in its chain, and its prototype cannot be written to', () => {
    // JSON.parse defines '__proto__' as an own key, as a store's JSON would.
    const d = new_dict(JSON.parse('{"user_id":"zhiliao","__proto__":"p","constructor":"c"}') as Record<string, unknown>);
    expect(Object.keys(d)).toEqual(['user_id', '__proto__', 'constructor']);
    expect('toString' in d).toBe(false);
    expect('hasOwnProperty' in d).toBe(false);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(d))).toBeNull();
    expect(() => { (Object.getPrototypeOf(d) as Record<string, unknown>).polluted = 1; }).toThrow(TypeError);
    expect(new_dict().polluted).toBeUndefined();
    expect(is_dict(d)).toBe(true);
    expect(is_dict({})).toBe(false);
    expect(is_dict(Object.create(null))).toBe(false);
    expect(JSON.stringify(d)).toBe('{"user_id":"zhiliao","__proto__":"p","constructor":"c"}');
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

/**
 * An in-memory engine with save()'s storage primitives: each record carries a
 * version number, so a test can play "another request saved meanwhile".
 */
interface CasRecord {
  json: string;
  version: number;
}
const cas_records = new Map<string, CasRecord>();

class CasStore extends SessionBase {
  cas_calls: Array<unknown> = [];
  #state_of(r: CasRecord): StoredState {
    return { version: r.version, data: async () => new_dict(JSON.parse(r.json) as Record<string, unknown>) };
  }
  async load(): Promise<SessionDict> {
    const r = cas_records.get(this.session_key as string);
    if (!r) {
      this._session_key = null;
      return {};
    }
    this.set_stored_state(this.#state_of(r));
    return JSON.parse(r.json) as SessionDict;
  }
  async exists(key: string): Promise<boolean> {
    return cas_records.has(key);
  }
  async delete_session(key: string | null = null): Promise<void> {
    cas_records.delete(key ?? (this.session_key as string));
  }
  protected override async insert_record(data: SessionDict): Promise<void> {
    if (cas_records.has(this.session_key as string)) throw new CreateError();
    const r = { json: JSON.stringify(data), version: 1 };
    cas_records.set(this.session_key as string, r);
    this.set_stored_state(this.#state_of(r));
  }
  protected override async read_stored_state(): Promise<StoredState | null> {
    const r = cas_records.get(this.session_key as string);
    return r ? this.#state_of(r) : null;
  }
  protected override async compare_and_swap(expected: StoredState | null, data: SessionDict): Promise<CasResult> {
    this.cas_calls.push(expected?.version ?? null);
    const r = cas_records.get(this.session_key as string);
    if (!r) return 'gone';
    if (expected !== null && expected.version !== r.version) return 'conflict';
    const next = { json: JSON.stringify(data), version: r.version + 1 };
    cas_records.set(this.session_key as string, next);
    this.set_stored_state(this.#state_of(next));
    return 'ok';
  }
  changes(): ReturnType<SessionBase['changes_since']> {
    return this.changes_since(new_dict(JSON.parse((cas_records.get(this.session_key as string) as CasRecord).json) as Record<string, unknown>));
  }
}

/** Another request's save: the record gets `data` and a new version. */
function saved_elsewhere(key: string, data: Record<string, unknown>): void {
  const r = cas_records.get(key) as CasRecord;
  cas_records.set(key, { json: JSON.stringify(data), version: r.version + 1 });
}

async function cas_session(data: Record<string, unknown>): Promise<string> {
  const s = new CasStore();
  s.update(data as Record<string, never>);
  await s.save();
  return s.session_key as string;
}

async function opened(key: string): Promise<CasStore> {
  const s = new CasStore(key);
  await s.preload();
  return s;
}

function stored(key: string): unknown {
  return JSON.parse((cas_records.get(key) as CasRecord).json);
}

describe('save() with a concurrent save in between (compare-and-swap, merge, retry)', () => {
  it('without a concurrent save: one compare-and-swap, on the version loaded', async () => {
    const key = await cas_session({ n: 0 });
    const s = await opened(key);
    s.set('a', 1);
    await s.save();
    expect(s.cas_calls).toEqual([1]);
    expect(stored(key)).toEqual({ n: 0, a: 1 });
  });

  it('puts its own changes (set, delete, pop, setdefault, update) on top of the other save', async () => {
    const key = await cas_session({ n: 0, x: 1, y: 2, keep: 'mine?' });
    const s = await opened(key);
    s.set('a', 1);
    s.delete('x');
    s.pop('y');
    s.setdefault('d', 4);
    s.update({ u: 5 });
    saved_elsewhere(key, { n: 9, x: 1, y: 2, keep: 'theirs', other: true });
    await s.save();
    expect(s.cas_calls).toEqual([1, 2]);
    expect(stored(key)).toEqual({ n: 9, keep: 'theirs', other: true, a: 1, d: 4, u: 5 });
    // The session in memory is the merged one, and the next save compares against it.
    expect(Object.fromEntries(s.items())).toEqual(stored(key));
    s.set('b', 2);
    await s.save();
    expect(s.cas_calls).toEqual([1, 2, 3]);
  });

  it('reports what it changed; clear() deletes every loaded key and only those', async () => {
    const key = await cas_session({ n: 0, x: 1 });
    const s = await opened(key);
    s.clear();
    s.set('z', 3);
    expect(s.changes()).toEqual({ set: { z: 3 }, deleted: ['n', 'x'] });
    saved_elsewhere(key, { n: 0, x: 1, y: 2 });
    await s.save();
    expect(stored(key)).toEqual({ y: 2, z: 3 });
  });

  it('a value changed in place, then `modified = true` (Django\'s idiom), is merged', async () => {
    const key = await cas_session({ cart: [1] });
    const s = await opened(key);
    (s.get('cart') as number[]).push(2);
    s.modified = true;
    expect(s.changes()).toEqual({ set: { cart: [1, 2] }, deleted: [] });
    saved_elsewhere(key, { cart: [1], b: 2 });
    await s.save();
    expect(stored(key)).toEqual({ cart: [1, 2], b: 2 });
  });

  it('the same key: this (later) save wins, even when it set the value it had loaded', async () => {
    const key = await cas_session({ n: 0 });
    const s = await opened(key);
    s.set('n', 0);
    saved_elsewhere(key, { n: 7 });
    await s.save();
    expect(stored(key)).toEqual({ n: 0 });
  });

  it('a record deleted meanwhile is UpdateError and stays deleted', async () => {
    const key = await cas_session({ n: 0 });
    const s = await opened(key);
    s.set('a', 1);
    cas_records.delete(key);
    await expect(s.save()).rejects.toThrow(UpdateError);
    expect(cas_records.has(key)).toBe(false);
  });

  it('deleted between a conflict and the retry: UpdateError too', async () => {
    const key = await cas_session({ n: 0 });
    const s = await opened(key);
    s.set('a', 1);
    saved_elsewhere(key, { n: 1 });
    const read = jest.spyOn(s as unknown as { read_stored_state(): Promise<StoredState | null> }, 'read_stored_state')
      .mockImplementationOnce(async () => {
        cas_records.delete(key);
        return null;
      });
    await expect(s.save()).rejects.toThrow(UpdateError);
    expect(read).toHaveBeenCalledTimes(1);
    expect(cas_records.has(key)).toBe(false);
  });

  it('clear() on a session never loaded: the record read at save time is what it replaces', async () => {
    const key = await cas_session({ n: 0 });
    const s = new CasStore(key);
    s.clear();
    s.set('z', 1);
    await s.save();
    expect(stored(key)).toEqual({ z: 1 });
  });

  it(`conflicting ${MAX_SAVE_RETRIES} retries in a row falls back to last write wins, with a warning`, async () => {
    const key = await cas_session({ n: 0 });
    const s = await opened(key);
    s.set('a', 1);
    // Another writer saves before each of this session's attempts.
    let round = 0;
    const original = (s as unknown as { compare_and_swap: CasStore['compare_and_swap'] }).compare_and_swap.bind(s);
    jest.spyOn(s as unknown as { compare_and_swap: CasStore['compare_and_swap'] }, 'compare_and_swap')
      .mockImplementation(async (expected, data) => {
        if (expected !== null) saved_elsewhere(key, { n: 0, [`w${round++}`]: true });
        return original(expected, data);
      });
    set_stderr_logging(false);
    const logs = capture_logs();
    try {
      await s.save();
    } finally {
      logs.stop();
      set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1');
    }
    // The first try, the retries, then one write without a compare.
    expect(s.cas_calls).toEqual([1, 2, 3, 4, 5, 6, null]);
    expect(s.cas_calls).toHaveLength(MAX_SAVE_RETRIES + 2);
    // That write is a last merge, onto the latest read: the other writer's last save survives too.
    expect(stored(key)).toEqual({ n: 0, w5: true, a: 1 });
    const warnings = logs.records.filter((r) => r.name === 'tango.sessions' && r.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/last write wins/);
  });

  it('must_create never writes over an existing record', async () => {
    const key = await cas_session({ owner: 'first' });
    const s = await opened(key);
    s.set('owner', 'second');
    await expect(s.save(true)).rejects.toThrow(CreateError);
    expect(stored(key)).toEqual({ owner: 'first' });
  });

  it('apply_changes deletes, then sets', () => {
    expect(apply_changes(new_dict({ a: 1, b: 2 }), { set: new_dict({ b: 3, c: 4 }), deleted: ['a'] }))
      .toEqual({ b: 3, c: 4 });
  });

  it('an engine with neither save() nor the storage primitives says which to write', async () => {
    class Bare extends SessionBase {
      async load(): Promise<SessionDict> {
        return {};
      }
      async exists(): Promise<boolean> {
        return false;
      }
      async delete_session(): Promise<void> {}
    }
    const s = new Bare();
    s.set('x', 1);
    const err = await s.save().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotImplementedError);
    expect((err as Error).message).toBe('Bare does not implement insert_record() or save().');
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

  it('turns a refused connection into StoreUnavailable, with the timeout on or off', async () => {
    const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    await expect(with_store_timeout(refused(), 'load', 50)).rejects.toThrow('The session store is unreachable (load): connect ECONNREFUSED');
    await expect(with_store_timeout(refused(), 'load', 0)).rejects.toThrow(StoreUnavailable);
    // A failing statement is the view's bug, not an outage: passed through as it is.
    await expect(with_store_timeout(Promise.reject(new Error('syntax error')), 'load', 0)).rejects.toThrow(/^syntax error$/);
  });

  it('hands failures to the map it is given, and keeps the operation\'s name', async () => {
    const map = (err: unknown, what: string) => new StoreUnavailable(`cache failed (${what}): ${(err as Error).message}`);
    await expect(with_store_timeout(Promise.reject(new Error('boom')), 'cache get', 50, map)).rejects.toThrow('cache failed (cache get): boom');
    await expect(with_store_timeout(Promise.reject(new Error('boom')), 'cache get', 0, map)).rejects.toThrow('cache failed (cache get): boom');
    await expect(with_store_timeout(Promise.resolve('hit'), 'cache get', 50, map)).resolves.toBe('hit');
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

  it('a key is kept iff it is 8 to 40 characters of [a-z0-9] (issue 19, item 10: Django keeps any 8 code points)', () => {
    const key_chars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_A/.-'.split(''));
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: key_chars, maxLength: 50 })), (k) => {
      const s = new MemoryStore(k);
      expect(s.session_key).toBe(/^[a-z0-9]{8,40}$/.test(k) ? k : null);
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

describe('is_key_text', () => {
  it('answers as /^[a-z0-9]{min,max}$/ does, for any string', () => {
    const chars = fc.constantFrom(...'abcxyz0189AZ-_/.:é\u0000 '.split(''), '\ud83d\ude00');
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(chars, { maxLength: 45 }).map((a) => a.join(''))), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 10, max: 41 }), (key, min, max) => {
      expect(is_key_text(key, min, max)).toBe(new RegExp(`^[a-z0-9]{${min},${max}}$`).test(key));
      expect(is_key_text(key)).toBe(/^[a-z0-9]+$/.test(key));
    }), { numRuns: 3000, seed: 20261205 });
    expect(is_key_text('a'.repeat(32), 8, 40)).toBe(true);
    expect(is_key_text('a'.repeat(41), 8, 40)).toBe(false);
    expect(is_key_text('../etc/passwd')).toBe(false);
    expect(is_key_text('')).toBe(false);
  });
});
