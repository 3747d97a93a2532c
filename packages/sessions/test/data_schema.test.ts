/** SESSION_DATA_SCHEMA: loaded data that fails the schema is an empty session and a warning, never an error. */
import * as path from 'node:path';
import { configure } from '../../core/conf';
import { ImproperlyConfigured } from '../../core/errors';
import { HttpRequest } from '../../core/http/request';
import { HttpResponse } from '../../core/http/response';
import { capture_logs, type LogRecord } from '../../core/log';
import { dumps } from '../../core/signing';
import { SessionStore as CookieStore } from '../backends/signed_cookies';
import { SessionStore as CacheStore } from '../backends/cache';
import { SessionMiddleware } from '../middleware';
import { TEST_SECRET_KEY } from './contract';

const SCHEMA = path.join(__dirname, 'fixtures', 'session_schema.ts');
const SALT = 'django.contrib.sessions.backends.signed_cookies';
const CACHES = { default: { BACKEND: 'locmem', LOCATION: 'data-schema' } };

function cookie_of(data: Record<string, unknown>): string {
  return dumps(data, { salt: SALT, compress: true });
}

async function loaded(data: Record<string, unknown>): Promise<{ store: CookieStore; warnings: LogRecord[] }> {
  const logs = capture_logs();
  try {
    const store = new CookieStore(cookie_of(data));
    await store.preload();
    return { store, warnings: logs.records.filter((r) => r.level === 'warn' && r.name === 'tango.sessions') };
  } finally {
    logs.stop();
  }
}

describe('SESSION_DATA_SCHEMA', () => {
  it('data that satisfies the schema loads unchanged, Django\'s own keys included', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'signed_cookies', SESSION_DATA_SCHEMA: SCHEMA });
    const { store, warnings } = await loaded({ user_id: 'zhiliao', cart: [1, 2], _session_expiry: 600 });
    expect(store.items()).toEqual([['user_id', 'zhiliao'], ['cart', [1, 2]], ['_session_expiry', 600]]);
    expect(warnings).toEqual([]);
  });

  it('data that fails it loads as an empty session, with a warning naming the setting and the key', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'signed_cookies', SESSION_DATA_SCHEMA: SCHEMA });
    const { store, warnings } = await loaded({ user_id: 'zhiliao', cart: 'three' });
    expect(store.items()).toEqual([]);
    expect(store.modified).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/SESSION_DATA_SCHEMA.*cart/);
  });

  it('without the setting nothing is checked', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
    const { store, warnings } = await loaded({ cart: 'three' });
    expect(store.get('cart')).toBe('three');
    expect(warnings).toEqual([]);
  });

  it('through the middleware: the view sees the empty session, and its next save replaces the bad data', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES });
    const bad = new CacheStore();
    bad.set('cart', 'three');
    await bad.save();
    const key = bad.session_key as string;

    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'cache', CACHES, SESSION_DATA_SCHEMA: SCHEMA });
    let seen: unknown;
    const handler = SessionMiddleware(async (r) => {
      seen = r.session.items();
      r.session.set('cart', [3]);
      return new HttpResponse('ok');
    });
    const response = await handler(new HttpRequest({ url: '/', headers: { cookie: `sessionid=${key}` } }));
    expect(seen).toEqual([]);
    expect(response.status_code).toBe(200);
    const again = new CacheStore(key);
    await again.preload();
    expect(again.items()).toEqual([['cart', [3]]]);
  });

  it('a module without a schema stops start-up with one line naming the setting', () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'signed_cookies', SESSION_DATA_SCHEMA: path.join(__dirname, 'fixtures', 'not_a_schema.ts') });
    expect(() => SessionMiddleware(async () => new HttpResponse('ok'))).toThrow(ImproperlyConfigured);
    expect(() => SessionMiddleware(async () => new HttpResponse('ok'))).toThrow(/^Invalid setting SESSION_DATA_SCHEMA = '.*not_a_schema\.ts': expected a module exporting `schema`/);
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'signed_cookies', SESSION_DATA_SCHEMA: './no/such/module' });
    expect(() => SessionMiddleware(async () => new HttpResponse('ok'))).toThrow(/Invalid setting SESSION_DATA_SCHEMA = '\.\/no\/such\/module'/);
  });
});
