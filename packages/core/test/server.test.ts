/**
 * The request/response layer over a real listening Fastify server: cookie
 * round trips, routing and converters, middleware order, error pages.
 */
import * as http from 'node:http';
import {
  configure, path, include, reverse, HttpRequest, HttpResponse, JsonResponse, Http404, type MiddlewareFactory,
} from '@tango/core';
import { Client } from '@tango/core/testing';
import { capture_logs } from '@tango/core/testing';

function set_value(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('set');
  response.set_cookie('v', request.GET.get('v', ''));
  return response;
}

function get_value(request: HttpRequest): HttpResponse {
  return new JsonResponse({ v: request.COOKIES.get('v', null), all: request.COOKIES.items() });
}

function article(request: HttpRequest, year: number, slug: string): HttpResponse {
  return new JsonResponse({ year, slug, type: typeof year });
}

function hello(request: HttpRequest, name: string): HttpResponse {
  return new HttpResponse(`hello ${name}`);
}

function boom(): HttpResponse {
  throw new Error('kaboom in the view');
}

function missing(): HttpResponse {
  throw new Http404('no such thing');
}

async function later(request: HttpRequest, name: string): Promise<HttpResponse> {
  await new Promise((resolve) => setImmediate(resolve));
  if (name === 'boom') throw new Error('kaboom after an await');
  return new HttpResponse(`later ${name}`);
}

function not_a_response(): unknown {
  return 'just a string';
}

async function not_a_response_later(): Promise<unknown> {
  return undefined;
}

function addr(request: HttpRequest): HttpResponse {
  return new HttpResponse(`${request.remote_addr} ${request.remote_addr}`);
}

const blog = [path('<int:year>/<slug:slug>/', article, { name: 'article' })];

const urlpatterns = [
  path('set/', set_value),
  path('addr/', addr),
  path('get/', get_value),
  path('hello/<str:name>/', hello, { name: 'hello' }),
  path('blog/', include(blog)),
  path('boom/', boom),
  path('missing/', missing),
  path('later/<str:name>/', later),
  path('not_a_response/', not_a_response as unknown as () => HttpResponse),
  path('not_a_response_later/', not_a_response_later as unknown as () => Promise<HttpResponse>),
];

describe('server', () => {
  let client: Client;
  beforeAll(() => configure({ SECRET_KEY: 'server-test-secret', MIDDLEWARE: [] }));
  beforeEach(() => {
    client = new Client({ urlpatterns, middleware: [] });
  });
  afterEach(() => client.close());

  const values = ['zhiliao', '张三', 'a;b', 'a,b', 'say "hi"', 'back\\slash', 'x=y', ' spaced ', '', 'é', '😀 emoji', 'tab\there', 'semi;colon,comma "q" \\ 清風'];
  it.each(values)('a cookie value round-trips through a real browser exchange: %j', async (value) => {
    const set = await client.get(`/set/?v=${encodeURIComponent(value)}`);
    expect(set.status).toBe(200);
    expect(set.set_cookies).toHaveLength(1);
    // Nothing the value holds may end the cookie or start an attribute.
    expect(set.set_cookies[0]).toMatch(/; Path=\/$/);
    expect(set.set_cookies[0].split('; ')).toHaveLength(2);
    const got = (await client.get('/get/')).json<{ v: string }>();
    expect(got.v).toBe(value);
  });

  it('request.remote_addr is the client address of the connection', async () => {
    expect((await client.get('/addr/')).text).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1) \1$/);
  });

  it('malformed Cookie headers never crash a request and yield only what was sent', async () => {
    const headers = [
      'novalue; a=1', '=; ==; ;;', 'a="unterminated', 'a=1; a=2; a=3', `big=${'x'.repeat(15000)}`, '"; "', 'ä=ö', '\u00ff\u00fe=\u00fd',
    ];
    for (const cookie of headers) {
      const res = await client.get('/get/', { headers: { cookie } });
      expect(res.status).toBe(200);
      const { all } = res.json<{ all: Array<[string, string]> }>();
      for (const [name] of all) expect(cookie.includes(name) || Buffer.from(cookie, 'latin1').toString('utf8').includes(name)).toBe(true);
    }
    const dup = await client.get('/get/', { headers: { cookie: 'v=first; v=last' } });
    expect(dup.json<{ v: string }>().v).toBe('last');
  });

  it('converters turn URL pieces into typed view arguments; reverse builds URLs', async () => {
    const res = await client.get('/blog/2024/hello-world/');
    expect(res.json()).toEqual({ year: 2024, slug: 'hello-world', type: 'number' });
    expect((await client.get('/blog/20x4/hello-world/')).status).toBe(404);
    expect((await client.get('/blog/2024/not a slug/')).status).toBe(404);
    expect((await client.get('/hello/%E5%BC%A0%E4%B8%89/')).text).toBe('hello 张三');
    expect(reverse('article', [1999, 'party'])).toBe('/blog/1999/party/');
    expect(reverse('article', { year: 2000, slug: 'y2k' })).toBe('/blog/2000/y2k/');
    expect(() => reverse('nope')).toThrow(/Reverse for 'nope' not found/);
  });

  it('a throwing view is a 500 with the stack logged; Http404 is a 404', async () => {
    const logs = capture_logs();
    try {
      const res = await client.get('/boom/');
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('kaboom');
      const record = logs.records.find((r) => r.name === 'tango.request' && r.level === 'error');
      expect(record?.err?.stack).toContain('kaboom in the view');
    } finally {
      logs.stop();
    }
    expect((await client.get('/missing/')).status).toBe(404);
  });

  it('an async view answers after its awaits; its rejection is a logged 500', async () => {
    const ok = await client.get('/later/x/');
    expect([ok.status, ok.text]).toEqual([200, 'later x']);
    const logs = capture_logs();
    try {
      expect((await client.get('/later/boom/')).status).toBe(500);
      expect(logs.records.find((r) => r.level === 'error')?.err?.stack).toContain('kaboom after an await');
    } finally {
      logs.stop();
    }
  });

  it("a view that returns something else than an HttpResponse is a 500 naming the view, sync or async", async () => {
    const logs = capture_logs();
    try {
      expect((await client.get('/not_a_response/')).status).toBe(500);
      expect((await client.get('/not_a_response_later/')).status).toBe(500);
      const messages = logs.records.filter((r) => r.level === 'error').map((r) => r.err?.message);
      expect(messages).toEqual([
        "The view not_a_response didn't return an HttpResponse object. It returned string instead.",
        "The view not_a_response_later didn't return an HttpResponse object. It returned undefined instead.",
      ]);
    } finally {
      logs.stop();
    }
  });

  it('DEBUG shows a debug page with the error, escaped', async () => {
    configure({ SECRET_KEY: 'server-test-secret', MIDDLEWARE: [], DEBUG: true });
    try {
      const res = await client.get('/boom/');
      expect(res.status).toBe(500);
      expect(res.text).toContain('kaboom in the view');
      expect(res.text).toContain('<pre>');
    } finally {
      configure({ SECRET_KEY: 'server-test-secret', MIDDLEWARE: [] });
    }
  });
});

describe('middleware', () => {
  it('runs top-down on the request and bottom-up on the response; one may answer early', async () => {
    const order: string[] = [];
    const named = (name: string): MiddlewareFactory => (get_response) => async (request) => {
      order.push(`${name}:request`);
      if (name === 'gate' && request.GET.has('stop')) return new HttpResponse('stopped early', { status: 403 });
      const response = await get_response(request);
      order.push(`${name}:response`);
      response.headers.set(`X-${name}`, '1');
      return response;
    };
    const client = new Client({ urlpatterns, middleware: [named('outer'), named('gate'), named('inner')] });
    try {
      const res = await client.get('/hello/x/');
      expect(res.text).toBe('hello x');
      expect(order).toEqual(['outer:request', 'gate:request', 'inner:request', 'inner:response', 'gate:response', 'outer:response']);
      order.length = 0;
      const early = await client.get('/hello/x/?stop=1');
      expect(early.status).toBe(403);
      expect(early.text).toBe('stopped early');
      expect(order).toEqual(['outer:request', 'gate:request', 'outer:response']);
      expect(early.headers.get('x-outer')).toBe('1');
      expect(early.headers.get('x-inner')).toBeNull();
    } finally {
      await client.close();
    }
  });

  it('an exception inside a middleware becomes a response the outer ones still see', async () => {
    const seen: number[] = [];
    const outer: MiddlewareFactory = (gr) => async (r) => {
      const res = await gr(r);
      seen.push(res.status_code);
      return res;
    };
    const thrower: MiddlewareFactory = () => async () => {
      throw new Http404();
    };
    const client = new Client({ urlpatterns, middleware: [outer, thrower] });
    try {
      expect((await client.get('/hello/x/')).status).toBe(404);
      expect(seen).toEqual([404]);
    } finally {
      await client.close();
    }
  });
});

describe('routing order', () => {
  it('the first matching pattern wins, as in Django, even over a later literal route', async () => {
    const who = (label: string) => (request: HttpRequest) => new HttpResponse(`${label}:${request.path}`);
    const client = new Client({
      urlpatterns: [path('<str:name>/', who('param')), path('about/', who('literal')), path('x/<int:n>/', who('int'))],
      middleware: [],
    });
    try {
      expect((await client.get('/about/')).text).toBe('param:/about/');
      expect((await client.get('/x/5/')).text).toBe('int:/x/5/');
    } finally {
      await client.close();
    }
  });
});

describe('ALLOWED_HOSTS', () => {
  afterAll(() => configure({ SECRET_KEY: 'server-test-secret', MIDDLEWARE: [] }));

  it('a Host outside the list is a 400 before any view runs; listed hosts and subdomain patterns pass', async () => {
    configure({ SECRET_KEY: 'server-test-secret', MIDDLEWARE: [], ALLOWED_HOSTS: ['127.0.0.1', '.example.com'] });
    const client = new Client({ urlpatterns, middleware: [] });
    // fetch always sends the real Host; a raw request can send any.
    const status = async (host: string) => {
      const base = new URL(await client.url());
      return new Promise<number>((resolve, reject) => {
        http.get({ host: base.hostname, port: base.port, path: '/hello/x/', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    };
    try {
      expect((await client.get('/hello/x/')).status).toBe(200);
      expect(await status('evil.test')).toBe(400);
      expect(await status('shop.example.com')).toBe(200);
      expect(await status('example.com:8000')).toBe(200);
      expect(await status('notexample.com')).toBe(400);
    } finally {
      await client.close();
    }
  });
});
