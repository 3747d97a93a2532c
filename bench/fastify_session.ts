/**
 * The same session views on @fastify/session with a Redis store: the
 * comparison issue 20 names for the hot session (S6), run beside Tango's
 * cache engine on the bench's Redis database.
 *
 *   node -r ts-node/register bench/fastify_session.ts [--port 0]
 *
 * @fastify/session keeps sessions as JSON under `sess:<id>` with a TTL of
 * the cookie's max age, signs its cookie with one secret, and saves a
 * changed session with one SET (last write wins: no merge of concurrent
 * saves, which Tango's compare-and-swap does). The cookie is named
 * `sessionid` so that the bench's load generator sends it unchanged.
 */
import type { AddressInfo } from 'node:net';
import { serve_bench_child } from './child_ipc';
import fastify_cookie from '@fastify/cookie';
import fastify_session from '@fastify/session';
import Fastify, { type Session } from 'fastify';
import { PATHS, REDIS_URL, SECRET_KEY, SESSION_COOKIE_AGE, SESSION_COOKIE_NAME } from './config';

interface RedisLike {
  connect(): Promise<unknown>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, o: object): Promise<string | null>;
  del(key: string): Promise<number>;
  quit(): Promise<unknown>;
}

declare module 'fastify' {
  interface Session {
    user_id?: string;
    count?: number;
  }
}

const port_at = process.argv.indexOf('--port');
const port = port_at === -1 ? 0 : Number(process.argv[port_at + 1]);
const PREFIX = 'fastify_session_bench:';
const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createClient: create_client } = require('@redis/client') as { createClient: (o: object) => RedisLike };
  const client = create_client({ url: REDIS_URL, disableOfflineQueue: true });
  await client.connect();
  // The store interface @fastify/session documents: get/set/destroy with callbacks.
  const store = {
    get(id: string, done: (err: unknown, session?: Session | null) => void) {
      client.get(PREFIX + id).then((raw) => done(null, raw === null ? null : (JSON.parse(raw) as Session)), done);
    },
    set(id: string, session: Session, done: (err?: unknown) => void) {
      client.set(PREFIX + id, JSON.stringify(session), { EX: SESSION_COOKIE_AGE }).then(() => done(), done);
    },
    destroy(id: string, done: (err?: unknown) => void) {
      client.del(PREFIX + id).then(() => done(), done);
    },
  };

  const app = Fastify({ logger: false });
  await app.register(fastify_cookie);
  await app.register(fastify_session, {
    secret: SECRET_KEY,
    cookieName: SESSION_COOKIE_NAME,
    cookie: { secure: false, httpOnly: true, maxAge: SESSION_COOKIE_AGE * 1000, sameSite: 'lax' },
    saveUninitialized: false,
    store,
  });

  app.get(PATHS.S3, async (req, reply) => {
    reply.type(TEXT).header('vary', 'Cookie');
    return `user_id: ${req.session.user_id ?? '(none)'}`;
  });
  app.get(PATHS.S4, async (req, reply) => {
    req.session.user_id = 'zhiliao';
    reply.type(HTML).header('vary', 'Cookie');
    return 'session add';
  });
  app.get(PATHS.S5, async (req, reply) => {
    const count = (req.session.count ?? 0) + 1;
    req.session.count = count;
    reply.type(TEXT).header('vary', 'Cookie');
    return `count: ${count}`;
  });

  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address() as AddressInfo;
  serve_bench_child(address.port, '@fastify/session', async () => {
    await app.close();
    await client.quit();
  });
}

main().catch((err: unknown) => {
  console.error(`fastify_session.ts: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
