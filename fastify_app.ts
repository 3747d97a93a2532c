/**
 * The demo project served by a Fastify app of your own (docs/fastify.md):
 * Fastify routes and plugins beside Tango's views, in one server.
 * Run it with `npx ts-node fastify_app.ts`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import tango, { server_options } from '@tango/core/fastify';
import { load_settings, type Settings } from '@tango/core';
import { get_session_store_class } from '@tango/sessions';

export async function build_app(settings: Settings = load_settings('./settings', __dirname)): Promise<FastifyInstance> {
  // Tango's slow-client limits belong to the server, so they are given to Fastify().
  const app = Fastify({ ...server_options(settings) });
  await app.register(cookie);

  app.get('/api/health', async () => ({ ok: true }));

  // A Fastify route reads the cookies Tango's views set (the tutorial's
  // `username`, the session's `sessionid`), and sets one a Tango view reads.
  app.get('/api/cookies', async (request, reply) => {
    reply.setCookie('theme', 'dark', { path: '/' });
    const SessionStore = get_session_store_class();
    const session = new SessionStore(request.cookies[settings.SESSION_COOKIE_NAME] ?? null);
    await session.preload();
    return { username: request.cookies.username ?? null, user_id: session.get('user_id', null) };
  });

  // Everything no Fastify route matches goes to Tango: its URLconf, middleware and 404.
  await app.register(tango, { settings });
  return app;
}

if (require.main === module) {
  void build_app().then((app) => app.listen({ host: '127.0.0.1', port: 8000 }));
}
