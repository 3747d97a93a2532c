/**
 * The demo site clicked through in a real browser: Debian's chromium driven by
 * playwright-core (never a downloaded browser) against a real listening
 * server on the db engine (SQLite), with the project's CsrfViewMiddleware.
 * A browser, not our cookie jar, decides here what HttpOnly, Path, a missing
 * expiry and a cross-site form post mean. Every page visited is
 * saved as a PNG under test-output/browser/.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { create_app } from '@tango/core';
import { capture_logs } from '@tango/core/testing';
import { User } from '@tango/auth';
import { configure_demo_site, DEMO_PASSWORD, ROOT } from './demo_site';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-output', 'browser');
const XSS = '<script>alert(1)</script>';

// Each test drives several page loads in a software-rendering browser.
jest.setTimeout(60_000);

// As describe_with does for services: skip with a printed reason, but never under CI.
const have_chromium = fs.existsSync(CHROMIUM);
if (!have_chromium && process.env.REQUIRE_SERVICES === '1') {
  describe('browser tests', () => {
    it("need Debian's chromium", () => {
      throw new Error(`${CHROMIUM} is missing but REQUIRE_SERVICES=1: install it with apt-get install -y chromium.`);
    });
  });
} else if (!have_chromium) {
  process.stdout.write(`skipping browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)\n`);
}

// A conditional skip, allowed only because the browser is absent (and never under CI).
(have_chromium ? describe : describe.skip)('demo site in chromium', () => {
  let teardown: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dialogs: string[];

  beforeAll(async () => {
    // Only this run's pages: a renamed test leaves no stale picture behind.
    fs.rmSync(SHOTS, { recursive: true, force: true });
    fs.mkdirSync(SHOTS, { recursive: true });
    // The project's MIDDLEWARE (settings.ts): sessions, CSRF protection, authentication, messages.
    teardown = await configure_demo_site('db');
    await User.create_user(XSS, '', DEMO_PASSWORD);
    app = await create_app();
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await teardown?.();
  });

  // One browser profile; each test starts with no cookies and a new tab.
  beforeEach(async () => {
    context ??= await browser.newContext({ baseURL: base });
    context.setDefaultTimeout(10_000);
    await context.clearCookies();
    page = await context.newPage();
    dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  afterEach(() => page.close());

  let shot = 0;
  async function screenshot(name: string): Promise<void> {
    const test = expect.getState().currentTestName ?? 'test';
    const slug = `${test} ${++shot} ${name === '/' ? 'home' : name}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    await page.screenshot({ path: path.join(SHOTS, `${slug}.png`), fullPage: true });
  }

  async function visit(url: string): Promise<void> {
    const res = await page.goto(url);
    expect(res?.status()).toBeLessThan(400);
    await screenshot(url);
  }

  async function follow_link(href: string): Promise<void> {
    await Promise.all([page.waitForURL(new URL(href, base).href), page.click(`a[href="${href}"]`)]);
    await screenshot(href);
  }

  /** Submits one of the home page's POST forms (the views that change the session). */
  async function press(action: string, label: string): Promise<void> {
    await Promise.all([page.waitForURL(new URL(action, base).href), page.click(`form[action="${action}"] button:has-text("${label}")`)]);
    await screenshot(`POST ${action} ${label}`);
  }

  const body = () => page.locator('body').innerText();
  const cookie = async (name: string) => (await context.cookies()).find((c) => c.name === name);

  async function log_in(username: string, remember = true): Promise<void> {
    await visit('/login/');
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', DEMO_PASSWORD);
    if (!remember) await page.uncheck('input[name="remember"]');
    await Promise.all([page.waitForURL(`${base}/whoami/`), page.click('button:has-text("Log in")')]);
    await screenshot('after login');
  }

  it('sets, reads and deletes a cookie by clicking through the tutorial views', async () => {
    await visit('/');
    await follow_link('/add_cookie/');
    expect(await body()).toContain('设置cookie');
    expect((await cookie('username'))?.value).toBe('zhiliao');
    await visit('/');
    await follow_link('/get_cookie/');
    expect(await body()).toContain('username: zhiliao');
    await visit('/');
    await follow_link('/delete_cookie/');
    expect(await cookie('username')).toBeUndefined();
    await visit('/');
    await follow_link('/get_cookie/');
    expect(await body()).toContain('username: (none)');
  });

  it('logs in and out, with a message after each, shown once', async () => {
    await log_in('alice');
    expect(await page.locator('ul.messages li.success').innerText()).toBe('Welcome, alice. You are signed in.');
    expect(await page.locator('#user').innerText()).toBe('You are alice.');
    expect(await page.locator('#engine').innerText()).toBe('@tango/sessions/backends/db');
    expect(await page.locator('nav .user').innerText()).toBe('alice');
    const session = await cookie('sessionid');
    expect(session?.value).toMatch(/^[a-z0-9]{32}$/);
    await Promise.all([page.waitForURL(`${base}/`), page.click('button:has-text("Log out")')]);
    await screenshot('after logout');
    expect(await page.locator('ul.messages li.info').innerText()).toBe('You have been logged out.');
    expect(await page.locator('nav a[href="/login/"]').count()).toBe(1);
    expect(await cookie('sessionid')).toBeUndefined();
    await visit('/whoami/');
    expect(await page.locator('#user').innerText()).toBe('You are not signed in.');
    expect(await page.locator('ul.messages').count()).toBe(0);
    expect(await cookie('messages')).toBeUndefined();
  });

  it('a link on another site to /flush_session/ gets 405 and leaves the user signed in; the home page button flushes', async () => {
    await log_in('alice');
    const key = (await cookie('sessionid'))?.value;
    // Another site (localhost is not 127.0.0.1 to the browser) linking to the demo. A SameSite=Lax
    // cookie is sent on a top-level GET from another site, so only the method protects the view.
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<a id="go" href="${base}/flush_session/">win a prize</a>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      await page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      const [res] = await Promise.all([page.waitForResponse(`${base}/flush_session/`), page.click('#go')]);
      expect(res.status()).toBe(405);
      expect(res.headers().allow).toBe('POST');
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
    expect((await cookie('sessionid'))?.value).toBe(key);
    await visit('/whoami/');
    expect(await page.locator('#user').innerText()).toBe('You are alice.');
    await visit('/');
    await press('/flush_session/', 'POST /flush_session/');
    expect(await body()).toContain('session flushed');
    expect(await cookie('sessionid')).toBeUndefined();
  });

  it('document.cookie shows username but not the HttpOnly session cookie, which is still sent', async () => {
    await log_in('alice');
    await visit('/add_cookie/');
    await visit('/whoami/');
    const visible = await page.evaluate<string>('document.cookie');
    expect(visible).toContain('username=zhiliao');
    expect(visible).not.toContain('sessionid');
    expect((await cookie('sessionid'))?.httpOnly).toBe(true);
    expect((await cookie('username'))?.httpOnly).toBe(false);
    // The server did receive it: the page lists the cookies of this request.
    expect(await page.locator('#cookies').innerText()).toMatch(/sessionid\s+[a-z0-9]{32}/);
  });

  it("a cookie set with path='/a/' is sent to /a/show/ and not to /b/show/", async () => {
    await visit('/');
    await follow_link('/a/set/');
    expect((await cookie('under_a'))?.path).toBe('/a/');
    await follow_link('/a/show/');
    expect(await page.locator('#verdict').innerText()).toBe('under_a was sent to /a/show/.');
    expect(await page.evaluate<string>('document.cookie')).toContain('under_a=only-under-a');
    await page.goBack();
    await follow_link('/b/show/');
    expect(await page.locator('#verdict').innerText()).toBe('under_a was not sent to /b/show/.');
    expect(await page.evaluate<string>('document.cookie')).not.toContain('under_a');
  });

  it('set_expiry(0) gives a cookie without expiry; otherwise it expires at the session age', async () => {
    await visit('/');
    await press('/set_expiry/', 'seconds=0');
    expect((await cookie('sessionid'))?.expires).toBe(-1);
    await visit('/');
    await press('/set_expiry/', 'seconds=60');
    expect(Math.abs((await cookie('sessionid'))!.expires - (Date.now() / 1000 + 60))).toBeLessThan(10);
    await context.clearCookies();
    await log_in('bob', false);
    expect((await cookie('sessionid'))?.expires).toBe(-1);
    expect(await body()).toContain('when the browser closes');
    await log_in('bob', true);
    expect(Math.abs((await cookie('sessionid'))!.expires - (Date.now() / 1000 + 1209600))).toBeLessThan(10);
  });

  it('a wrong password shows Django\'s error on the form and signs nobody in', async () => {
    await visit('/login/');
    await page.fill('input[name="username"]', 'alice');
    await page.fill('input[name="password"]', 'not the password');
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Log in")')]);
    await screenshot('wrong password');
    expect(await page.locator('p.error').innerText()).toBe('Please enter a correct username and password. Note that both fields may be case-sensitive.');
    expect(await cookie('sessionid')).toBeUndefined();
  });

  it('a page for signed-in users sends a visitor to log in, then back to it', async () => {
    await visit('/account/');
    expect(page.url()).toBe(`${base}/login/?next=/account/`);
    await page.fill('input[name="username"]', 'carol');
    await page.fill('input[name="password"]', DEMO_PASSWORD);
    await Promise.all([page.waitForURL(`${base}/account/`), page.click('button:has-text("Log in")')]);
    await screenshot('account');
    expect(await page.locator('#account').innerText()).toContain('carol@example.com');
  });

  it('a username made of HTML shows as text and runs nothing', async () => {
    await log_in(XSS);
    expect(await page.locator('#user').innerText()).toBe(`You are ${XSS}.`);
    expect(await page.locator('#user script').count()).toBe(0);
    await visit('/');
    expect(await page.locator('nav .user').innerText()).toBe(XSS);
    expect(dialogs).toEqual([]);
  });

  describe('CSRF', () => {
    /** Another web site: one page whose form posts to the demo's /login/ as soon as it loads. */
    async function attacker_site(): Promise<{ url: (host: string) => string; close: () => Promise<void> }> {
      const page_html = `<!doctype html><html><body>
<form id="f" method="post" action="${base}/login/"><input name="username" value="mallory"><input name="remember" value="1"></form>
<script>document.getElementById('f').submit()</script></body></html>`;
      const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page_html));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return {
        url: (host) => `http://${host}:${port}/`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    }

    async function forged_post(from: string): Promise<number> {
      const posted = page.waitForResponse((r) => r.url() === `${base}/login/` && r.request().method() === 'POST');
      await page.goto(from);
      const res = await posted;
      await page.waitForLoadState();
      await screenshot('forged post');
      return res.status();
    }

    it('the forms carry the token; the same-site login form works and rotates the token', async () => {
      await visit('/login/');
      const token = await page.locator('form[action="/login/"] input[name="csrfmiddlewaretoken"]').getAttribute('value');
      expect(token).toMatch(/^[a-zA-Z0-9]{64}$/);
      const before = (await cookie('csrftoken'))?.value;
      expect(before).toMatch(/^[a-zA-Z0-9]{32}$/);
      await log_in('alice');
      expect(await page.locator('nav .user').innerText()).toBe('alice');
      expect((await cookie('csrftoken'))?.value).not.toBe(before);
      expect(await page.locator('form[action="/logout/"] input[name="csrfmiddlewaretoken"]').count()).toBe(1);
    });

    it('a form on another site posting to /login/ is refused with 403 and logs nobody in', async () => {
      const evil = await attacker_site();
      const logs = capture_logs();
      try {
        // The visitor has been to the demo: the browser holds its csrftoken cookie.
        await visit('/login/');
        // Another port of the same host: same-site, so the cookie goes along; the Origin does not match.
        expect(await forged_post(evil.url('127.0.0.1'))).toBe(403);
        expect(await body()).toContain('CSRF verification failed. Request aborted.');
        const port = new URL(evil.url('127.0.0.1')).port;
        expect(logs.records.map((r) => r.msg)).toContain(`Forbidden (Origin checking failed - http://127.0.0.1:${port} does not match any trusted origins.): /login/`);
        // Another site altogether (localhost vs 127.0.0.1): SameSite=Lax keeps the cookies home too.
        expect(await forged_post(evil.url('localhost'))).toBe(403);
        expect(logs.records.map((r) => r.msg)).toContain(`Forbidden (Origin checking failed - http://localhost:${port} does not match any trusted origins.): /login/`);
        await visit('/whoami/');
        expect(await page.locator('#user').innerText()).toBe('You are not signed in.');
        expect(await cookie('sessionid')).toBeUndefined();
      } finally {
        logs.stop();
        await evil.close();
      }
    });
  });
});
