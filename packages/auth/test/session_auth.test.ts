/**
 * login(), logout(), get_user(), update_session_auth_hash() and
 * login_required through the real middleware stack (sessions on the db
 * engine, CSRF, auth) and a listening server, on SQLite and PostgreSQL.
 */
import { configure } from '../../core/conf';
import { get_connection } from '../../core/db';
import { HttpResponse, JsonResponse } from '../../core/http/response';
import { HttpRequest } from '../../core/http/request';
import { capture_logs, set_stderr_logging } from '../../core/log';
import { build_handler, import_middleware } from '../../core/middleware';
import { CsrfViewMiddleware } from '../../core/middleware/csrf';
import { Client } from '../../core/testing/client';
import { path } from '../../core/urls';
import { SessionMiddleware } from '../../sessions/middleware';
import { AuthenticationMiddleware } from '../middleware';
import { User, type AnyUser } from '../models';
import {
  authenticate, BACKEND_SESSION_KEY, HASH_SESSION_KEY, login, logout, SESSION_KEY, update_session_auth_hash,
} from '../session_auth';
import { login_required } from '../decorators';
import { user_login_failed } from '../signals';
import { force_login } from '../testing';
import { databases, reconfigure, with_database, TEST_SECRET_KEY } from './helpers';

const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend';

function describe_user(u: AnyUser): Record<string, unknown> {
  return { authenticated: u.is_authenticated, username: u.get_username(), id: u.id };
}

const urlpatterns = [
  path('login/', async (request: HttpRequest) => {
    const user = await authenticate(request, { username: request.GET.get('username'), password: request.GET.get('password') });
    if (user === null) return new HttpResponse('bad credentials', { status: 401 });
    await login(request, user);
    return new JsonResponse(describe_user(request.user));
  }),
  path('logout/', async (request: HttpRequest) => {
    await logout(request);
    return new JsonResponse(describe_user(request.user));
  }),
  path('whoami/', async (request: HttpRequest) => new JsonResponse(describe_user(await request.auser()))),
  path('sync-user/', (request: HttpRequest) => new JsonResponse(describe_user(request.user))),
  path('private/', login_required((request: HttpRequest) => new JsonResponse(describe_user(request.user)))),
  path('plain/', () => new HttpResponse('no user read')),
  path('session-set/', (request: HttpRequest) => {
    request.session.set('cart', request.GET.get('cart'));
    return new HttpResponse('ok');
  }),
  path('session-get/', (request: HttpRequest) => new JsonResponse({ cart: request.session.get('cart') ?? null })),
  path('change-password/', async (request: HttpRequest) => {
    const user = await request.auser();
    if (!(user instanceof User)) return new HttpResponse('no', { status: 403 });
    await user.set_password(request.GET.get('password') ?? '');
    await user.save();
    await update_session_auth_hash(request, user);
    return new HttpResponse('changed');
  }),
];

const middleware = [SessionMiddleware, CsrfViewMiddleware, AuthenticationMiddleware];

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

describe.each(databases())('auth sessions on %s', (_name, make) => {
  with_database(make, { SESSION_ENGINE: 'db' });
  let client: Client;
  let zhiliao: User;

  beforeEach(async () => {
    zhiliao = await User.create_user('zhiliao', 'zhi@example.com', 'correct horse');
    client = new Client({ urlpatterns, middleware });
  });
  afterEach(async () => client.close());

  async function session_data(c: Client = client): Promise<Record<string, unknown>> {
    return Object.fromEntries((await c.session()).items());
  }

  describe('authenticate()', () => {
    it('returns the user and names the backend that accepted them', async () => {
      const user = await authenticate(null, { username: 'zhiliao', password: 'correct horse' });
      expect(user?.id).toBe(zhiliao.id);
      expect(user?.backend).toBe(MODEL_BACKEND);
    });

    it('refuses a wrong password, an unknown user and an inactive user; user_login_failed hides the password', async () => {
      const failed: Array<Record<string, unknown>> = [];
      const off = user_login_failed.connect(({ credentials }) => void failed.push(credentials));
      try {
        expect(await authenticate(null, { username: 'zhiliao', password: 'wrong' })).toBeNull();
        expect(await authenticate(null, { username: 'nobody', password: 'x' })).toBeNull();
        zhiliao.is_active = false;
        await zhiliao.save();
        expect(await authenticate(null, { username: 'zhiliao', password: 'correct horse' })).toBeNull();
      } finally {
        off();
      }
      expect(failed[0]).toEqual({ username: 'zhiliao', password: '********************' });
      expect(failed).toHaveLength(3);
    });

    it('a stored hash in a format Tango does not know: the login fails with a logged reason, not an error page', async () => {
      zhiliao.password = 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';
      await zhiliao.save();
      const logs = capture_logs();
      let r;
      try {
        r = await client.get('/login/?username=zhiliao&password=correct%20horse');
      } finally {
        logs.stop();
      }
      expect([r.status, r.text]).toEqual([401, 'bad credentials']);
      expect(logs.records.map((l) => l.msg)).toEqual([
        "Password check failed: Unknown password hashing algorithm 'argon2'. Did you specify it in the PASSWORD_HASHERS setting?",
      ]);
    });

    it('AllowAllUsersModelBackend lets an inactive user in', async () => {
      reconfigure({
        SESSION_ENGINE: 'db', AUTHENTICATION_BACKENDS: ['django.contrib.auth.backends.AllowAllUsersModelBackend'],
      });
      zhiliao.is_active = false;
      await zhiliao.save();
      expect((await authenticate(null, { username: 'zhiliao', password: 'correct horse' }))?.backend)
        .toBe('django.contrib.auth.backends.AllowAllUsersModelBackend');
    });
  });

  describe('login()', () => {
    it("stores Django's three keys, cycles the session key, rotates the CSRF token and sets last_login", async () => {
      await client.get('/session-set/?cart=apples');
      const before = client.cookies.get('sessionid')?.value;
      await client.get('/whoami/'); // an anonymous request makes no CSRF cookie; get one to see it rotate
      const r = await client.get('/login/?username=zhiliao&password=correct%20horse');
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ authenticated: true, username: 'zhiliao', id: zhiliao.id });
      expect(client.cookies.get('sessionid')?.value).not.toBe(before);
      expect(r.set_cookies.some((c) => c.startsWith('csrftoken='))).toBe(true);
      const data = await session_data();
      expect(data).toEqual({
        cart: 'apples',
        [SESSION_KEY]: String(zhiliao.id),
        [BACKEND_SESSION_KEY]: MODEL_BACKEND,
        [HASH_SESSION_KEY]: zhiliao.get_session_auth_hash(),
      });
      const fresh = await User.get_by_id(zhiliao.id as number);
      expect(fresh?.last_login).toBeInstanceOf(Date);
      expect(Math.abs((fresh?.last_login as Date).getTime() - Date.now())).toBeLessThan(60_000);
    });

    it("flushes a session that belonged to another user (nothing of theirs carries over)", async () => {
      await User.create_user('other', '', 'pw');
      await client.get('/login/?username=other&password=pw');
      await client.get('/session-set/?cart=theirs');
      await client.get('/login/?username=zhiliao&password=correct%20horse');
      const data = await session_data();
      expect(data.cart).toBeUndefined();
      expect(data[SESSION_KEY]).toBe(String(zhiliao.id));
    });

    it('a second login of the same user keeps the session as it is (no flush, no new key), as Django', async () => {
      await client.get('/login/?username=zhiliao&password=correct%20horse');
      await client.get('/session-set/?cart=mine');
      const key = client.cookies.get('sessionid')?.value;
      await client.get('/login/?username=zhiliao&password=correct%20horse');
      expect(client.cookies.get('sessionid')?.value).toBe(key);
      expect((await session_data()).cart).toBe('mine');
    });
  });

  describe('request.user and request.auser()', () => {
    it('auser() is the signed-in user on later requests, and AnonymousUser without a session', async () => {
      expect((await client.get('/whoami/')).json()).toEqual({ authenticated: false, username: '', id: null });
      await force_login(client, zhiliao);
      expect((await client.get('/whoami/')).json()).toEqual({ authenticated: true, username: 'zhiliao', id: zhiliao.id });
    });

    it('request.user is readable synchronously in any view: signed in, without a cookie, and with a session naming nobody', async () => {
      expect((await client.get('/sync-user/')).json()).toEqual({ authenticated: false, username: '', id: null });
      await client.get('/session-set/?cart=3');
      expect((await client.get('/sync-user/')).json()).toEqual({ authenticated: false, username: '', id: null });
      await force_login(client, zhiliao);
      expect((await client.get('/sync-user/')).json()).toEqual({ authenticated: true, username: 'zhiliao', id: zhiliao.id });
    });

    /** The SQL statements run while `fn` runs. */
    async function queries_during(fn: () => Promise<unknown>): Promise<string[]> {
      const queries: string[] = [];
      const knex = get_connection();
      const listen = (q: { sql: string }) => void queries.push(q.sql);
      knex.on('query', listen);
      try {
        await fn();
      } finally {
        knex.removeListener('query', listen);
      }
      return queries;
    }

    it('an anonymous request costs no query: none at all without a cookie, no auth_user query with a session naming nobody', async () => {
      // The db session engine would query django_session if the session store were asked.
      expect(await queries_during(async () => {
        expect((await client.get('/sync-user/')).json()).toMatchObject({ authenticated: false });
        expect((await client.get('/plain/')).text).toBe('no user read');
      })).toEqual([]);
      await client.get('/session-set/?cart=3');
      const during = await queries_during(async () => {
        expect((await client.get('/sync-user/')).json()).toMatchObject({ authenticated: false });
      });
      expect(during.filter((q) => q.includes('auth_user'))).toEqual([]);
      expect(during.filter((q) => q.includes('django_session'))).toHaveLength(1);
    });

    it('a signed-in request costs one primary-key query on auth_user, whether the view reads the user or not', async () => {
      await force_login(client, zhiliao);
      for (const url of ['/plain/', '/sync-user/', '/whoami/']) {
        const during = await queries_during(() => client.get(url));
        expect([url, during.filter((q) => q.includes('auth_user'))]).toEqual([url, [expect.stringMatching(/where [`"]id[`"] = (\?|\$1)/)]]);
      }
    });

    it('reading request.user makes the response vary on Cookie, as Django; a page that does not read it does not', async () => {
      expect((await client.get('/sync-user/')).headers.get('vary')).toBe('Cookie');
      await force_login(client, zhiliao);
      expect((await client.get('/plain/')).headers.get('vary')).toBeNull();
      expect((await client.get('/sync-user/')).headers.get('vary')).toBe('Cookie');
    });

    it('an anonymous request to a page that does not read the user touches no session either', async () => {
      const r = await client.get('/plain/');
      expect(r.set_cookies).toEqual([]);
      expect(r.headers.get('vary')).toBeNull();
    });
  });

  describe('the session auth hash, checked on every request', () => {
    it('a password changed elsewhere ends the session: flushed, cookie deleted, reason logged', async () => {
      await client.get('/login/?username=zhiliao&password=correct%20horse');
      const u = await User.get_by_id(zhiliao.id as number);
      await u!.set_password('new password');
      await u!.save();
      const logs = capture_logs();
      let r;
      try {
        r = await client.get('/whoami/');
      } finally {
        logs.stop();
      }
      expect(r.json()).toEqual({ authenticated: false, username: '', id: null });
      expect(r.set_cookies.some((c) => /^sessionid="";.*Max-Age=0/.test(c))).toBe(true);
      expect(logs.records.map((l) => l.msg)).toEqual([expect.stringMatching(/^Session auth hash does not match/)]);
    });

    it.each([
      ['a forged hash', { [HASH_SESSION_KEY]: 'f'.repeat(64) }, /auth hash does not match/, true],
      ['no hash', { [HASH_SESSION_KEY]: undefined }, /auth hash does not match/, true],
      ['a user that does not exist', { [SESSION_KEY]: '999999' }, /does not exist or is inactive/, false],
      ['an id beyond the id column', { [SESSION_KEY]: '99999999999' }, /does not exist or is inactive/, false],
      ['an id that is no number', { [SESSION_KEY]: 'admin' }, /not a number/, false],
      ['a backend that is not configured', { [BACKEND_SESSION_KEY]: 'myapp.backends.Evil' }, /not in AUTHENTICATION_BACKENDS/, false],
    ])('%s: AnonymousUser and a logged reason, never an error page', async (_what, change, reason, flushed) => {
      await force_login(client, zhiliao);
      const session = await client.session();
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) session.delete(k);
        else session.set(k, v);
      }
      await session.save();
      const logs = capture_logs();
      let r;
      try {
        r = await client.get('/whoami/');
      } finally {
        logs.stop();
      }
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ authenticated: false, username: '', id: null });
      expect(logs.records.map((l) => l.msg)).toEqual([expect.stringMatching(reason)]);
      expect(r.set_cookies.some((c) => c.startsWith('sessionid=""'))).toBe(flushed);
    });

    it('a hash made under a SECRET_KEY_FALLBACKS key is accepted and moved to the current key (new session key)', async () => {
      reconfigure({ SESSION_ENGINE: 'db', SECRET_KEY: 'old-key' });
      await force_login(client, zhiliao);
      const old_key = client.cookies.get('sessionid')?.value;
      reconfigure({ SESSION_ENGINE: 'db', SECRET_KEY: TEST_SECRET_KEY, SECRET_KEY_FALLBACKS: ['old-key'] });
      expect((await client.get('/whoami/')).json()).toMatchObject({ authenticated: true });
      expect(client.cookies.get('sessionid')?.value).not.toBe(old_key);
      expect((await session_data())[HASH_SESSION_KEY]).toBe(zhiliao.get_session_auth_hash());
    });

    it('update_session_auth_hash keeps this session signed in and ends the user’s other sessions', async () => {
      const other = new Client({ urlpatterns, middleware });
      try {
        await client.get('/login/?username=zhiliao&password=correct%20horse');
        await other.get('/login/?username=zhiliao&password=correct%20horse');
        expect((await client.get('/change-password/?password=brand%20new')).text).toBe('changed');
        expect((await client.get('/whoami/')).json()).toMatchObject({ authenticated: true });
        expect((await other.get('/whoami/')).json()).toMatchObject({ authenticated: false });
      } finally {
        await other.close();
      }
    });
  });

  describe('logout()', () => {
    it('flushes the session: the next request is anonymous and the old key is gone', async () => {
      await client.get('/login/?username=zhiliao&password=correct%20horse');
      const key = client.cookies.get('sessionid')?.value;
      const r = await client.get('/logout/');
      expect(r.json()).toEqual({ authenticated: false, username: '', id: null });
      expect((await client.get('/whoami/')).json()).toMatchObject({ authenticated: false });
      const rows = await get_connection()('django_session').where('session_key', key as string);
      expect(rows).toEqual([]);
    });
  });

  describe('login_required', () => {
    it('redirects a signed-out visitor to LOGIN_URL with next= encoded as Django encodes it', async () => {
      const r = await client.get('/private/?a=1&b=x%20y');
      expect(r.status).toBe(302);
      expect(r.headers.get('location')).toBe('/accounts/login/?next=/private/%3Fa%3D1%26b%3Dx%2520y');
    });

    it('lets a signed-in user through, with request.user readable synchronously', async () => {
      await force_login(client, zhiliao);
      const r = await client.get('/private/');
      expect([r.status, r.json()]).toEqual([200, { authenticated: true, username: 'zhiliao', id: zhiliao.id }]);
    });

    it('honours LOGIN_URL as a path with a query, or a full URL on another host (then next is absolute)', async () => {
      reconfigure({ SESSION_ENGINE: 'db', LOGIN_URL: '/signin/?lang=en', ALLOWED_HOSTS: ['*'] });
      expect((await client.get('/private/')).headers.get('location')).toBe('/signin/?lang=en&next=/private/');
      reconfigure({ SESSION_ENGINE: 'db', LOGIN_URL: 'https://sso.example.com/login/', ALLOWED_HOSTS: ['*'] });
      const location = (await client.get('/private/')).headers.get('location') as string;
      expect(location).toMatch(/^https:\/\/sso\.example\.com\/login\/\?next=http%3A\/\/127\.0\.0\.1%3A\d+\/private\/$/);
    });
  });
});

describe('installing the middleware', () => {
  it("Django's dotted name in MIDDLEWARE is this middleware", () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY });
    expect(import_middleware('django.contrib.auth.middleware.AuthenticationMiddleware')).toBe(AuthenticationMiddleware);
    expect(import_middleware('@tango/auth/middleware')).toBe(AuthenticationMiddleware);
  });

  it.each([
    ['an unknown backend', { AUTHENTICATION_BACKENDS: ['myapp.NoSuchBackend'] }, "Invalid setting AUTHENTICATION_BACKENDS entry 'myapp.NoSuchBackend'"],
    ['a hasher Tango does not have', { PASSWORD_HASHERS: ['django.contrib.auth.hashers.Argon2PasswordHasher'] }, "Invalid setting PASSWORD_HASHERS entry 'django.contrib.auth.hashers.Argon2PasswordHasher'"],
  ])('%s stops start-up with one line naming the setting', (_what, bad, message) => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, ...bad });
    expect(() => build_handler(async () => new HttpResponse('ok'), [SessionMiddleware, AuthenticationMiddleware])).toThrow(message);
  });

  it('without the session middleware before it, a request fails saying which middleware is missing', async () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY });
    const handler = AuthenticationMiddleware(async () => new HttpResponse('ok'));
    await expect(handler(new HttpRequest())).rejects.toThrow("AuthenticationMiddleware needs the session middleware: list '@tango/sessions/middleware' in MIDDLEWARE before '@tango/auth/middleware'.");
  });

  it('without it, request.user says which middleware is missing', () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY });
    expect(() => new HttpRequest().user).toThrow("request.user needs AuthenticationMiddleware: add '@tango/auth/middleware' to MIDDLEWARE");
  });
});
