/**
 * django/views/decorators/csrf.py over a real listening server, on a site
 * without CsrfViewMiddleware: csrf_protect refuses as the middleware would,
 * requires_csrf_token lets the view render a token and refuses nothing,
 * ensure_csrf_cookie always sends the cookie. Also with the middleware in
 * MIDDLEWARE, where the cookie is sent once and the check runs once.
 */
import {
  configure, csrf_input, csrf_protect, ensure_csrf_cookie, get_token, HttpResponse, path, requires_csrf_token, type HttpRequest,
} from '@tango/core';
import { Client, capture_logs, override_settings } from '@tango/core/testing';

const protected_form = csrf_protect(function protected_form(request: HttpRequest, id: number) {
  if (request.method === 'POST') return new HttpResponse(`saved ${id}`);
  return new HttpResponse(csrf_input(request).toString());
});
const lenient = requires_csrf_token((request: HttpRequest) => new HttpResponse(`token ${get_token(request)} via ${request.method}`));
const spa_shell = ensure_csrf_cookie(() => new HttpResponse('<div id="app"></div>'));
const unprotected = (request: HttpRequest) => new HttpResponse(`unprotected ${request.method}`);

const urlpatterns = [
  path('form/<int:id>/', protected_form),
  path('lenient/', lenient),
  path('shell/', spa_shell),
  path('unprotected/', unprotected),
];

const BASE = { SECRET_KEY: 'csrf-decorators-secret', DEBUG: true, MIDDLEWARE: [] };
const COOKIE = /^csrftoken=([a-zA-Z0-9]{32}); expires=[^;]+ GMT; Max-Age=31449600; Path=\/; SameSite=Lax$/;

describe('CSRF decorators without CsrfViewMiddleware', () => {
  let client: Client;
  let logs: ReturnType<typeof capture_logs>;
  beforeAll(() => configure(BASE));
  beforeEach(() => {
    client = new Client({ urlpatterns });
    logs = capture_logs();
  });
  afterEach(async () => {
    logs.stop();
    await client.close();
  });

  const security = () => logs.records.filter((r) => r.name === 'tango.security.csrf').map((r) => r.msg);

  it('a view without a decorator is not protected here (no middleware)', async () => {
    expect((await client.post('/unprotected/', { a: '1' })).text).toBe('unprotected POST');
  });

  it('csrf_protect: the form renders a token and sends the cookie; its POST needs the token', async () => {
    const page = await client.get('/form/7/');
    expect(page.set_cookies[0]).toMatch(COOKIE);
    expect(page.headers.get('vary')).toBe('Cookie');
    const token = /name="csrfmiddlewaretoken" value="([a-zA-Z0-9]{64})"/.exec(page.text)?.[1] as string;
    expect(token).toBeDefined();
    const ok = await client.post('/form/7/', { csrfmiddlewaretoken: token });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('saved 7');
  });

  it('csrf_protect refuses a POST without the token with Django\'s reason, logged', async () => {
    await client.get('/form/7/');
    const refused = await client.post('/form/7/', { title: 'x' });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('<pre id="reason">CSRF token missing.</pre>');
    expect(security()).toEqual(['Forbidden (CSRF token missing.): /form/7/']);
    const fresh = new Client({ urlpatterns });
    try {
      const no_cookie = await fresh.post('/form/7/', { csrfmiddlewaretoken: 'a'.repeat(64) });
      expect(no_cookie.status).toBe(403);
      expect(no_cookie.text).toContain('CSRF cookie not set.');
      const cross_site = await fresh.post('/form/7/', undefined, { headers: { origin: 'https://evil.example' } });
      expect(cross_site.text).toContain('Origin checking failed - https://evil.example does not match any trusted origins.');
    } finally {
      await fresh.close();
    }
  });

  it('requires_csrf_token: a failing POST still reaches the view, which can render a token; nothing is logged', async () => {
    const res = await client.post('/lenient/', { a: '1' });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^token [a-zA-Z0-9]{64} via POST$/);
    expect(res.set_cookies[0]).toMatch(COOKIE);
    expect(security()).toEqual([]);
  });

  it('ensure_csrf_cookie: the page sends the cookie though it renders no token, and refuses nothing', async () => {
    const res = await client.get('/shell/');
    expect(res.set_cookies).toHaveLength(1);
    expect(res.set_cookies[0]).toMatch(COOKIE);
    const secret = COOKIE.exec(res.set_cookies[0])?.[1] as string;
    // Sent again on the next visit (renewing it), with the same secret.
    const again = await client.get('/shell/');
    expect(COOKIE.exec(again.set_cookies[0])?.[1]).toBe(secret);
    expect((await client.post('/shell/', {})).status).toBe(200);
    expect(security()).toEqual([]);
  });

  it('with CsrfViewMiddleware too: one check, one cookie', async () => {
    await override_settings({ MIDDLEWARE: ['@tango/core/middleware/csrf'] }, async () => {
      const site = new Client({ urlpatterns });
      try {
        const page = await site.get('/form/3/');
        expect(page.set_cookies).toHaveLength(1);
        const token = /value="([a-zA-Z0-9]{64})"/.exec(page.text)?.[1] as string;
        expect((await site.post('/form/3/', { csrfmiddlewaretoken: token })).text).toBe('saved 3');
        expect((await site.post('/form/3/', {})).status).toBe(403);
        // The middleware refused first: one log line, not two.
        expect(security()).toEqual(['Forbidden (CSRF token missing.): /form/3/']);
        const shell = await site.get('/shell/');
        expect(shell.set_cookies).toHaveLength(1);
      } finally {
        await site.close();
      }
    });
  });
});
