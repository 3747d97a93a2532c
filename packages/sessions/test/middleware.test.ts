/**
 * SessionMiddleware against HttpRequest / HttpResponse directly
 * (django/contrib/sessions/middleware.py and the headers it sends), the no-round-trip rule for
 * requests without a cookie, and named race cases.
 */
import * as path from 'node:path';
import { configure, override_settings } from '../../core/conf';
import { close_caches } from '../../core/cache';
import { freeze_time } from '../../core/clock';
import { capture_logs, set_stderr_logging } from '../../core/log';
import { HttpRequest } from '../../core/http/request';
import { HttpResponse } from '../../core/http/response';
import { build_handler } from '../../core/middleware';
import type { Session } from '../../core/http/session_api';
import { SessionStore as CacheStore } from '../backends/cache';
import { SESSION_INTERRUPTED_MESSAGE, SessionInterrupted } from '../exceptions';
import SessionMiddlewareDefault, { SessionMiddleware } from '../middleware';
import { calls } from './fixtures/counting_engine';
import { TEST_SECRET_KEY } from './contract';

// The key these views read and write with brackets, declared as an app declares its session data.
declare module '@tango/sessions' {
  interface SessionData {
    foo?: string;
  }
}

const T = 1700000000;
const COUNTING = path.join(__dirname, 'fixtures', 'counting_engine.ts');
const BASE = { SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: COUNTING, CACHES: { default: { BACKEND: 'locmem', LOCATION: 'mw' } } };
const DELETION = 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';

type View = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

function request(cookie?: string): HttpRequest {
  return new HttpRequest({ url: '/', headers: cookie === undefined ? {} : { cookie } });
}

async function run(view: View, cookie?: string): Promise<{ response: HttpResponse; request: HttpRequest }> {
  const req = request(cookie);
  const handler = SessionMiddleware(async (r) => view(r));
  return { response: await handler(req), request: req };
}

function set_cookie_header(response: HttpResponse): string | undefined {
  return response.cookies.get('sessionid')?.output();
}

const ok = (): HttpResponse => new HttpResponse('ok');

/** Saves a session {foo: 'bar'} through the middleware and returns its key. */
async function existing_session(data: Record<string, unknown> = { foo: 'bar' }): Promise<string> {
  const { response } = await run((r) => {
    r.session.update(data);
    return ok();
  });
  return response.cookies.get('sessionid')?.value as string;
}

let unfreeze: () => void = () => undefined;

// Refusals and 5xx are logged on purpose; capture_logs() still sees them.
beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

beforeEach(() => {
  configure(BASE);
  calls.load = 0;
});
afterEach(() => unfreeze());
afterAll(() => close_caches());

describe('the request side', () => {
  it('request.session is a store for the cookie value, loaded before the view', async () => {
    const key = await existing_session();
    calls.load = 0;
    const { request: req } = await run((r) => {
      expect(r.session.get('foo')).toBe('bar');
      expect(r.session['foo']).toBe('bar');
      return ok();
    }, `sessionid=${key}`);
    expect(req.session.session_key).toBe(key);
    expect(calls.load).toBe(1);
  });

  it('a request without a session cookie costs no store round trip', async () => {
    await run((r) => {
      expect(r.session.get('foo')).toBeUndefined();
      return ok();
    }, 'other=1');
    expect(calls.load).toBe(0);
  });

  it('an untouched request with a cookie loads once and sends nothing (87)', async () => {
    const key = await existing_session();
    calls.load = 0;
    const { response } = await run(ok, `sessionid=${key}`);
    expect(calls.load).toBe(1);
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBeUndefined();
  });

  it('the default export is the middleware', () => {
    expect(SessionMiddlewareDefault).toBe(SessionMiddleware);
  });
});

describe('response logic (django/contrib/sessions/middleware.py)', () => {
  it('read-only access: Vary: Cookie, no Set-Cookie (88)', async () => {
    const key = await existing_session();
    const { response } = await run((r) => {
      r.session.get('foo');
      return ok();
    }, `sessionid=${key}`);
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBe('Cookie');
  });

  it('a modified session is saved and its cookie set, with Vary (90)', async () => {
    unfreeze = freeze_time(T * 1000);
    const { response } = await run((r) => {
      r.session.set('foo', 'bar');
      return ok();
    });
    const morsel = response.cookies.get('sessionid');
    expect(morsel?.value).toMatch(/^[a-z0-9]{32}$/);
    expect(morsel?.output()).toBe(`sessionid=${morsel?.value}; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`);
    expect(response.headers.get('Vary')).toBe('Cookie');
    const stored = new CacheStore(morsel?.value as string);
    await stored.preload();
    expect(stored.get('foo')).toBe('bar');
  });

  it('flush with an incoming cookie: the exact deletion header and Vary (83)', async () => {
    const { response } = await run(async (r) => {
      await r.session.flush();
      return ok();
    }, 'sessionid=abc');
    expect(set_cookie_header(response)).toBe(DELETION);
    expect(response.headers.get('Vary')).toBe('Cookie');
  });

  it('the deletion honours SESSION_COOKIE_DOMAIN and _PATH (84)', async () => {
    configure({ ...BASE, SESSION_COOKIE_DOMAIN: '.example.local', SESSION_COOKIE_PATH: '/example/' });
    const { response } = await run(async (r) => {
      await r.session.flush();
      return ok();
    }, 'sessionid=abc');
    expect(set_cookie_header(response)).toBe(
      'sessionid=""; Domain=.example.local; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/example/; SameSite=Lax');
  });

  it('flush without an incoming cookie: no cookie, but Vary (85)', async () => {
    const { response } = await run(async (r) => {
      await r.session.flush();
      return ok();
    });
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBe('Cookie');
  });

  it('flush deletes the stored session', async () => {
    const key = await existing_session();
    await run(async (r) => {
      await r.session.flush();
      return ok();
    }, `sessionid=${key}`);
    expect(await new CacheStore().exists(key)).toBe(false);
  });

  it('an emptied but keyed session is saved and the same key re-sent (86)', async () => {
    const key = await existing_session();
    const { response } = await run((r) => {
      r.session.delete('foo');
      return ok();
    }, `sessionid=${key}`);
    expect(response.cookies.get('sessionid')?.value).toBe(key);
    expect(response.headers.get('Vary')).toBe('Cookie');
    const stored = new CacheStore(key);
    await stored.preload();
    expect(stored.items()).toEqual([]);
    expect(stored.session_key).toBe(key);
  });

  it('set_expiry(0) and EXPIRE_AT_BROWSER_CLOSE give a browser-session cookie (89)', async () => {
    let { response } = await run((r) => {
      r.session.set('x', 1);
      r.session.set_expiry(0);
      return ok();
    });
    expect(set_cookie_header(response)).toBe(`sessionid=${response.cookies.get('sessionid')?.value}; HttpOnly; Path=/; SameSite=Lax`);
    configure({ ...BASE, SESSION_EXPIRE_AT_BROWSER_CLOSE: true });
    ({ response } = await run((r) => {
      r.session.set('x', 1);
      return ok();
    }));
    expect(set_cookie_header(response)).toBe(`sessionid=${response.cookies.get('sessionid')?.value}; HttpOnly; Path=/; SameSite=Lax`);
  });

  it('set_expiry(300) sets Max-Age and expires from the session', async () => {
    unfreeze = freeze_time(T * 1000);
    const { response } = await run((r) => {
      r.session.set('x', 1);
      r.session.set_expiry(300);
      return ok();
    });
    expect(set_cookie_header(response)).toBe(
      `sessionid=${response.cookies.get('sessionid')?.value}; expires=Tue, 14 Nov 2023 22:18:20 GMT; HttpOnly; Max-Age=300; Path=/; SameSite=Lax`);
  });

  it.each([500, 503])('status %i: nothing is saved, no cookie, Vary follows access (80, 81)', async (status) => {
    const key = await existing_session();
    const { response } = await run((r) => {
      r.session.set('foo', 'changed');
      return new HttpResponse('boom', { status });
    }, `sessionid=${key}`);
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBe('Cookie');
    const stored = new CacheStore(key);
    await stored.preload();
    expect(stored.get('foo')).toBe('bar');
  });

  it('a 404 still saves and sets the cookie (95)', async () => {
    const { response } = await run((r) => {
      r.session.set('x', 1);
      return new HttpResponse('', { status: 404 });
    });
    expect(response.cookies.get('sessionid')?.value).toMatch(/^[a-z0-9]{32}$/);
  });

  it('SAVE_EVERY_REQUEST re-sends an untouched non-empty session, with Vary (91)', async () => {
    const key = await existing_session();
    configure({ ...BASE, SESSION_SAVE_EVERY_REQUEST: true });
    const { response } = await run(ok, `sessionid=${key}`);
    expect(response.cookies.get('sessionid')?.value).toBe(key);
    expect(response.headers.get('Vary')).toBe('Cookie');
  });

  it('SAVE_EVERY_REQUEST with no session sends nothing (92)', async () => {
    configure({ ...BASE, SESSION_SAVE_EVERY_REQUEST: true });
    const { response } = await run(ok);
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBeUndefined();
  });

  it('an invalid short cookie and an untouched view: deletion cookie (93)', async () => {
    const { response } = await run(ok, 'sessionid=abc');
    expect(set_cookie_header(response)).toBe(DELETION);
    expect(calls.load).toBe(0);
  });

  it('an unknown 32-character key: untouched → nothing; read → deletion (94)', async () => {
    const unknown = 'u'.repeat(32);
    let { response } = await run(ok, `sessionid=${unknown}`);
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBeUndefined();
    ({ response } = await run((r) => {
      r.session.get('x');
      return ok();
    }, `sessionid=${unknown}`));
    expect(set_cookie_header(response)).toBe(DELETION);
    expect(response.headers.get('Vary')).toBe('Cookie');
  });

  it('an unknown key the view writes to gets a new key, never the client-chosen one', async () => {
    const unknown = 'u'.repeat(32);
    const { response } = await run((r) => {
      r.session.set('x', 1);
      return ok();
    }, `sessionid=${unknown}`);
    const value = response.cookies.get('sessionid')?.value;
    expect(value).toMatch(/^[a-z0-9]{32}$/);
    expect(value).not.toBe(unknown);
  });

  it('Vary is appended to an existing one (96)', async () => {
    const { response } = await run((r) => {
      r.session.set('x', 1);
      return new HttpResponse('', { headers: { Vary: 'Accept-Encoding' } });
    });
    expect(response.headers.get('Vary')).toBe('Accept-Encoding, Cookie');
  });

  it('SECURE, HTTPONLY=false, DOMAIN, PATH, SAMESITE=None (76, 78, 97)', async () => {
    unfreeze = freeze_time(T * 1000);
    configure({
      ...BASE, SESSION_COOKIE_SECURE: true, SESSION_COOKIE_HTTPONLY: false,
      SESSION_COOKIE_DOMAIN: '.example.com', SESSION_COOKIE_PATH: '/app', SESSION_COOKIE_SAMESITE: 'None',
    });
    const { response } = await run((r) => {
      r.session.set('x', 1);
      return ok();
    });
    const m = response.cookies.get('sessionid');
    expect(m?.secure).toBe(true);
    expect(m?.httponly).toBe(false);
    expect(m?.output()).toBe(
      `sessionid=${m?.value}; Domain=.example.com; expires=Tue, 28 Nov 2023 22:13:20 GMT; Max-Age=1209600; Path=/app; SameSite=None; Secure`);
  });

  it('HTTPONLY=true and SAMESITE=Strict (77, 79)', async () => {
    configure({ ...BASE, SESSION_COOKIE_SAMESITE: 'Strict' });
    const { response } = await run((r) => {
      r.session.set('x', 1);
      return ok();
    });
    const m = response.cookies.get('sessionid');
    expect(m?.httponly).toBe(true);
    expect(m?.output()).toContain('HttpOnly');
    expect(m?.samesite).toBe('Strict');
  });

  it('SAMESITE=false omits the attribute (97)', async () => {
    configure({ ...BASE, SESSION_COOKIE_SAMESITE: false });
    const { response } = await run((r) => {
      r.session.set('x', 1);
      return ok();
    });
    expect(set_cookie_header(response)).not.toContain('SameSite');
  });

  it('the middleware works on the session the view sees: a spy on request.session.save is what saves', async () => {
    const key = await existing_session();
    let spied = 0;
    const { response } = await run((r) => {
      const save = r.session.save;
      r.session.save = async (must_create?: boolean) => {
        spied++;
        await save(must_create);
      };
      r.session.set('foo', 'spied');
      return ok();
    }, `sessionid=${key}`);
    expect(spied).toBe(1);
    expect(response.cookies.get('sessionid')?.value).toBe(key);
    const { request: next } = await run((r) => ok(), `sessionid=${key}`);
    expect(next.session.get('foo')).toBe('spied');
  });

  it('a session the view assigns to request.session is the one saved', async () => {
    const own = new CacheStore();
    const { response } = await run((r) => {
      r.session.set('foo', 'built by the middleware');
      r.session = own as unknown as Session;
      own.set('foo', 'assigned by the view');
      return ok();
    });
    expect(own.session_key).not.toBeNull();
    expect(response.cookies.get('sessionid')?.value).toBe(own.session_key);
    const reread = new CacheStore(own.session_key);
    await reread.preload();
    expect(reread.get('foo')).toBe('assigned by the view');
  });

  it('a view that removes request.session gets its response back untouched', async () => {
    const { response } = await run((r) => {
      (r as unknown as { session: unknown }).session = undefined;
      return ok();
    });
    expect(response.cookies.size).toBe(0);
  });
});

describe('UpdateError becomes SessionInterrupted (82)', () => {
  const view: View = async (r) => {
    const s = new CacheStore();
    await s.save(true);
    await s.delete_session();
    r.session = s as unknown as Session;
    s.set('x', 1);
    return ok();
  };

  it('the middleware throws it with Django’s message', async () => {
    await expect(run(view)).rejects.toThrow(SessionInterrupted);
    await expect(run(view)).rejects.toThrow(SESSION_INTERRUPTED_MESSAGE);
  });

  it('the handler turns it into a 400', async () => {
    const handler = build_handler(async (r) => view(r), [SessionMiddleware]);
    const response = await handler(request());
    expect(response.status_code).toBe(400);
  });
});

describe('signed_cookies through the middleware (the headers Django sends)', () => {
  beforeEach(() => {
    configure({ ...BASE, SESSION_ENGINE: 'signed_cookies' });
    unfreeze = freeze_time(T * 1000);
  });

  it("modify: Django's exact header", async () => {
    const { response } = await run((r) => {
      r.session['foo'] = 'bar';
      return ok();
    });
    expect(set_cookie_header(response)).toBe(
      'sessionid=eyJmb28iOiJiYXIifQ:1r31eq:G3nF-6A7umrTwVW9UaDse_hl3e5_malOOkXed7pMs4g; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax');
    expect(response.headers.get('Vary')).toBe('Cookie');
  });

  it('a tampered cookie that is read is re-issued as the empty session (70)', async () => {
    const { response } = await run((r) => {
      r.session.get('foo');
      return ok();
    }, 'sessionid=eyJmb28iOiJiYXIifQ:1r31eq:G3nF-6A7umrTwVW9UaDse_hl3e5_malOOkXed7pMs4X');
    expect(set_cookie_header(response)).toBe(
      'sessionid=e30:1r31eq:VMwq3uKQkm83gHB6Vayw68powzmqz4sf75l_yKJlC-I; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax');
  });

  it('a tampered cookie the view never reads changes nothing', async () => {
    const { response } = await run(ok, 'sessionid=eyJmb28iOiJiYXIifQ:1r31eq:G3nF-6A7umrTwVW9UaDse_hl3e5_malOOkXed7pMs4X');
    expect(response.cookies.size).toBe(0);
  });

  it('an oversized session is refused with a logged error and no cookie, not a crash', async () => {
    const logs = capture_logs();
    let response: HttpResponse;
    try {
      ({ response } = await run((r) => {
        r.session.set('big', require('node:crypto').randomBytes(4000).toString('base64'));
        return ok();
      }));
    } finally {
      logs.stop();
    }
    expect(response.status_code).toBe(200);
    expect(response.cookies.size).toBe(0);
    expect(response.headers.get('Vary')).toBe('Cookie');
    const errors = logs.records.filter((r) => r.name === 'tango.sessions' && r.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toMatch(/over the 4093-byte limit/);
  });
});

describe('a store that is down', () => {
  it('gives a prompt 503 for a request with a session cookie', async () => {
    configure({ ...BASE, SESSION_ENGINE: 'cache', SESSION_STORE_TIMEOUT: 2000, CACHES: { default: { BACKEND: 'redis', LOCATION: 'redis://127.0.0.1:1' } } });
    const handler = build_handler(async () => ok(), [SessionMiddleware]);
    const started = Date.now();
    const response = await handler(request(`sessionid=${'a'.repeat(32)}`));
    expect(response.status_code).toBe(503);
    expect(Date.now() - started).toBeLessThan(3000);
    await close_caches();
  });
});

describe('race cases (overlapping requests on one session)', () => {
  function gate(): { wait: Promise<void>; open: () => void } {
    let open!: () => void;
    const wait = new Promise<void>((r) => { open = r; });
    return { wait, open };
  }

  it('logout during a slow write: the write gets a 400, the session stays logged out', async () => {
    const key = await existing_session({ user: 'alice' });
    const g = gate();
    const slow = build_handler(async (r) => {
      r.session.set('cart', 3);
      await g.wait;
      return ok();
    }, [SessionMiddleware]);
    const logout = build_handler(async (r) => {
      await r.session.flush();
      return ok();
    }, [SessionMiddleware]);
    const pending = slow(request(`sessionid=${key}`));
    const out = await logout(request(`sessionid=${key}`));
    expect(set_cookie_header(out)).toBe(DELETION);
    g.open();
    const response = await pending;
    expect(response.status_code).toBe(400);
    expect(response.cookies.size).toBe(0);
    expect(await new CacheStore().exists(key)).toBe(false);
  });

  it('two concurrent writers of different keys: both changes are kept (Django keeps only the last save)', async () => {
    const key = await existing_session({ n: 0 });
    const g = gate();
    const loaded = gate();
    const first = build_handler(async (r) => {
      r.session.set('a', 1);
      loaded.open();
      await g.wait;
      return ok();
    }, [SessionMiddleware]);
    const second = build_handler(async (r) => {
      r.session.set('b', 2);
      return ok();
    }, [SessionMiddleware]);
    // A loads, B loads and saves, then A saves.
    const pending = first(request(`sessionid=${key}`));
    await loaded.wait;
    await second(request(`sessionid=${key}`));
    g.open();
    expect((await pending).status_code).toBe(200);
    const stored = new CacheStore(key);
    await stored.preload();
    expect(stored.items()).toEqual([['n', 0], ['b', 2], ['a', 1]]);
  });

  it('two concurrent writers of the same key: the later save wins', async () => {
    const key = await existing_session({ n: 0 });
    const g = gate();
    const loaded = gate();
    const first = build_handler(async (r) => {
      r.session.set('n', 1);
      loaded.open();
      await g.wait;
      return ok();
    }, [SessionMiddleware]);
    const second = build_handler(async (r) => {
      r.session.set('n', 2);
      return ok();
    }, [SessionMiddleware]);
    const pending = first(request(`sessionid=${key}`));
    await loaded.wait;
    await second(request(`sessionid=${key}`));
    g.open();
    expect((await pending).status_code).toBe(200);
    const stored = new CacheStore(key);
    await stored.preload();
    expect(stored.items()).toEqual([['n', 1]]);
  });

  it('login (cycle_key) while another request reads the old key: the reader sees no session', async () => {
    const key = await existing_session({ user: 'alice' });
    const { response } = await run(async (r) => {
      await r.session.cycle_key();
      return ok();
    }, `sessionid=${key}`);
    const fresh = response.cookies.get('sessionid')?.value;
    expect(fresh).not.toBe(key);
    const reader = await run((r) => {
      expect(r.session.get('user')).toBeUndefined();
      return ok();
    }, `sessionid=${key}`);
    expect(set_cookie_header(reader.response)).toBe(DELETION);
    const stored = new CacheStore(fresh as string);
    await stored.preload();
    expect(stored.get('user')).toBe('alice');
  });
});

describe('override_settings is honoured per request', () => {
  it('the cookie name is read at request time', async () => {
    await override_settings({ SESSION_COOKIE_NAME: 'sid' }, async () => {
      const { response } = await run((r) => {
        r.session.set('x', 1);
        return ok();
      });
      expect(response.cookies.get('sid')?.value).toMatch(/^[a-z0-9]{32}$/);
    });
  });
});

