/**
 * CsrfViewMiddleware over a real listening server (the test Client speaks
 * HTTP to Fastify): the cookie, the checks in Django's order, every refusal's
 * reason (in the DEBUG page and on 'tango.security.csrf'), csrf_exempt,
 * rotate_token, CSRF_USE_SESSIONS and the cost of requests that post nothing.
 */
import {
  configure, csrf_exempt, get_token, HttpResponse, JsonResponse, path, rotate_token, type HttpRequest,
} from '@tango/core';
import { ImproperlyConfigured } from '@tango/core/errors';
import { create_app } from '@tango/core/server';
import { unmask_cipher_token } from '../../middleware/csrf_tokens';
import { Client, capture_logs, override_settings } from '@tango/core/testing';

const form = (request: HttpRequest) => new JsonResponse({ token: get_token(request) });
const submit = (request: HttpRequest) => new HttpResponse(`ok ${request.method}`);
const plain = () => new HttpResponse('plain');
const login = (request: HttpRequest) => {
  rotate_token(request);
  return new HttpResponse('rotated');
};
const hook = csrf_exempt((request: HttpRequest) => new HttpResponse(`hook ${request.method}`));
const session_state = (request: HttpRequest) => new JsonResponse({ built: request.session_built });

const urlpatterns = [
  path('form/', form),
  path('submit/', submit),
  path('plain/', plain),
  path('login/', login),
  path('hook/', hook),
  path('session_state/', session_state),
];

const BASE = {
  SECRET_KEY: 'csrf-test-secret',
  DEBUG: true,
  MIDDLEWARE: ['@tango/sessions/middleware', '@tango/core/middleware/csrf'],
  SESSION_ENGINE: 'signed_cookies',
};

const SECRET = /^csrftoken=([a-zA-Z0-9]{32});/;

describe('CsrfViewMiddleware over HTTP', () => {
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

  /** The page's token, after a GET that sets the cookie. */
  async function token(): Promise<string> {
    return (await client.get('/form/')).json<{ token: string }>().token;
  }

  /** A refusal: 403, Django's reason in the DEBUG page and on the security logger. */
  function expect_refused(res: { status: number; text: string }, reason: string, url = '/submit/'): void {
    expect(res.status).toBe(403);
    expect(res.text).toContain('CSRF verification failed. Request aborted.');
    expect(res.text).toContain(`<pre id="reason">${reason.replace(/'/g, '&#x27;')}</pre>`);
    const rec = logs.records.find((r) => r.name === 'tango.security.csrf');
    expect(rec?.msg).toBe(`Forbidden (${reason}): ${url}`);
    expect(rec?.level).toBe('warn');
  }

  it('get_token sets the csrftoken cookie (the unmasked secret) with Django\'s attributes and Vary: Cookie', async () => {
    const res = await client.get('/form/');
    expect(res.set_cookies).toHaveLength(1);
    const line = res.set_cookies[0];
    const secret = SECRET.exec(line)?.[1];
    expect(secret).toBeDefined();
    expect(line).toMatch(/; expires=[^;]+ GMT; Max-Age=31449600; Path=\/; SameSite=Lax$/);
    expect(res.headers.get('vary')).toBe('Cookie');
    const { token: t } = res.json<{ token: string }>();
    expect(t).toMatch(/^[a-zA-Z0-9]{64}$/);
    expect(unmask_cipher_token(t)).toBe(secret);
    // The next page keeps the secret and masks it afresh.
    const again = await client.get('/form/');
    expect(SECRET.exec(again.set_cookies[0])?.[1]).toBe(secret);
    expect(again.json<{ token: string }>().token).not.toBe(t);
  });

  it('a request that renders no token gets no cookie and no Vary', async () => {
    const res = await client.get('/plain/');
    expect(res.set_cookies).toEqual([]);
    expect(res.headers.get('vary')).toBeNull();
  });

  it('accepts the token from the form field, the X-CSRFToken header, or the bare secret', async () => {
    const t = await token();
    expect((await client.post('/submit/', { csrfmiddlewaretoken: t })).text).toBe('ok POST');
    expect((await client.post('/submit/', 'a=1', { headers: { 'x-csrftoken': t, 'content-type': 'text/plain' } })).text).toBe('ok POST');
    expect((await client.request('PUT', '/submit/', { headers: { 'X-CSRFToken': t } })).text).toBe('ok PUT');
    expect((await client.request('DELETE', '/submit/', { headers: { 'X-CSRFToken': t } })).text).toBe('ok DELETE');
    const secret = client.cookies.get('csrftoken')!.value;
    expect((await client.post('/submit/', { csrfmiddlewaretoken: secret })).text).toBe('ok POST');
    expect(logs.records.filter((r) => r.name === 'tango.security.csrf')).toEqual([]);
  });

  it('safe methods pass without anything', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect((await client.request(method, '/submit/')).status).toBe(200);
  });

  it('no cookie: "CSRF cookie not set."', async () => {
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: 'a'.repeat(64) }), 'CSRF cookie not set.');
  });

  it('cookie but no token: "CSRF token missing."', async () => {
    await token();
    expect_refused(await client.post('/submit/', { other: '1' }), 'CSRF token missing.');
  });

  it('a wrong token: "CSRF token from POST incorrect."', async () => {
    await token();
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: 'a'.repeat(64) }), 'CSRF token from POST incorrect.');
  });

  it('a token of the wrong length or alphabet names its source', async () => {
    await token();
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: 'short' }), 'CSRF token from POST has incorrect length.');
    logs.records.length = 0;
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: `${'a'.repeat(63)}!` }), 'CSRF token from POST has invalid characters.');
    logs.records.length = 0;
    expect_refused(await client.post('/submit/', undefined, { headers: { 'X-CSRFToken': 'b'.repeat(64) } }),
      "CSRF token from the 'X-Csrftoken' HTTP header incorrect.");
  });

  it('a malformed cookie is refused on POST and replaced in that response, as on any other (Django)', async () => {
    client.cookies.set('csrftoken', 'not-a-token');
    const refused = await client.post('/submit/', { csrfmiddlewaretoken: 'a'.repeat(64) });
    expect_refused(refused, 'CSRF cookie has incorrect length.');
    expect(refused.set_cookies[0]).toMatch(SECRET);
    client.cookies.set('csrftoken', `${'a'.repeat(31)}!`);
    expect((await client.get('/plain/')).set_cookies[0]).toMatch(SECRET);
  });

  it('a 64-character cookie (Django < 4.1 masked it) is unmasked and accepted', async () => {
    const secret = 'Xq3vT9pL2mN8kR4sW7yB1cD6fG0hJ5aZ';
    client.cookies.set('csrftoken', `${'a'.repeat(32)}${secret}`);
    expect((await client.post('/submit/', { csrfmiddlewaretoken: secret })).status).toBe(200);
  });

  it('the Origin header: the site\'s own origin passes, another is refused with Django\'s reason', async () => {
    const t = await token();
    const own = await client.url();
    expect((await client.post('/submit/', { csrfmiddlewaretoken: t }, { headers: { origin: own } })).status).toBe(200);
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: t }, { headers: { origin: 'http://evil.example' } }),
      'Origin checking failed - http://evil.example does not match any trusted origins.');
    logs.records.length = 0;
    // Chrome sends "null" from sandboxed frames and some redirects.
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: t }, { headers: { origin: 'null' } }),
      'Origin checking failed - null does not match any trusted origins.');
  });

  it('CSRF_TRUSTED_ORIGINS: exact origins and *.domain wildcards, scheme included', async () => {
    const t = await token();
    await override_settings({ CSRF_TRUSTED_ORIGINS: ['http://partner.example', 'https://*.example.com'] }, async () => {
      const post = (origin: string) => client.post('/submit/', { csrfmiddlewaretoken: t }, { headers: { origin } });
      expect((await post('http://partner.example')).status).toBe(200);
      expect((await post('https://a.example.com')).status).toBe(200);
      expect((await post('https://example.com')).status).toBe(200);
      expect((await post('http://a.example.com')).status).toBe(403);
      expect((await post('https://a.badexample.com')).status).toBe(403);
    });
  });

  it('CSRF_TRUSTED_ORIGINS without a scheme stops start-up with one line', () => {
    expect(() => configure({ ...BASE, CSRF_TRUSTED_ORIGINS: ['example.com'] })).toThrow(
      /^Invalid setting CSRF_TRUSTED_ORIGINS.0 = 'example.com': expected origins with a scheme/);
    configure(BASE);
  });

  describe('over HTTPS (SECURE_PROXY_SSL_HEADER), without Origin: the Referer check', () => {
    const https = { SECURE_PROXY_SSL_HEADER: ['HTTP_X_FORWARDED_PROTO', 'https'] };
    const post = async (headers: Record<string, string>) => client.post('/submit/', { csrfmiddlewaretoken: await token() },
      { headers: { 'x-forwarded-proto': 'https', ...headers } });

    it.each([
      [{}, 'Referer checking failed - no Referer.'],
      [{ referer: 'not a url' }, 'Referer checking failed - Referer is malformed.'],
      [{ referer: 'https://[::1/' }, 'Referer checking failed - Referer is malformed.'],
      [{ referer: 'http://127.0.0.1/form/' }, 'Referer checking failed - Referer is insecure while host is secure.'],
      [{ referer: 'https://evil.example/page?x=1' }, 'Referer checking failed - https://evil.example/page?x=1 does not match any trusted origins.'],
    ])('refuses %j', async (headers, reason) => {
      await override_settings(https, async () => expect_refused(await post(headers), reason));
    });

    it('a Referer from the site itself, a trusted origin or the cookie domain passes', async () => {
      await override_settings(https, async () => {
        const host = new URL(await client.url()).host;
        expect((await post({ referer: `https://${host}/form/` })).status).toBe(200);
      });
      await override_settings({ ...https, CSRF_TRUSTED_ORIGINS: ['https://*.example.com'] }, async () => {
        expect((await post({ referer: 'https://shop.example.com/cart' })).status).toBe(200);
      });
      await override_settings({ ...https, CSRF_COOKIE_DOMAIN: '.example.org' }, async () => {
        const port = new URL(await client.url()).port;
        expect((await post({ referer: `https://www.example.org:${port}/x` })).status).toBe(200);
        expect((await post({ referer: 'https://www.example.org/x' })).status).toBe(403);
      });
    });

    it('with an Origin header the Referer is not consulted', async () => {
      await override_settings(https, async () => {
        const host = new URL(await client.url()).host;
        expect((await post({ origin: `https://${host}` })).status).toBe(200);
        expect((await post({ origin: `http://${host}` })).status).toBe(403);
      });
    });
  });

  it('csrf_exempt lets every request to the view through', async () => {
    expect((await client.post('/hook/', { a: '1' }, { headers: { origin: 'http://evil.example' } })).text).toBe('hook POST');
    expect(hook.csrf_exempt).toBe(true);
    function named(): HttpResponse {
      return plain();
    }
    expect(csrf_exempt(named).name).toBe('named');
    expect((named as { csrf_exempt?: boolean }).csrf_exempt).toBeUndefined();
  });

  it('a POST to a URL that matches nothing is a 404, not a 403', async () => {
    expect((await client.post('/nowhere/', { a: '1' })).status).toBe(404);
  });

  it('rotate_token (at login) sends a new secret; tokens of the old one stop working', async () => {
    const old = await token();
    const before = client.cookies.get('csrftoken')!.value;
    const res = await client.post('/login/', { csrfmiddlewaretoken: old });
    expect(res.text).toBe('rotated');
    const after = SECRET.exec(res.set_cookies[0])?.[1];
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect_refused(await client.post('/submit/', { csrfmiddlewaretoken: old }), 'CSRF token from POST incorrect.');
    expect((await client.post('/submit/', { csrfmiddlewaretoken: await token() })).status).toBe(200);
  });

  it('without DEBUG the page does not show the reason (it is still logged)', async () => {
    await override_settings({ DEBUG: false }, async () => {
      const res = await client.post('/submit/', { a: '1' });
      expect(res.status).toBe(403);
      expect(res.text).toContain('CSRF verification failed. Request aborted.');
      expect(res.text).toContain('this site requires a CSRF cookie when submitting forms');
      expect(res.text).not.toContain('id="reason"');
    });
    expect(logs.records.some((r) => r.msg === 'Forbidden (CSRF cookie not set.): /submit/')).toBe(true);
  });

  it('CSRF_FAILURE_VIEW: a function, or a module path; a path naming nothing stops start-up', async () => {
    const refused = (_r: HttpRequest, reason: string) => new JsonResponse({ refused: reason }, { status: 403 });
    await override_settings({ CSRF_FAILURE_VIEW: refused }, async () => {
      const res = await client.post('/submit/', { a: '1' });
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ refused: 'CSRF cookie not set.' });
    });
    await override_settings({ CSRF_FAILURE_VIEW: '@tango/core/views/csrf:csrf_failure' }, async () => {
      expect((await client.post('/submit/', { a: '1' })).status).toBe(403);
    });
    await override_settings({ CSRF_FAILURE_VIEW: './no/such/module.view' }, async () => {
      await expect(create_app({ urlpatterns })).rejects.toThrow(ImproperlyConfigured);
    });
  });

  it("Django's dotted name for the middleware is accepted in MIDDLEWARE", async () => {
    await override_settings({ MIDDLEWARE: ['django.middleware.csrf.CsrfViewMiddleware'] }, async () => {
      const c = new Client({ urlpatterns });
      try {
        expect((await c.post('/submit/', { a: '1' })).status).toBe(403);
      } finally {
        await c.close();
      }
    });
  });

  it('bad input never makes a 500: odd methods, bodies, headers and cookies', async () => {
    await token();
    const cases: Array<[string, Record<string, string>, string | undefined]> = [
      ['POST', { 'content-type': 'application/x-www-form-urlencoded' }, '%%%csrfmiddlewaretoken=%zz'],
      ['POST', { 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\n\r\n'],
      ['POST', { 'x-csrftoken': 'é'.repeat(64) }, undefined],
      ['PATCH', { origin: 'https://[::1' }, undefined],
      ['POST', { origin: '', 'x-forwarded-proto': 'https' }, undefined],
      ['POST', { cookie: 'csrftoken="\\"quoted\\""' }, undefined],
      ['POST', { cookie: `csrftoken=${'é'.repeat(32)}` }, undefined],
    ];
    for (const [method, headers, body] of cases) {
      const res = await client.request(method, '/submit/', { headers, body });
      expect([method, res.status]).toEqual([method, 403]);
    }
  });
});

describe('CSRF_USE_SESSIONS', () => {
  let client: Client;
  beforeAll(() => configure({ ...BASE, CSRF_USE_SESSIONS: true }));
  afterAll(() => configure(BASE));
  beforeEach(() => {
    client = new Client({ urlpatterns });
  });
  afterEach(() => client.close());

  it('keeps the secret in the session (key _csrftoken), sends no csrftoken cookie, and checks against it', async () => {
    const res = await client.get('/form/');
    expect(res.set_cookies.map((l) => l.split('=')[0])).toEqual(['sessionid']);
    const session = await client.session();
    const t = res.json<{ token: string }>().token;
    expect(session.get('_csrftoken')).toBe(unmask_cipher_token(t));
    expect((await client.post('/submit/', { csrfmiddlewaretoken: t })).status).toBe(200);
    expect((await client.post('/submit/', { csrfmiddlewaretoken: 'a'.repeat(64) })).status).toBe(403);
  });

  it('a request without a session that renders no token never builds the session', async () => {
    const res = await client.get('/session_state/');
    expect(res.json()).toEqual({ built: false });
    expect(res.set_cookies).toEqual([]);
  });

  it('a POST without a session is refused as "CSRF cookie not set."', async () => {
    const logs = capture_logs();
    try {
      expect((await client.post('/submit/', { a: '1' })).status).toBe(403);
      expect(logs.records.map((r) => r.msg)).toContain('Forbidden (CSRF cookie not set.): /submit/');
    } finally {
      logs.stop();
    }
  });
});
