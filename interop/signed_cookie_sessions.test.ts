/**
 * Issue 4, item 4 (session part): the signed_cookies session engine against
 * Django 3.2 (django/contrib/sessions/backends/signed_cookies.py). The cookie value is the whole session,
 * signing.dumps(data, salt='django.contrib.sessions.backends.signed_cookies',
 * compress=True) keyed by SECRET_KEY, so a session cookie issued by either
 * side must open on the other.
 */
import { freeze_time } from '../packages/core/clock';
import { configure } from '../packages/core/conf';
import { HttpRequest } from '../packages/core/http/request';
import { py_json_dumps } from '../packages/core/py_json';
import { SessionStore } from '../packages/sessions/backends/signed_cookies';
import { Django, describe_with_django, must, type Result } from './django';
import { cookie_pair, tango_session_request } from './session_requests';

// Django start-up alone can take seconds on a busy machine.
jest.setTimeout(60000);

const SECRET_KEY = 'django-insecure-example-secret';
const T = 1700000000;
const AGE = 1209600;

const DATA = {
  user_id: 'zhiliao',
  cart: [{ sku: 'A-1', qty: 2 }],
  flags: { admin: false, beta: true, none: null },
  ratio: 0.5,
  unicode: 'héllo 清風 😀',
};
// Large enough that zlib pays: the cookie starts with '.'.
const BIG = { history: Array.from({ length: 60 }, (_, i) => `/page/${i % 7}/`) };
const AUTH_LIKE = {
  _auth_user_id: '1',
  _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
  _auth_user_hash: '0'.repeat(64),
};

async function at<R>(seconds: number, fn: () => Promise<R> | R): Promise<R> {
  const restore = freeze_time(seconds * 1000);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The cookie value Tango's engine issues for `data` at `now`. */
function tango_cookie(data: Record<string, unknown>, now: number): Promise<string> {
  return at(now, async () => {
    const s = new SessionStore();
    s.update(data as Record<string, never>);
    await s.save();
    return s.session_key as string;
  });
}

/** What Tango's engine reads from a `sessionid` cookie, taken from a Cookie header as a request would. */
function tango_read(value: string, now: number): Promise<{ data: Record<string, unknown>; modified: boolean }> {
  return at(now, async () => {
    const request = new HttpRequest({ headers: { cookie: `csrftoken=x; sessionid=${value}` } });
    const s = new SessionStore(request.COOKIES.get('sessionid'));
    await s.preload();
    const data = Object.fromEntries(s.items());
    return { data, modified: s.modified };
  });
}

describe_with_django('signed_cookies sessions shared with Django 3.2', () => {
  const django = new Django({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });

  beforeEach(() => configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' }));

  test('the same data at the same instant gives the same cookie, byte for byte (compressed too)', async () => {
    for (const data of [DATA, BIG, {}]) {
      const [r] = await django.run([{ op: 'session_create', data, now: T }]);
      expect(await tango_cookie(data, T)).toBe(must(r).session_key);
    }
    expect((await tango_cookie(BIG, T)).startsWith('.')).toBe(true);
  });

  test('the Django-made vectors from both sides', async () => {
    const vectors: Array<[Record<string, unknown>, string]> = [
      [{ foo: 'bar' }, 'eyJmb28iOiJiYXIifQ:1r31eq:G3nF-6A7umrTwVW9UaDse_hl3e5_malOOkXed7pMs4g'],
      [AUTH_LIKE, '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOo2oBAo1QIAIvYyTQ:1r31eq:P111lGRLswbkO3-6PVGqLoonxdnlFAZ7tdfbaGm7Tg4'],
    ];
    const results = await django.run(vectors.map(([data]) => ({ op: 'session_create', data, now: T })));
    for (const [i, [data, vector]] of vectors.entries()) {
      expect(await tango_cookie(data, T)).toBe(vector);
      expect(must(results[i]).session_key).toBe(vector);
    }
  });

  test('a session cookie Django issued is accepted by Tango', async () => {
    const [a, b] = await django.run([
      { op: 'session_create', data: DATA, now: T },
      { op: 'session_create', data: BIG, now: T },
    ]);
    expect(await tango_read(must(a).session_key as string, T + 3600)).toEqual({ data: DATA, modified: false });
    expect(await tango_read(must(b).session_key as string, T + 3600)).toEqual({ data: BIG, modified: false });
  });

  test('a session cookie Tango issued is accepted by Django', async () => {
    const values = [await tango_cookie(DATA, T), await tango_cookie(BIG, T)];
    const [a, b] = await django.run(values.map((session_key) => ({ op: 'session_load', session_key, now: T + 3600 })));
    expect(must(a).data_json).toBe(py_json_dumps(DATA));
    expect(must(b).data_json).toBe(py_json_dumps(BIG));
  });

  test('SESSION_COOKIE_AGE bounds the cookie on both sides: accepted at exactly the age, reset one second later', async () => {
    const tango_value = await tango_cookie(DATA, T);
    const [dj] = await django.run([{ op: 'session_create', data: DATA, now: T }]);
    const django_value = must(dj).session_key as string;
    for (const value of [tango_value, django_value]) {
      const [fresh, stale] = await django.run([
        { op: 'session_load', session_key: value, now: T + AGE },
        { op: 'session_load', session_key: value, now: T + AGE + 1 },
      ]);
      expect(must(fresh).data_json).toBe(py_json_dumps(DATA));
      expect(must(stale).data).toEqual({});
      expect((await tango_read(value, T + AGE)).data).toEqual(DATA);
      // An unreadable cookie resets to an empty session that will be re-issued (modified).
      expect(await tango_read(value, T + AGE + 1)).toEqual({ data: {}, modified: true });
    }
  });

  test('a tampered cookie from either side is an empty session on both', async () => {
    const [dj] = await django.run([{ op: 'session_create', data: DATA, now: T }]);
    const tampered = [await tango_cookie(DATA, T), must(dj).session_key as string].map((v) => `${v.slice(0, 5)}${v[5] === 'A' ? 'B' : 'A'}${v.slice(6)}`);
    const results: Result[] = await django.run(tampered.map((session_key) => ({ op: 'session_load', session_key, now: T + 1 })));
    for (const [i, value] of tampered.entries()) {
      expect(must(results[i]).data).toEqual({});
      expect(await tango_read(value, T + 1)).toEqual({ data: {}, modified: true });
    }
  });

  test("through both SessionMiddlewares: the same Set-Cookie for the same request, and each side's cookie serves the other's next request", async () => {
    const login = { set: { user_id: 'zhiliao', cart: [1, 2] } };
    const [dj_login] = await django.run([{ op: 'middleware', ...login, now: T }]);
    const tg_login = await tango_session_request(login, T);
    // django/contrib/sessions/middleware.py: sessionid=<dumps>; expires=...; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax
    expect(tg_login.set_cookie).toEqual(must(dj_login).set_cookie);
    expect(tg_login.set_cookie.sessionid).toMatch(/^sessionid=[^;]+; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax$/);
    expect([tg_login.vary, dj_login.vary]).toEqual(['Cookie', 'Cookie']);

    // Django's cookie on Tango's next request, which changes the session...
    const cookie = cookie_pair((dj_login.set_cookie as Record<string, string>).sessionid);
    const tg_next = await tango_session_request({ cookie_header: cookie, set: { visits: 1 }, delete: ['cart'] }, T + 60);
    expect(tg_next.seen_json).toBe('{"user_id":"zhiliao","visits":1}');
    // ...and Tango's re-issued cookie on Django's next request, which logs out.
    const [dj_last] = await django.run([
      { op: 'middleware', cookie_header: cookie_pair(tg_next.set_cookie.sessionid), flush: true, now: T + 120 },
    ]);
    expect(must(dj_last).seen_json).toBe('{}');
    const deletion = 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';
    expect((dj_last.set_cookie as Record<string, string>).sessionid).toBe(deletion);
    const tg_last = await tango_session_request({ cookie_header: cookie_pair(tg_next.set_cookie.sessionid), flush: true }, T + 120);
    expect(tg_last.set_cookie.sessionid).toBe(deletion);
  });

  test('key rotation: a cookie Django signed with the old key opens under SECRET_KEY_FALLBACKS and is re-issued with the new key', async () => {
    const OLD = 'django-insecure-old-key';
    const NEW = 'django-insecure-new-key';
    const [old_cookie] = await new Django({ SECRET_KEY: OLD, SESSION_ENGINE: 'signed_cookies' }).run([{ op: 'session_create', data: DATA, now: T }]);
    configure({ SECRET_KEY: NEW, SECRET_KEY_FALLBACKS: [OLD], SESSION_ENGINE: 'signed_cookies' });
    expect((await tango_read(must(old_cookie).session_key as string, T + 1)).data).toEqual(DATA);
    const reissued = await at(T + 1, async () => {
      const s = new SessionStore(old_cookie.session_key as string);
      await s.preload();
      s.set('seen', true);
      await s.save();
      return s.session_key as string;
    });
    const expected = py_json_dumps({ ...DATA, seen: true });
    const [with_new] = await new Django({ SECRET_KEY: NEW, SESSION_ENGINE: 'signed_cookies' }).run([{ op: 'session_load', session_key: reissued, now: T + 2 }]);
    const [with_old] = await new Django({ SECRET_KEY: OLD, SESSION_ENGINE: 'signed_cookies' }).run([{ op: 'session_load', session_key: reissued, now: T + 2 }]);
    expect(must(with_new).data_json).toBe(expected);
    // Signed with the new key only: the old key no longer opens it.
    expect(must(with_old).data).toEqual({});
  });
});
