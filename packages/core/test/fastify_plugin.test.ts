/**
 * `app.register(tango, { settings })` in a Fastify app of the user's own,
 * over a real listening server: Fastify routes win where they match, Tango
 * answers everything else under its prefix with its own pages, its limits
 * and ALLOWED_HOSTS guard its routes only, and settings are validated as a
 * settings module is.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { dribble, status_of } from './slow_socket';
import tango, { server_options } from '@tango/core/fastify';
import {
  path as route, reverse, settings, HttpResponse, JsonResponse, ImproperlyConfigured, type HttpRequest,
} from '@tango/core';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over a socket, with the headers exactly as given (fetch will not send a Host of our choosing). */
function request(base: string, target: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: target, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function hello(request: HttpRequest): HttpResponse {
  return new JsonResponse({ view: 'tango', path: request.path, path_info: request.path_info, url: reverse('hello') });
}

function shared(): HttpResponse {
  return new HttpResponse('tango shared');
}

function me(): HttpResponse {
  return new HttpResponse('tango me');
}

function boom(): HttpResponse {
  throw new Error('kaboom in a tango view');
}

function echo(request: HttpRequest): HttpResponse {
  return new HttpResponse(`tango got ${request.body.length} bytes`);
}

const urlpatterns = [
  route('hello/', hello, { name: 'hello' }),
  route('shared/', shared),
  route('users/me/', me),
  route('boom/', boom),
  route('echo/', echo),
];

const SETTINGS = { SECRET_KEY: 'fastify-plugin-secret', ALLOWED_HOSTS: ['127.0.0.1', 'localhost'], MIDDLEWARE: [], ROOT_URLCONF: urlpatterns };

const apps: FastifyInstance[] = [];
async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

/** A host app with routes of its own declared before and after Tango, and its own error handler. */
async function host_app(register: (app: FastifyInstance) => PromiseLike<unknown>): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler(async (_err, _req, reply) => reply.code(599).send('host error handler'));
  app.get('/api/ping', async () => ({ from: 'fastify' }));
  app.get('/shared/', async () => 'fastify shared');
  app.post('/api/json', async (req) => ({ got: req.body }));
  app.get('/api/boom', async () => {
    throw new Error('kaboom in a fastify route');
  });
  await register(app);
  app.get('/users/:id', async (req) => `fastify user ${(req.params as { id: string }).id}`);
  return app;
}

describe('the tango Fastify plugin', () => {
  it('serves Tango views and Fastify routes from one server; Fastify routes win where they match', async () => {
    const base = await listen(await host_app((app) => app.register(tango, { settings: SETTINGS })));
    expect(JSON.parse((await request(base, '/api/ping')).body)).toEqual({ from: 'fastify' });
    expect(JSON.parse((await request(base, '/hello/')).body)).toEqual({ view: 'tango', path: '/hello/', path_info: '/hello/', url: '/hello/' });
    // The same literal path on both sides, and a Fastify parameter over a Tango literal: Fastify's.
    expect((await request(base, '/shared/')).body).toBe('fastify shared');
    expect((await request(base, '/users/me')).body).toBe('fastify user me');
    // ':id' stops at a slash, so '/users/me/' is no Fastify route's: Tango's.
    expect((await request(base, '/users/me/')).body).toBe('tango me');
  });

  it("answers what no route matches with Tango's 404 page and APPEND_SLASH redirect", async () => {
    const base = await listen(await host_app((app) => app.register(tango, { settings: SETTINGS })));
    const missing = await request(base, '/nowhere/');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^text\/html/);
    expect(missing.body).toContain('<h1>Not Found</h1>');
    const slash = await request(base, '/hello?x=1');
    expect(slash.status).toBe(301);
    expect(slash.headers.location).toBe('/hello/?x=1');
    // A method no Fastify route has on a path one has: Tango's turn, and its 404.
    const other_method = await request(base, '/api/ping', { method: 'DELETE' });
    expect(other_method.status).toBe(404);
    expect(other_method.body).toContain('<h1>Not Found</h1>');
  });

  it("turns an exception in a Tango view into Tango's 500 page, and leaves Fastify's routes to the host's error handler", async () => {
    const base = await listen(await host_app((app) => app.register(tango, { settings: SETTINGS })));
    const tango_error = await request(base, '/boom/');
    expect(tango_error.status).toBe(500);
    expect(tango_error.body).toContain('<h1>Server Error</h1>');
    const fastify_error = await request(base, '/api/boom');
    expect(fastify_error.status).toBe(599);
    expect(fastify_error.body).toBe('host error handler');
  });

  it("answers a host hook's error on a Tango route with Tango's page, on the host's routes with the host's handler", async () => {
    const base = await listen(await host_app(async (app) => {
      app.addHook('onRequest', async (req) => {
        if (req.headers['x-fail'] !== undefined) throw new Error('a hook of the host app failed');
      });
      await app.register(tango, { settings: SETTINGS });
    }));
    const on_tango = await request(base, '/hello/', { headers: { 'x-fail': '1' } });
    expect(on_tango.status).toBe(500);
    expect(on_tango.body).toContain('<h1>Server Error</h1>');
    expect((await request(base, '/api/ping', { headers: { 'x-fail': '1' } })).status).toBe(599);
  });

  it("applies Tango's body limit and raw bodies to its routes only, leaving Fastify's JSON parser to the host", async () => {
    const base = await listen(await host_app((app) => app.register(tango, { settings: SETTINGS })));
    const json = '{"a":1}';
    expect((await request(base, '/echo/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json })).body)
      .toBe(`tango got ${json.length} bytes`);
    expect(JSON.parse((await request(base, '/api/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json })).body))
      .toEqual({ got: { a: 1 } });
    const big = await request(base, '/echo/', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(2_621_441) });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/^text\/html/);
    expect(big.body).toContain('Payload Too Large');
  });

  it('checks ALLOWED_HOSTS on Tango routes; Fastify routes are the host app\'s to guard', async () => {
    const base = await listen(await host_app((app) => app.register(tango, { settings: SETTINGS })));
    const refused = await request(base, '/hello/', { headers: { host: 'evil.example' } });
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('Bad Request');
    expect((await request(base, '/api/ping', { headers: { host: 'evil.example' } })).status).toBe(200);
  });

  it('mounts under a prefix as Django under a SCRIPT_NAME: request.path keeps it, path_info and the URLconf do not, reverse() adds it', async () => {
    const base = await listen(await host_app((app) => app.register(tango, { settings: SETTINGS, prefix: '/shop' })));
    expect(JSON.parse((await request(base, '/shop/hello/')).body))
      .toEqual({ view: 'tango', path: '/shop/hello/', path_info: '/hello/', url: '/shop/hello/' });
    const mount_point = await request(base, '/shop?q=1');
    expect(mount_point.status).toBe(301);
    expect(mount_point.headers.location).toBe('/shop/?q=1');
    expect((await request(base, '/shop/hello')).headers.location).toBe('/shop/hello/');
    expect((await request(base, '/shop/nowhere/')).body).toContain('<h1>Not Found</h1>');
    // Outside the prefix Tango is not asked: Fastify's own 404.
    const outside = await request(base, '/hello/');
    expect(outside.status).toBe(404);
    expect(outside.headers['content-type']).toMatch(/^application\/json/);
    expect(reverse('hello')).toBe('/shop/hello/');
    await apps.pop()!.close();
    expect(reverse('hello')).toBe('/hello/');
  });

  it('validates and freezes settings given as an object, as a settings module is', async () => {
    const app = Fastify();
    await app.register(tango, { settings: { ...SETTINGS, SESSION_COOKIE_AGE: 60 } });
    await app.ready();
    apps.push(app);
    expect(settings.SECRET_KEY).toBe('fastify-plugin-secret');
    expect(settings.SESSION_COOKIE_AGE).toBe(60);
    expect(settings.SESSION_COOKIE_NAME).toBe('sessionid');
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('refuses a bad setting at start-up with one line naming it', async () => {
    const app = Fastify();
    app.register(tango, { settings: { ...SETTINGS, SESSION_COOKIE_AGE: 'soon' } });
    const err = await app.ready().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ImproperlyConfigured);
    expect((err as Error).message).toBe("Invalid setting SESSION_COOKIE_AGE = 'soon': expected a number.");
    await app.close();
  });

  it('loads settings given as a module path, with its directory as BASE_DIR', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-fastify-settings-'));
    try {
      const core = path.dirname(require.resolve('@tango/core'));
      fs.writeFileSync(path.join(dir, 'urls.js'),
        `const { path, HttpResponse } = require(${JSON.stringify(core)});\n` +
        "exports.urlpatterns = [path('from-module/', (request) => new HttpResponse('module urls at ' + request.path))];\n");
      fs.writeFileSync(path.join(dir, 'my_settings.js'),
        "module.exports = { SECRET_KEY: 'from-a-module', ALLOWED_HOSTS: ['127.0.0.1'], ROOT_URLCONF: './urls' };\n");
      const base = await listen(await host_app((app) => app.register(tango, { settings: path.join(dir, 'my_settings') })));
      expect(settings.BASE_DIR).toBe(dir);
      expect((await request(base, '/from-module/')).body).toBe('module urls at /from-module/');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("server_options() gives Fastify() Tango's slow-client limits: headers dribbled past REQUEST_HEADERS_TIMEOUT get a 408", async () => {
    const app = Fastify(server_options({ ...SETTINGS, REQUEST_HEADERS_TIMEOUT: 1000, REQUEST_TIMEOUT: 2000 }));
    await app.register(tango, { settings: SETTINGS });
    const port = Number(new URL(await listen(app)).port);
    const res = await dribble(port, 'GET /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: y\r\n', 300);
    expect(status_of(res.data)).toBe(408);
    expect(res.closed_after).toBeGreaterThanOrEqual(900);
    expect(res.closed_after).toBeLessThan(1000 + 1500);
  });

  it('applies MAX_CONNECTIONS to the server unless the host app chose its own', async () => {
    const app = Fastify();
    await app.register(tango, { settings: { ...SETTINGS, MAX_CONNECTIONS: 123 } });
    await app.ready();
    apps.push(app);
    expect(app.server.maxConnections).toBe(123);
    const own = Fastify();
    own.server.maxConnections = 7;
    await own.register(tango, { settings: { ...SETTINGS, MAX_CONNECTIONS: 123 } });
    await own.ready();
    apps.push(own);
    expect(own.server.maxConnections).toBe(7);
  });

  it("server_options() gives Fastify() Tango's slow-client limits", () => {
    const options = server_options({ ...SETTINGS, REQUEST_TIMEOUT: 9000, REQUEST_HEADERS_TIMEOUT: 3000, KEEP_ALIVE_TIMEOUT: 5000 });
    expect(options).toMatchObject({ requestTimeout: 9000, keepAliveTimeout: 5000, http: { headersTimeout: 3000, requestTimeout: 9000 } });
    const app = Fastify(options);
    apps.push(app);
    expect(app.server.requestTimeout).toBe(9000);
    expect(app.server.headersTimeout).toBe(3000);
  });
});
