/**
 * docs/fastify.md's example, fastify_app.ts, run as the page shows it: the
 * demo project inside a Fastify app with routes of its own and
 * @fastify/cookie, over a real listening server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { settings } from '@tango/core';
import { Client } from '@tango/core/testing';
import { build_app } from '../../../fastify_app';
import { configure_demo_site, ROOT } from './demo_site';

describe("docs/fastify.md's example", () => {
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  let client: Client;

  beforeAll(async () => {
    cleanup = await configure_demo_site('db');
    app = await build_app(settings);
    client = new Client(app);
  });
  afterAll(async () => {
    await client.close();
    await cleanup();
  });
  beforeEach(() => client.cookies.clear());

  it('is shown on the page exactly as fastify_app.ts has it', () => {
    const page = fs.readFileSync(path.join(ROOT, 'docs/fastify.md'), 'utf8');
    const source = fs.readFileSync(path.join(ROOT, 'fastify_app.ts'), 'utf8');
    expect(page.includes('```ts\n' + source + '```\n')).toBe(true);
  });

  it("serves the host app's routes and Tango's views from one server", async () => {
    expect((await client.get('/api/health')).json()).toEqual({ ok: true });
    expect((await client.get('/add_cookie/')).text).toBe('设置cookie');
    const missing = await client.get('/no-such-page/');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('Not Found');
    expect((await client.get('/get_cookie')).headers.get('location')).toBe('/get_cookie/');
  });

  it('lets the Fastify route read the cookie and session Tango set, and a Tango view read the cookie it set', async () => {
    await client.get('/add_cookie/');
    await client.get('/add_session/');
    const api = await client.get('/api/cookies');
    expect(api.json()).toEqual({ username: 'zhiliao', user_id: 'zhiliao' });
    expect(api.set_cookies).toEqual(['theme=dark; Path=/; SameSite=Lax']);
    const tango_view = (await client.get('/get_cookie/')).text;
    expect(tango_view).toContain('username: zhiliao');
    expect(tango_view).toContain('theme=dark');
  });

  it('answers as the page says after only /add_session/', async () => {
    await client.get('/add_session/');
    expect((await client.get('/api/cookies')).json()).toEqual({ username: null, user_id: 'zhiliao' });
  });
});
