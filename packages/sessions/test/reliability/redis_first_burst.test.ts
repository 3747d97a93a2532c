/**
 * A regression test for a bug the outage suite (issue 6, item 5) found in
 * packages/core/cache/redis.ts: the first requests that reached a Redis cache
 * together, on a fresh app or once the client had given up reconnecting after
 * an outage, got 503 "The client is offline" although Redis was up.
 * @keyv/redis's getClient() returns the client as soon as `isOpen` is true,
 * which node-redis sets when connect() *starts*; only the first caller waited
 * for the connection, and with disableOfflineQueue the others' commands were
 * refused at once. RedisStore.getClient now shares one connection attempt
 * between concurrent callers; a client reconnecting on its own still fails
 * fast, as it should while Redis is away.
 */
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { set_stderr_logging } from '@tango/core/log';
import { describe_with } from '@tango/core/testing';
import type { FastifyInstance } from 'fastify';
import { SECRET_KEY, SessionUser, start_app, store_setup } from './helpers';

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

describe_with('TEST_REDIS_URL')('the first burst of requests on Redis', (url) => {
  let app: FastifyInstance;
  let base: string;
  const users: SessionUser[] = [];

  beforeAll(async () => {
    configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, ...store_setup('redis', url).settings(2000) });
    ({ app, base } = await start_app());
  });

  afterAll(async () => {
    const { SessionStore } = await import('../../backends/cache');
    for (const u of users) if (u.cookie) await new SessionStore(u.cookie).delete_session().catch(() => undefined);
    await app?.close();
    await close_caches();
  });

  it('20 concurrent first requests on a fresh app are all served', async () => {
    for (let i = 0; i < 20; i++) users.push(new SessionUser(i, base));
    const outcomes = await Promise.all(users.map((u) => u.request(`/incr/?owner=${u.id}`)));
    expect(outcomes.map((o) => o.status)).toEqual(users.map(() => 200));
  });
});
