/**
 * The demo site over a real listening server with the test Client: the home
 * page, logging in and out (cycle_key, flush), the "who am I" page with its
 * expiry in TIME_ZONE, cookie paths, and escaping of everything a visitor
 * controls. Run for a server-side engine and for signed cookies.
 */
import { Client } from '@tango/core/testing';
import { User } from '@tango/auth';
import { urlpatterns } from '../urls';
import { post_form } from './csrf_forms';
import { configure_demo_site, demo_login, DEMO_PASSWORD, type DemoEngine } from './demo_site';

const INVALID_LOGIN = 'Please enter a correct username and password. Note that both fields may be case-sensitive.';

const XSS = '<script>alert(1)</script>';

describe.each<DemoEngine>(['db', 'signed_cookies'])('demo site on %s', (engine) => {
  let teardown: () => Promise<void>;
  let client: Client;

  beforeAll(async () => {
    teardown = await configure_demo_site(engine);
  });
  afterAll(() => teardown());
  beforeEach(() => {
    client = new Client();
  });
  afterEach(() => client.close());

  const login = (username: string, remember = true) => demo_login(client, username, { remember });
  /** The response's Set-Cookie line for `name`. */
  const line = (res: { set_cookies: string[] }, name: string) => res.set_cookies.find((l) => l.startsWith(`${name}=`));

  // The views that change the session only take POST: the home page offers them as form buttons.
  const POST_ONLY = ['/clear_session/', '/flush_session/', '/set_expiry/'];

  it('the home page links every view of the demo, and offers the state-changing ones as POST forms', async () => {
    const home = await client.get('/');
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const routes = urlpatterns.map((p) => `/${p.route}`).filter((r) => r !== '/' && r !== '/logout/');
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      if (route.includes('<')) {
        // A route that takes a value (the README tutorial's hello/<str:name>/) is shown as its pattern.
        expect(home.text).toContain(`<li><code>${route.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</code></li>`);
      } else if (POST_ONLY.includes(route)) {
        expect(home.text).toContain(`<form method="post" action="${route}"`);
        expect(home.text).not.toContain(`href="${route}`);
      } else {
        expect(home.text).toMatch(new RegExp(`href="${route.replace(/[.?]/g, '\\$&')}(\\?[^"]*)?"`));
      }
    }
  });

  it.each(POST_ONLY)('GET %s (a cross-site link) is refused with 405 and Allow: POST, and changes nothing', async (url) => {
    await login('alice');
    const key = client.cookies.get('sessionid')!.value;
    const res = await client.get(url);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.set_cookies).toEqual([]);
    expect(client.cookies.get('sessionid')!.value).toBe(key);
    expect((await client.get('/whoami/')).text).toContain('You are <strong>alice</strong>.');
  });

  it("login stores the user as Django's login() does, redirects to who-am-i and shows the user there", async () => {
    const form = await client.get('/login/');
    expect(form.text).toContain('<form method="post" action="/login/">');
    const res = await login('alice');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/whoami/');
    expect(line(res, 'sessionid')).toMatch(/^sessionid=[^;]+; expires=[^;]+; HttpOnly; Max-Age=1209600; Path=\/; SameSite=Lax$/);
    const page = await client.get('/whoami/');
    expect(page.text).toContain('<p id="user">You are <strong>alice</strong>.</p>');
    expect(page.text).toContain(`<dd id="engine"><code>@tango/sessions/backends/${engine}</code></dd>`);
    const alice = await User.get_by_natural_key('alice');
    expect(page.text).toContain(`<tr><td>_auth_user_id</td><td>&quot;${alice!.id}&quot;</td></tr>`);
    expect(page.text).toMatch(/<tr><td>sessionid<\/td><td>[^<]+<\/td><\/tr>/);
    const session = await client.session();
    expect([session.get('_auth_user_id'), session.get('_auth_user_backend'), session.get('_auth_user_hash')])
      .toEqual([String(alice!.id), 'django.contrib.auth.backends.ModelBackend', alice!.get_session_auth_hash()]);
  });

  it('following the redirect after login lands on who-am-i', async () => {
    const res = await post_form(client, '/login/', { username: 'alice', password: DEMO_PASSWORD, remember: '1' }, { follow: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('<h1>Who am I</h1>');
    expect(res.text).toContain('You are <strong>alice</strong>.');
  });

  it.each([
    ['an empty username', { username: '   ', password: DEMO_PASSWORD }],
    ['a wrong password', { username: 'alice', password: 'not it' }],
    ['an unknown user', { username: 'mallory', password: DEMO_PASSWORD }],
    ['no password', { username: 'alice' }],
  ])("%s re-shows the form with Django's error and logs nobody in", async (_what, form) => {
    const res = await post_form(client, '/login/', { ...form, remember: '1' });
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<p class="error" role="alert">${INVALID_LOGIN}</p>`);
    expect(line(res, 'sessionid')).toBeUndefined();
  });

  it('login_required sends a visitor to the login page with next=, and the login goes back there', async () => {
    const asked = await client.get('/account/');
    expect([asked.status, asked.headers.get('location')]).toEqual([302, '/login/?next=/account/']);
    const form = await client.get('/login/?next=/account/');
    expect(form.text).toContain('<input type="hidden" name="next" value="/account/">');
    const back = await post_form(client, '/login/', { username: 'alice', password: DEMO_PASSWORD, next: '/account/' });
    expect(back.headers.get('location')).toBe('/account/');
    const account = await client.get('/account/');
    expect(account.status).toBe(200);
    expect(account.text).toContain('<dt>Username</dt><dd>alice</dd>');
    expect(account.text).toContain('<dt>Email</dt><dd>alice@example.com</dd>');
  });

  it('a next= pointing to another site is ignored', async () => {
    const res = await post_form(client, '/login/', { username: 'alice', password: DEMO_PASSWORD, next: '/a/show/' });
    expect(res.headers.get('location')).toBe('/a/show/');
    const away = await post_form(client, '/login/', { username: 'alice', password: DEMO_PASSWORD, next: '//evil.example/' });
    expect(away.headers.get('location')).toBe('/whoami/');
  });

  it("the expiry date is shown in TIME_ZONE (Asia/Shanghai, UTC+8)", async () => {
    await login('alice');
    const before = Date.now();
    const page = await client.get('/whoami/');
    const m = /<time id="expiry" datetime="([^"]+)">([^<]+)<\/time>/.exec(page.text);
    expect(m).not.toBeNull();
    const [, iso, shown] = m!;
    const expiry = Date.parse(iso);
    expect(Math.abs(expiry - (before + 1209600 * 1000))).toBeLessThan(5000);
    // The wall clock in Shanghai is UTC + 8 h all year (no DST since 1991).
    const wall = new Date(expiry + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
    expect(shown).toBe(`${wall} GMT+8 (Asia/Shanghai)`);
  });

  it('without "remember me" the session cookie lasts until the browser closes', async () => {
    const res = await login('alice', false);
    expect(line(res, 'sessionid')).toMatch(/^sessionid=[^;]+; HttpOnly; Path=\/; SameSite=Lax$/);
    expect((await client.get('/whoami/')).text).toContain('<dd>when the browser closes</dd>');
  });

  it('login cycles the key: a key planted before login is dead afterwards (session fixation)', async () => {
    await client.get('/add_session/');
    const planted = client.cookies.get('sessionid')!.value;
    await login('alice');
    const issued = client.cookies.get('sessionid')!.value;
    expect(issued).not.toBe(planted);
    // cycle_key keeps the data the visitor had before logging in.
    expect((await client.get('/get_session/')).text).toBe('user_id: zhiliao');
    if (engine === 'db') {
      const attacker = new Client(await client.url());
      attacker.cookies.set('sessionid', planted);
      expect((await attacker.get('/whoami/')).text).toContain('You are not signed in.');
    }
  });

  it("logging in as someone else flushes the previous user's data first (django.contrib.auth.login)", async () => {
    await login('alice');
    await client.get('/add_session/');
    await login('bob');
    expect((await client.get('/get_session/')).text).toBe('user_id: (none)');
    expect((await client.get('/whoami/')).text).toContain('You are <strong>bob</strong>.');
  });

  it('logout (POST) flushes the session, deletes the cookie and redirects home; GET is refused', async () => {
    await login('alice');
    const key = client.cookies.get('sessionid')!.value;
    expect((await client.get('/logout/')).status).toBe(405);
    const res = await post_form(client, '/logout/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    expect(line(res, 'sessionid')).toBe('sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax');
    expect(client.cookies.get('sessionid')).toBeUndefined();
    expect((await client.get('/whoami/')).text).toContain('You are not signed in.');
    if (engine === 'db') {
      const replay = new Client(await client.url());
      replay.cookies.set('sessionid', key);
      expect((await replay.get('/whoami/')).text).toContain('You are not signed in.');
    }
  });

  it('a POST without the CSRF token is refused with 403 and logs nobody in', async () => {
    const res = await client.post('/login/', { username: 'mallory', remember: '1' });
    expect(res.status).toBe(403);
    expect(line(res, 'sessionid')).toBeUndefined();
    expect((await client.get('/whoami/')).text).toContain('You are not signed in.');
  });

  it('login shows a welcome message on the next page, once (django.contrib.messages)', async () => {
    const res = await login('alice');
    expect(line(res, 'messages')).toMatch(/^messages=[^;]+; HttpOnly; Path=\/; SameSite=Lax$/);
    const page = await client.get('/whoami/');
    expect(page.text).toContain('<ul class="messages"><li class="success" role="status">Welcome, alice. You are signed in.</li></ul>');
    // Shown: the cookie is deleted, and the next page has no message.
    expect(line(page, 'messages')).toMatch(/^messages=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\/; SameSite=Lax$/);
    expect((await client.get('/whoami/')).text).not.toContain('class="messages"');
  });

  it('logout shows "You have been logged out." on the home page it redirects to', async () => {
    await login('alice');
    await client.get('/whoami/');
    const res = await post_form(client, '/logout/', {}, { follow: true });
    expect(res.text).toContain('<li class="info" role="status">You have been logged out.</li>');
    expect(res.text).toContain('<a href="/login/">Log in</a>');
  });

  it('a message is text: a username full of HTML is escaped in it', async () => {
    if (!(await User.get_by_natural_key(XSS))) await User.create_user(XSS, '', DEMO_PASSWORD);
    await login(XSS);
    const page = await client.get('/whoami/');
    expect(page.text).toContain('Welcome, &lt;script&gt;alert(1)&lt;/script&gt;. You are signed in.');
    expect(page.text).not.toContain('<script>alert');
  });

  it('a username full of HTML is shown as text on every page, never as markup', async () => {
    if (!(await User.get_by_natural_key(XSS))) await User.create_user(XSS, '', DEMO_PASSWORD);
    await login(XSS);
    for (const url of ['/', '/whoami/', '/a/show/']) {
      const page = await client.get(url);
      expect(page.text).not.toContain('<script>alert');
      expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    // The form keeps what was typed, escaped inside the attribute.
    const again = await post_form(client, '/login/', { username: `${'x'.repeat(151)}"><b>` });
    expect(again.text).toContain('value="xxx');
    expect(again.text).toContain('&quot;&gt;&lt;b&gt;"');
    expect(again.text).not.toContain('"><b>');
  });

  it('cookie names and values a browser sends are escaped too', async () => {
    client.cookies.set('evil', '<img src=x onerror=alert(1)>');
    for (const url of ['/whoami/', '/b/show/']) {
      const page = await client.get(url);
      expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(page.text).not.toContain('<img');
    }
  });

  it("a cookie set with path='/a/' comes back to /a/ only", async () => {
    const set = await client.get('/a/set/');
    expect(set.set_cookies).toEqual(['under_a=only-under-a; Path=/a/']);
    expect((await client.get('/a/show/')).text).toContain('<code>under_a</code> was sent to <code>/a/show/</code>');
    expect((await client.get('/b/show/')).text).toContain('<code>under_a</code> was not sent to <code>/b/show/</code>');
  });
});
