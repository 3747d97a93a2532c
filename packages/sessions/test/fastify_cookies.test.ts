/**
 * @fastify/cookie beside Tango in one listening server: a Fastify route and
 * a Tango view read each other's cookies, the session cookie included; where
 * the two parsers differ (docs/cookies.md) each side reads with its own; and
 * fastify.close() closes the pools and cache clients Tango opened.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import type KeyvRedis from '@keyv/redis';
import tango from '@tango/core/fastify';
import { path as route, settings, HttpResponse, JsonResponse, type HttpRequest } from '@tango/core';
import { get_cache } from '@tango/core/cache';
import { get_connection } from '@tango/core/db';
import { Client } from '@tango/core/testing';
import { describe_with } from '@tango/core/testing';
import { get_session_store_class } from '../engine';
import { up } from '../migrations/0001_initial';
import { postgres_database } from './db_helpers';

function log_in(request: HttpRequest): HttpResponse {
  request.session.set('user_id', 'zhiliao');
  return new HttpResponse('logged in');
}

function set_tango_cookie(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('set');
  const note = request.GET.get('note');
  if (note === undefined) response.set_cookie('from_tango', 'tango-value');
  else response.set_cookie('note', note);
  return response;
}

function show_cookies(request: HttpRequest): HttpResponse {
  return new JsonResponse({ cookies: Object.fromEntries(request.COOKIES.items()), user_id: request.session.get('user_id', null) });
}

function touch_cache(): Promise<HttpResponse> {
  return get_cache().set('fastify-plugin-touch', 1).then(() => new HttpResponse('cached'));
}

const urlpatterns = [
  route('login/', log_in),
  route('set/', set_tango_cookie),
  route('show/', show_cookies),
  route('cache/', touch_cache),
];

/** The host app: @fastify/cookie and two routes of its own, then Tango. */
async function build(tango_settings: Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(cookie);
  app.get('/api/set', async (request, reply) => {
    const { greeting } = request.query as { greeting?: string };
    if (greeting === undefined) reply.setCookie('from_fastify', 'fastify-value', { path: '/' });
    else reply.setCookie('greeting', greeting, { path: '/' });
    return 'set';
  });
  app.get('/api/show', async (request) => {
    const SessionStore = get_session_store_class();
    const session = new SessionStore(request.cookies.sessionid ?? null);
    await session.preload();
    return { cookies: request.cookies, user_id: session.get('user_id', null) };
  });
  await app.register(tango, { settings: tango_settings });
  return app;
}

const docs = fs.readFileSync(path.resolve(__dirname, '../../../docs/cookies.md'), 'utf8');

describe_with('TEST_DATABASE_URL')('@fastify/cookie beside Tango views (db sessions on PostgreSQL)', (url) => {
  const db = postgres_database(url);
  const tango_settings = {
    SECRET_KEY: 'fastify-cookies-secret',
    ALLOWED_HOSTS: ['127.0.0.1'],
    MIDDLEWARE: ['@tango/sessions/middleware'],
    ROOT_URLCONF: urlpatterns,
    SESSION_ENGINE: 'db',
    DATABASES: { default: db.settings },
  };
  let app: FastifyInstance;
  let client: Client;

  beforeAll(async () => {
    app = await build(tango_settings);
    await db.create();
    await up(get_connection());
    client = new Client(app);
    await client.url();
  });
  afterAll(async () => {
    await app?.close();
    await db.drop();
  });
  beforeEach(() => client.cookies.clear());

  it('a Fastify route sees the session a Tango view started, by its sessionid cookie', async () => {
    expect((await client.get('/login/')).set_cookies.some((line) => line.startsWith('sessionid='))).toBe(true);
    const seen = (await client.get('/api/show')).json<{ cookies: Record<string, string>; user_id: string | null }>();
    expect(seen.cookies.sessionid).toMatch(/^[a-z0-9]{32}$/);
    expect(seen.user_id).toBe('zhiliao');
  });

  it('a Tango view reads the cookie a Fastify route set with reply.setCookie, and the reverse', async () => {
    const set_by_fastify = await client.get('/api/set');
    expect(set_by_fastify.set_cookies).toEqual(['from_fastify=fastify-value; Path=/; SameSite=Lax']);
    await client.get('/set/');
    await client.get('/login/');
    const tango_view = (await client.get('/show/')).json<{ cookies: Record<string, string>; user_id: string }>();
    expect(tango_view.cookies).toMatchObject({ from_fastify: 'fastify-value', from_tango: 'tango-value' });
    expect(tango_view.user_id).toBe('zhiliao');
    const fastify_route = (await client.get('/api/show')).json<{ cookies: Record<string, string> }>();
    expect(fastify_route.cookies).toMatchObject({ from_fastify: 'fastify-value', from_tango: 'tango-value' });
  });

  it('reads a header the parsers disagree on as docs/cookies.md says: each side with its own parser', async () => {
    const cases: Array<[string, Record<string, string>, Record<string, string>]> = [
      // django.http.cookie.parse_cookie: the last duplicate wins, no URL-decoding; @fastify/cookie: the first, URL-decoded.
      ['theme=light; theme=dark; greeting=hello%20world', { theme: 'dark', greeting: 'hello%20world' }, { theme: 'light', greeting: 'hello world' }],
      // Django unquotes (http.cookies._unquote); @fastify/cookie keeps the value as sent.
      ['note="a\\073b"', { note: 'a;b' }, { note: '"a\\073b"' }],
    ];
    for (const [header, tango_sees, fastify_sees] of cases) {
      expect({ header, documented: docs.includes(`| \`${header}\` |`) }).toEqual({ header, documented: true });
      const headers = { cookie: header };
      expect((await client.get('/show/', { headers })).json<{ cookies: unknown }>().cookies).toEqual(tango_sees);
      expect((await client.get('/api/show', { headers })).json<{ cookies: unknown }>().cookies).toEqual(fastify_sees);
    }
  });

  it('writes as docs/cookies.md says: reply.setCookie URL-encodes, set_cookie quotes as Django does', async () => {
    await client.get('/api/set?greeting=hello%20world');
    await client.get('/set/?note=a%3Bb');
    expect(client.cookies.get('greeting')?.value).toBe('hello%20world');
    expect(client.cookies.get('note')?.value).toBe('"a\\073b"');
    expect((await client.get('/show/')).json<{ cookies: Record<string, string> }>().cookies)
      .toMatchObject({ greeting: 'hello%20world', note: 'a;b' });
    expect((await client.get('/api/show')).json<{ cookies: Record<string, string> }>().cookies)
      .toMatchObject({ greeting: 'hello world', note: '"a\\073b"' });
  });

  it('fastify.close() closes the database pool Tango opened', async () => {
    const own = await build(tango_settings);
    const own_client = new Client(own);
    await own_client.get('/login/');
    const pool = get_connection();
    await expect(pool.raw('select 1')).resolves.toBeDefined();
    await own.close();
    await expect(pool.raw('select 1')).rejects.toThrow();
    // The next user of the database gets a new pool, and the suite's app still works.
    expect(get_connection()).not.toBe(pool);
    expect((await client.get('/login/')).status).toBe(200);
    expect(settings.SESSION_ENGINE).toBe('@tango/sessions/backends/db');
  });
});

describe_with('TEST_REDIS_URL')('the tango plugin and a Redis cache', (url) => {
  it('fastify.close() disconnects the cache clients Tango opened', async () => {
    const app = await build({
      SECRET_KEY: 'fastify-cookies-secret',
      ALLOWED_HOSTS: ['127.0.0.1'],
      ROOT_URLCONF: urlpatterns,
      SESSION_ENGINE: 'signed_cookies',
      CACHES: { default: { BACKEND: 'redis', LOCATION: url, KEY_PREFIX: `fastify-plugin-${process.pid}` } },
    });
    const client = new Client(app);
    expect((await client.get('/cache/')).text).toBe('cached');
    const cache = get_cache();
    await expect(cache.get('fastify-plugin-touch')).resolves.toBe(1);
    // Keyv's `store` and @keyv/redis's `client` are both documented; node-redis says whether its socket is open.
    const redis = (cache.store as KeyvRedis<unknown>).client;
    expect(redis.isOpen).toBe(true);
    await app.close();
    expect(redis.isOpen).toBe(false);
    expect(get_cache()).not.toBe(cache);
  });
});
