/**
 * The cache of verified session records behind SessionBase.decode: a record
 * is verified once, yet every read gets data of its own, a changed byte or a
 * rotated key is never served from the cache, and the cache stays bounded.
 */
import crypto = require('node:crypto');
import * as signing from '../../core/signing';
import { configure } from '../../core/conf';
import { capture_logs } from '../../core/log';
import { is_dict, new_dict } from '../session_dict';
import { SessionStore } from '../backends/db';
import { forget_all } from '../../core/memos';
import { MAX_RECORD_LENGTH, MAX_RECORDS, recall, remember, remembered } from '../verified_records';
import { TEST_SECRET_KEY } from './contract';

const OTHER_KEY = 'another-secret-key-for-verified-records-tests';

beforeEach(() => {
  configure({ SECRET_KEY: TEST_SECRET_KEY });
  forget_all();
});
afterEach(() => jest.restoreAllMocks());

/**
 * Runs `fn` with fresh copies of the db engine and settings modules, so that
 * they bind the crypto function the test has spied on.
 */
function with_fresh_store(fn: (store_class: typeof SessionStore) => void): void {
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { configure: fresh_configure } = require('../../core/conf') as typeof import('../../core/conf');
    const { SessionStore: FreshStore } = require('../backends/db') as typeof import('../backends/db');
    /* eslint-enable @typescript-eslint/no-require-imports */
    fresh_configure({ SECRET_KEY: TEST_SECRET_KEY });
    fn(FreshStore);
  });
}

function record(data: Record<string, unknown>, key = TEST_SECRET_KEY): string {
  return signing.dumps(data, { key, salt: new SessionStore().key_salt, compress: true });
}

describe('SessionBase.decode with verified records', () => {
  it('verifies a record once and decodes it on every later read', () => {
    const text = record({ user_id: 'zhiliao', cart: [1, 2] });
    const checks = jest.spyOn(crypto, 'timingSafeEqual');
    with_fresh_store((fresh_class) => {
      const s = new fresh_class();
      expect(s.decode(text)).toEqual(new_dict({ user_id: 'zhiliao', cart: [1, 2] }));
      expect(checks).toHaveBeenCalledTimes(1);
      expect(s.decode(text)).toEqual(new_dict({ user_id: 'zhiliao', cart: [1, 2] }));
      expect(new fresh_class().decode(text)).toEqual(new_dict({ user_id: 'zhiliao', cart: [1, 2] }));
      expect(checks).toHaveBeenCalledTimes(1);
      // Another record is verified in full.
      expect(s.decode(record({ user_id: 'other' }))).toEqual(new_dict({ user_id: 'other' }));
    });
  });

  it('gives each read data of its own: changing one does not change the next', () => {
    const text = record({ cart: [{ sku: 'A', qty: 1 }] });
    const first = new SessionStore().decode(text);
    (first.cart as Array<{ qty: number }>)[0].qty = 99;
    (first.cart as unknown[]).push('extra');
    expect(new SessionStore().decode(text)).toEqual(new_dict({ cart: [{ sku: 'A', qty: 1 }] }));
  });

  it('flat data is kept parsed: each read gets a fresh copy, and what was written cannot change after encode()', () => {
    const read = record({ user_id: 'zhiliao', count: 1 });
    const first = new SessionStore().decode(read);
    first.count = 99;
    expect(new SessionStore().decode(read)).toEqual(new_dict({ user_id: 'zhiliao', count: 1 }));
    const data = new_dict({ user_id: 'zhiliao', count: 2 });
    const written = new SessionStore().encode(data);
    data.count = 3;
    const parse = jest.spyOn(JSON, 'parse');
    expect(new SessionStore().decode(written)).toEqual(new_dict({ user_id: 'zhiliao', count: 2 }));
    expect(new SessionStore().decode(read)).toEqual(new_dict({ user_id: 'zhiliao', count: 1 }));
    expect(parse).not.toHaveBeenCalled();
    // What a kept record decodes to is a session dict, as a parsed one is.
    expect(is_dict(new SessionStore().decode(written))).toBe(true);
  });

  it('a record this process wrote decodes without a second verification', () => {
    const checks = jest.spyOn(crypto, 'timingSafeEqual');
    with_fresh_store((fresh_class) => {
      const s = new fresh_class();
      const text = s.encode(new_dict({ count: 7 }));
      expect(checks).not.toHaveBeenCalled();
      expect(new fresh_class().decode(text)).toEqual(new_dict({ count: 7 }));
      expect(checks).not.toHaveBeenCalled();
    });
  });

  it('a tampered copy of a cached record is verified, refused and logged', () => {
    const text = record({ user_id: 'zhiliao' });
    const s = new SessionStore();
    s.decode(text);
    const forged = text.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const logs = capture_logs();
    try {
      expect(s.decode(forged)).toEqual(new_dict());
      expect(logs.records.filter((r) => r.name === 'tango.security.SuspiciousSession').map((r) => r.msg)).toEqual(['Session data corrupted']);
    } finally {
      logs.stop();
    }
  });

  it('a key rotation that drops the old key drops what it verified', () => {
    const text = record({ user_id: 'zhiliao' });
    expect(new SessionStore().decode(text)).toEqual(new_dict({ user_id: 'zhiliao' }));
    configure({ SECRET_KEY: OTHER_KEY });
    expect(recall(new SessionStore().key_salt, text)).toBeUndefined();
    expect(new SessionStore().decode(text)).toEqual(new_dict());
  });

  it('a record signed with a fallback key is kept while the fallback is configured', () => {
    configure({ SECRET_KEY: OTHER_KEY, SECRET_KEY_FALLBACKS: [TEST_SECRET_KEY] });
    const text = record({ user_id: 'zhiliao' });
    expect(new SessionStore().decode(text)).toEqual(new_dict({ user_id: 'zhiliao' }));
    expect(recall(new SessionStore().key_salt, text)).toBeDefined();
  });

  it('a record that ends in a kept record\'s signature but differs before it is not recalled', () => {
    const text = record({ user_id: 'zhiliao' });
    new SessionStore().decode(text);
    const signature = text.slice(text.lastIndexOf(':'));
    const spliced = `${record({ user_id: 'admin' }).slice(0, -signature.length)}${signature}`;
    expect(recall(new SessionStore().key_salt, text)).toBeDefined();
    expect(recall(new SessionStore().key_salt, spliced)).toBeUndefined();
    expect(new SessionStore().decode(spliced)).toEqual(new_dict());
  });

  it('records of one salt are not recalled under another', () => {
    const text = record({ user_id: 'zhiliao' });
    new SessionStore().decode(text);
    expect(recall('some.other.SessionStore', text)).toBeUndefined();
  });
});

describe('verified_records bounds', () => {
  it('keeps at most MAX_RECORDS per salt, dropping the oldest first', () => {
    for (let i = 0; i <= MAX_RECORDS; i++) remember('salt', `record-${i}`, `{"i":${i}}`);
    expect(remembered()).toBe(MAX_RECORDS);
    expect(recall('salt', 'record-0')).toBeUndefined();
    expect(recall('salt', 'record-1')).toBe('{"i":1}');
    expect(recall('salt', `record-${MAX_RECORDS}`)).toBe(`{"i":${MAX_RECORDS}}`);
  });

  it('does not keep records longer than MAX_RECORD_LENGTH', () => {
    const long = 'x'.repeat(MAX_RECORD_LENGTH + 1);
    remember('salt', long, '{}');
    expect(recall('salt', long)).toBeUndefined();
    expect(remembered()).toBe(0);
  });
});
