/**
 * The other engines docs/django-interop.md says a Django site and Tango can
 * share: `file` (one file per session in SESSION_FILE_PATH, holding the same
 * encode() string as the db row: django/contrib/sessions/backends/file.py)
 * and the database side of `cached_db` (backends/cached_db.py; each side's cache is its own, which is the
 * point: Django pickles what it puts in a cache, Tango stores JSON, so only
 * the database is common ground).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeze_time } from '../packages/core/clock';
import { configure } from '../packages/core/conf';
import { close_connections } from '../packages/core/db';
import { py_json_dumps } from '../packages/core/py_json';
import { SessionStore as CachedDBStore } from '../packages/sessions/backends/cached_db';
import { SessionStore as FileStore } from '../packages/sessions/backends/file';
import type { SessionBase } from '../packages/sessions/base';
import { sqlite_shared, type SharedDatabase } from './databases';
import { Django, describe_with_django, must } from './django';

// Django start-up alone can take seconds on a busy machine.
jest.setTimeout(60000);

const SECRET_KEY = 'django-insecure-interop-engines';
const DATA = { user_id: 'zhiliao', cart: [1, 2, 3], unicode: 'héllo 清風', flag: true, none: null };

async function write(store: SessionBase, data: Record<string, unknown>): Promise<string> {
  store.update(data as Record<string, never>);
  await store.save();
  return store.session_key as string;
}

async function read(store: SessionBase): Promise<{ key: string | null; data: Record<string, unknown> }> {
  await store.preload();
  const data = Object.fromEntries(store.items());
  return { key: store.session_key, data };
}

describe_with_django('file sessions shared with Django 3.2', () => {
  let dir: string;
  let django: Django;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-interop-files-'));
    django = new Django({ SECRET_KEY, SESSION_ENGINE: 'file', SESSION_FILE_PATH: dir });
    configure({ SECRET_KEY, SESSION_ENGINE: 'file', SESSION_FILE_PATH: dir });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the same file content for the same data at the same instant', async () => {
    const T = 1700000000;
    const [r] = await django.run([{ op: 'session_create', data: DATA, now: T }]);
    const restore = freeze_time(T * 1000);
    let tango_key: string;
    try {
      tango_key = await write(new FileStore(), DATA);
    } finally {
      restore();
    }
    const content = (key: string) => fs.readFileSync(path.join(dir, `sessionid${key}`), 'latin1');
    expect(content(tango_key)).toBe(content(must(r).session_key as string));
  });

  test('a session Django writes, Tango reads, and the reverse', async () => {
    const [created] = await django.run([{ op: 'session_create', data: DATA, expiry: 600 }]);
    const django_key = must(created).session_key as string;
    expect(await read(new FileStore(django_key))).toEqual({ key: django_key, data: { ...DATA, _session_expiry: 600 } });

    const tango_key = await write(new FileStore(), { ...DATA, by: 'tango' });
    const [loaded] = await django.run([{ op: 'session_load', session_key: tango_key }]);
    expect(must(loaded).data_json).toBe(py_json_dumps({ ...DATA, by: 'tango' }));
  });

  test("one side's flush deletes the file for the other", async () => {
    const tango_key = await write(new FileStore(), { a: 1 });
    await django.one({ op: 'session_modify', session_key: tango_key, flush: true });
    expect(fs.existsSync(path.join(dir, `sessionid${tango_key}`))).toBe(false);
    expect((await read(new FileStore(tango_key))).data).toEqual({});

    const [created] = await django.run([{ op: 'session_create', data: { b: 2 } }]);
    const django_key = must(created).session_key as string;
    const s = new FileStore(django_key);
    await s.preload();
    await s.flush();
    const [exists] = await django.run([{ op: 'session_exists', session_key: django_key }]);
    expect(must(exists).exists).toBe(false);
  });
});

describe_with_django("cached_db sessions shared with Django 3.2 through the database (each side's cache is its own)", () => {
  let db: SharedDatabase;
  let django: Django;

  beforeAll(async () => {
    db = sqlite_shared();
    // Django's cache is its default in-process LocMemCache, empty in every driver run:
    // whatever Django reads here comes from the shared table.
    django = new Django({ SECRET_KEY, SESSION_ENGINE: 'cached_db', database: db.django });
    await django.one({ op: 'migrate' });
    configure({ SECRET_KEY, SESSION_ENGINE: 'cached_db', DATABASES: { default: db.tango }, CACHES: { default: { BACKEND: 'locmem' } } }, __dirname);
  });

  afterAll(async () => {
    await django.close();
    await close_connections();
    await db.drop();
  });

  test('a session Django writes, Tango reads from the database (a cache miss), and the reverse', async () => {
    const [created] = await django.run([{ op: 'session_create', data: DATA }]);
    const django_key = must(created).session_key as string;
    expect(await read(new CachedDBStore(django_key))).toEqual({ key: django_key, data: DATA });

    const tango_key = await write(new CachedDBStore(), { ...DATA, by: 'tango' });
    const [loaded] = await django.run([{ op: 'session_load', session_key: tango_key }]);
    expect(must(loaded).data_json).toBe(py_json_dumps({ ...DATA, by: 'tango' }));
  });

  test("a hazard, documented: after Django flushes a session, Tango's own cache still serves it until the entry expires", async () => {
    const key = await write(new CachedDBStore(), { a: 1 });
    await django.one({ op: 'session_modify', session_key: key, flush: true });
    const [exists] = await django.run([{ op: 'session_exists', session_key: key }]);
    expect(must(exists).exists).toBe(false);
    // Tango cached the data when it saved; another Django process would have the
    // same stale entry in its own cache until it expires. This is why the docs
    // say to share the database, and to log out on the side that owns the cache.
    expect((await read(new CachedDBStore(key))).data).toEqual({ a: 1 });
  });
});
