/**
 * Issue 21 part 1: CSRF tokens shared with real Django 3.2 (Debian's
 * python3-django, interop/django_project/driver.py `csrf_request`). Tango
 * runs over a real listening server with CsrfViewMiddleware.
 *
 * What 3.2 does differently from 5.2 (which Tango follows): its cookie holds
 * a masked 64-character token rather than the 32-character secret, and it
 * refuses with one reason, "CSRF token missing or incorrect.". Both read the
 * other's cookie: 3.2 takes a 32-character value as an unmasked secret, and
 * Tango (as Django 4.1+) unmasks a 64-character one.
 */
import { configure, get_token, HttpResponse, JsonResponse, path, type HttpRequest } from '../packages/core';
import { mask_cipher_secret, unmask_cipher_token } from '../packages/core/middleware/csrf_tokens';
import { Client, override_settings } from '../packages/core/testing';
import { Django, describe_with_django, must, type Result } from './django';
import { cookie_pair } from './session_requests';

jest.setTimeout(60000);

const urlpatterns = [
  path('form/', (request: HttpRequest) => new JsonResponse({ token: get_token(request) })),
  path('submit/', () => new HttpResponse('ok')),
];

/** The csrftoken value of a driver result's Set-Cookie. */
function django_cookie(r: Result): string {
  const line = (r.set_cookie as Record<string, string>).csrftoken;
  expect(line).toBeDefined();
  return cookie_pair(line).slice('csrftoken='.length);
}

describe_with_django('CSRF tokens shared with Django 3.2', () => {
  const django = new Django({ SECRET_KEY: 'csrf-interop-secret' });
  let client: Client;

  beforeAll(() => configure({ SECRET_KEY: 'csrf-interop-secret', MIDDLEWARE: ['@tango/core/middleware/csrf'] }));
  beforeEach(() => {
    client = new Client({ urlpatterns });
  });
  afterEach(() => client.close());

  async function tango_page(): Promise<{ cookie: string; token: string }> {
    const res = await client.get('/form/');
    return { cookie: client.cookies.get('csrftoken')!.value, token: res.json<{ token: string }>().token };
  }

  const django_post = (cookie: string, fields: Record<string, string>, meta: Record<string, string> = {}) =>
    django.one({ op: 'csrf_request', method: 'POST', cookie_header: `csrftoken=${cookie}`, post: fields, meta });

  it("Django's cookie and form token are accepted by Tango", async () => {
    const page = await django.one({ op: 'csrf_request', get_token: true });
    const cookie = django_cookie(page);
    // 3.2 writes a masked token into the cookie.
    expect(cookie).toMatch(/^[a-zA-Z0-9]{64}$/);
    client.cookies.set('csrftoken', cookie);
    const res = await client.post('/submit/', { csrfmiddlewaretoken: page.token as string });
    expect([res.status, res.text]).toEqual([200, 'ok']);
    // ...and in the X-CSRFToken header.
    expect((await client.post('/submit/', undefined, { headers: { 'X-CSRFToken': page.token as string } })).status).toBe(200);
  });

  it("Tango's cookie and form token are accepted by Django", async () => {
    const { cookie, token } = await tango_page();
    expect(cookie).toMatch(/^[a-zA-Z0-9]{32}$/);
    const r = await django_post(cookie, { csrfmiddlewaretoken: token });
    expect([r.status, r.reason]).toEqual([200, null]);
    const h = await django_post(cookie, {}, { HTTP_X_CSRFTOKEN: token });
    expect([h.status, h.reason]).toEqual([200, null]);
  });

  it('one site, two servers: a form rendered by either side posts to either side, whoever set the cookie', async () => {
    // Tango set the cookie; Django renders the form (and rewrites the cookie in its 64-char form).
    const tango = await tango_page();
    const django_page = must(await django.one({ op: 'csrf_request', get_token: true, cookie_header: `csrftoken=${tango.cookie}` }));
    const rewritten = django_cookie(django_page);
    expect(unmask_cipher_token(rewritten)).toBe(tango.cookie);
    expect(unmask_cipher_token(django_page.token as string)).toBe(tango.cookie);
    // Django's form posted to Tango, with the cookie as the browser now holds it.
    client.cookies.set('csrftoken', rewritten);
    expect((await client.post('/submit/', { csrfmiddlewaretoken: django_page.token as string })).status).toBe(200);
    // Tango renders a form from Django's cookie: same secret, written back as the 32-char secret.
    const again = await client.get('/form/');
    expect(client.cookies.get('csrftoken')!.value).toBe(tango.cookie);
    const tango_token = again.json<{ token: string }>().token;
    // Django accepts Tango's token with either form of the cookie.
    for (const cookie of [rewritten, tango.cookie]) {
      expect((await django_post(cookie, { csrfmiddlewaretoken: tango_token })).status).toBe(200);
    }
  });

  it('a token masked by Tango for a Django secret, and the reverse, unmask to the same secret on both sides', async () => {
    const page = await django.one({ op: 'csrf_request', get_token: true });
    const secret = unmask_cipher_token(django_cookie(page));
    const mine = mask_cipher_secret(secret);
    expect((await django_post(secret, { csrfmiddlewaretoken: mine })).status).toBe(200);
    expect(unmask_cipher_token(page.token as string)).toBe(secret);
  });

  it('both refuse a wrong or missing token and a missing cookie (3.2 with its older, single reason)', async () => {
    const { cookie } = await tango_page();
    const wrong = mask_cipher_secret('a'.repeat(32));
    const d_wrong = await django_post(cookie, { csrfmiddlewaretoken: wrong });
    expect([d_wrong.status, d_wrong.reason]).toEqual([403, 'CSRF token missing or incorrect.']);
    const t_wrong = await client.post('/submit/', { csrfmiddlewaretoken: wrong });
    expect(t_wrong.status).toBe(403);

    const d_missing = await django_post(cookie, {});
    expect([d_missing.status, d_missing.reason]).toEqual([403, 'CSRF token missing or incorrect.']);
    expect((await client.post('/submit/', { other: 'x' })).status).toBe(403);

    const d_nocookie = await django.one({ op: 'csrf_request', method: 'POST', post: { csrfmiddlewaretoken: wrong } });
    expect([d_nocookie.status, d_nocookie.reason]).toEqual([403, 'CSRF cookie not set.']);
    client.cookies.clear();
    expect((await client.post('/submit/', { csrfmiddlewaretoken: wrong })).status).toBe(403);
  });

  it('over HTTPS both refuse a POST without Referer, and accept one from the site itself', async () => {
    const { cookie, token } = await tango_page();
    const d = await django_post(cookie, { csrfmiddlewaretoken: token });
    expect(d.status).toBe(200);
    const secure = await django.one({ op: 'csrf_request', method: 'POST', secure: true, cookie_header: `csrftoken=${cookie}`, post: { csrfmiddlewaretoken: token } });
    expect([secure.status, secure.reason]).toEqual([403, 'Referer checking failed - no Referer.']);
    const ok = await django.one({
      op: 'csrf_request', method: 'POST', secure: true, cookie_header: `csrftoken=${cookie}`,
      post: { csrfmiddlewaretoken: token }, meta: { HTTP_REFERER: 'https://testserver/form/' },
    });
    expect(ok.status).toBe(200);
    await override_settings({ SECURE_PROXY_SSL_HEADER: ['HTTP_X_FORWARDED_PROTO', 'https'] }, async () => {
      const headers = { 'x-forwarded-proto': 'https' };
      expect((await client.post('/submit/', { csrfmiddlewaretoken: token }, { headers })).status).toBe(403);
      const host = new URL(await client.url()).host;
      expect((await client.post('/submit/', { csrfmiddlewaretoken: token }, { headers: { ...headers, referer: `https://${host}/form/` } })).status).toBe(200);
    });
  });
});
