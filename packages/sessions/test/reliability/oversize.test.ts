/**
 * Issue 6, item 7: oversize input and data, through a real listening server.
 *
 *   - A 32 KB Cookie header is over Node's default header limit (16 KB,
 *     `--max-http-header-size`): the server answers 431 and carries on.
 *   - A session larger than the store takes (Memcached: 1 MB per item by
 *     default) is a logged 5xx; nothing is half-written, the previous session
 *     still loads. PostgreSQL and Redis take a 2 MB session.
 *   - A signed-cookie session over 4093 bytes is refused with a logged error
 *     and no cookie; the previous cookie stays valid.
 *
 * memcached answers a SET over its item size limit with "Value too large"
 * *and unlinks the existing item under that key* (on purpose, so that a
 * failed SET never leaves stale data behind): a session saved with SET would
 * be lost whole the first time it grew past 1 MB. The cache engine saves with
 * a CAS-token REPLACE (and creates with ADD), which fail without touching the
 * item; the Memcached case below is what holds it to that.
 */
import { configure } from '@tango/core';
import { close_caches } from '@tango/core/cache';
import { close_connections } from '@tango/core/db';
import { set_stderr_logging } from '@tango/core/log';
import { capture_logs, describe_with } from '@tango/core/testing';
import type { ServiceName } from '@tango/core/testing';
import type { FastifyInstance } from 'fastify';
import { raw_get, raw_http, report, SECRET_KEY, SessionUser, start_app, store_setup, type StoreKind } from './helpers';

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

const KB = 1024;
const MB = 1024 * 1024;

describe('a 32 KB Cookie header', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
    ({ app, base } = await start_app());
  });
  afterAll(() => app?.close());

  it('gets a clean 431 (Node refuses headers over 16 KB), and the server carries on', async () => {
    const user = new SessionUser(0, base);
    expect((await user.request('/incr/?owner=0')).status).toBe(200);
    const session = `sessionid=${user.cookie}`;

    const big = await raw_http(base, raw_get('/read/', [`Cookie: ${session}; pad=${'p'.repeat(32 * KB)}`]));
    expect(big.status).toBe(431);
    expect(big.head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large/);
    expect(big.lines.some((l) => /^set-cookie:/i.test(l))).toBe(false);

    // Just under the limit is served, and the session in it is read.
    const under = await raw_http(base, raw_get('/read/', [`Cookie: ${session}; pad=${'p'.repeat(15 * KB)}`]));
    expect(under.status).toBe(200);
    expect(JSON.parse(under.body.toString())).toEqual({ n: 1, owner: '0' });

    // The same process serves the next request.
    const after = await user.request('/incr/?owner=0');
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toEqual({ n: 2, owner: '0' });
    report(`oversize: a ${32 * KB + session.length + 6}-byte Cookie header → ${big.head.split('\r\n')[0]}; a 15 KB one → 200`);
  });
});

describe('a signed-cookie session over 4093 bytes', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
    ({ app, base } = await start_app());
  });
  afterAll(() => app?.close());

  it('is refused with a logged error and no cookie; the previous cookie stays valid', async () => {
    const user = new SessionUser(0, base);
    await user.request('/incr/?owner=0');
    const small = await user.request('/blob/?size=1000');
    expect(small.status).toBe(200);
    const previous = user.cookie;
    expect(previous).not.toBeNull();

    const logs = capture_logs();
    let big;
    try {
      big = await user.request('/blob/?size=5000');
    } finally {
      logs.stop();
    }
    expect(big.status).toBe(200);
    expect(big.set_session).toBeUndefined();
    expect(user.cookie).toBe(previous);
    const refusals = logs.records.filter((r) => r.name === 'tango.sessions' && r.level === 'error');
    expect(refusals).toHaveLength(1);
    expect(refusals[0].msg).toMatch(/^The session cookie would be \d+ bytes, over the 4093-byte limit browsers keep; it was not sent\./);
    expect(refusals[0].extra).toMatchObject({ code: 'TANGO_SESSION_COOKIE_TOO_LARGE', path: '/blob/' });

    // The browser still holds the previous cookie, and it still reads.
    const again = await user.request('/blob_size/');
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ blob: 1000, n: 1 });
    report(`oversize: signed_cookies, 5000 random characters: ${refusals[0].msg.split(';')[0]}; previous cookie (${previous!.length} bytes) still valid`);
  });
});

const STORES: Array<[StoreKind, ServiceName, boolean]> = [
  ['memcached', 'TEST_MEMCACHED_URL', false],
  ['postgresql', 'TEST_DATABASE_URL', true],
  ['redis', 'TEST_REDIS_URL', true],
];

for (const [kind, service, takes_2mb] of STORES) {
  describe_with(service)(`a 2 MB session on ${kind}`, (url) => {
    const store = store_setup(kind, url);
    let app: FastifyInstance;
    let base: string;
    const users: SessionUser[] = [];

    beforeAll(async () => {
      configure({ SECRET_KEY, SESSION_COOKIE_AGE: 3600, ...store.settings(5000) });
      await store.create();
      ({ app, base } = await start_app());
    });

    afterAll(async () => {
      if (store.engine === 'cache') {
        const { SessionStore } = await import('../../backends/cache');
        for (const u of users) if (u.cookie) await new SessionStore(u.cookie).delete_session().catch(() => undefined);
      }
      await app?.close();
      await close_connections();
      await close_caches();
      await store.drop();
    });

    if (takes_2mb) {
      it('is saved and loads back whole', async () => {
        const user = new SessionUser(0, base);
        users.push(user);
        expect((await user.request('/incr/?owner=0')).status).toBe(200);
        const saved = await user.request(`/blob/?size=${2 * MB}`);
        expect(saved.status).toBe(200);
        const back = await user.request('/blob_size/');
        expect(JSON.parse(back.body)).toEqual({ blob: 2 * MB, n: 1 });
        report(`oversize: ${kind} saved and reloaded a 2 MB session (${Math.round(saved.ms)} ms to save)`);
      });
    } else {
      it('is refused with a logged 5xx; nothing is half-written, the previous session still loads', async () => {
        const user = new SessionUser(0, base);
        users.push(user);
        expect((await user.request('/incr/?owner=0')).status).toBe(200);
        expect((await user.request('/blob/?size=1000')).status).toBe(200);
        const key = user.cookie;

        const logs = capture_logs();
        let big;
        try {
          big = await user.request(`/blob/?size=${2 * MB}`);
        } finally {
          logs.stop();
        }
        expect([500, 503]).toContain(big.status);
        expect(big.set_session).toBeUndefined();
        expect(user.cookie).toBe(key);
        const errors = logs.records.filter((r) => r.name === 'tango.request' && r.level === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0].msg).toMatch(/^(Service Unavailable|Internal Server Error): \/blob\/: .+/);
        // The reason names the size problem.
        expect(errors[0].msg).toMatch(/too large|limit/i);

        const back = await user.request('/blob_size/');
        expect(back.status).toBe(200);
        expect(JSON.parse(back.body)).toEqual({ blob: 1000, n: 1 });

        // A new session that is too big from the start gets no cookie at all.
        const fresh = new SessionUser(1, base);
        users.push(fresh);
        const first = await fresh.request(`/blob/?size=${2 * MB}`);
        expect([500, 503]).toContain(first.status);
        expect(fresh.cookie).toBeNull();
        report(`oversize: ${kind} refused a 2 MB session with ${big.status} in ${Math.round(big.ms)} ms, logged "${errors[0].msg}"; the previous session still loads`);
      });
    }
  });
}
