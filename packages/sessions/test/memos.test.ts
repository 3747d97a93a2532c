/**
 * What the sessions package keeps between requests is in the registry of
 * packages/core/memos.ts: forget_all() starts each of it cold, as a restart
 * would, and the next use computes it again.
 */
import * as path from 'node:path';
import { configure } from '../../core/conf';
import { forget_all, memo_names } from '../../core/memos';
import { get_session_data_schema } from '../data_schema';
import { save_queue } from '../save_queue';
import { SessionStore as DBStore } from '../backends/db';
import '../backends/cache';
import '../backends/cached_db';
import '../backends/file';
import '../verified_records';
import { TEST_SECRET_KEY } from './contract';

const SCHEMA = path.join(__dirname, 'fixtures', 'session_schema.ts');

beforeEach(() => configure({ SECRET_KEY: TEST_SECRET_KEY }));
afterEach(() => jest.restoreAllMocks());

describe('the sessions memos', () => {
  it('are all registered', () => {
    expect(memo_names()).toEqual(expect.arrayContaining([
      'sessions.base.key_salts', 'sessions.data_schema', 'sessions.save_queues', 'sessions.verified_records',
      'sessions.cache.failure_maps', 'sessions.cached_db.written', 'sessions.db.sql_by_table', 'sessions.file.storage_path',
    ]));
  });

  it('forget_all() forgets the key salt of each engine class', () => {
    const salt = new DBStore().key_salt;
    const sets = jest.spyOn(WeakMap.prototype, 'set');
    expect(new DBStore().key_salt).toBe(salt);
    // Remembered: the second session of the class reads it without storing it again.
    expect(sets.mock.calls.filter(([k]) => k === DBStore)).toHaveLength(0);
    forget_all();
    expect(new DBStore().key_salt).toBe('django.contrib.sessions.SessionStore');
    expect(sets.mock.calls.filter(([k]) => k === DBStore)).toHaveLength(1);
  });

  it('forget_all() forgets the loaded SESSION_DATA_SCHEMA', () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_DATA_SCHEMA: SCHEMA });
    const first = get_session_data_schema();
    expect(first).not.toBeNull();
    // A fresh module registry: a schema looked up again comes from a new copy of the module.
    jest.resetModules();
    expect(get_session_data_schema()).toBe(first);
    forget_all();
    const again = get_session_data_schema();
    expect(again).not.toBeNull();
    expect(again).not.toBe(first);
  });

  it('forget_all() forgets the save queue of each engine class', () => {
    const queue = save_queue(DBStore);
    expect(save_queue(DBStore)).toBe(queue);
    forget_all();
    const fresh = save_queue(DBStore);
    expect(fresh).not.toBe(queue);
    expect(fresh.size).toBe(0);
  });
});
