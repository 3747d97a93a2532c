/**
 * Issue 19, items 7 and 9, on the session side, through a real server.
 *
 *   7. A signed_cookies session cookie of ~11 KB, signed with the right key,
 *      that inflates to 8 MB reads as a bad cookie (an empty session), at the
 *      cost of inflating 1 MiB at most (SIGNING_MAX_DECOMPRESSED_SIZE), not
 *      8 MB per request. The engine never issues a cookie it would refuse:
 *      a session whose JSON is over the limit is not saved (logged, no
 *      cookie), and the previous cookie keeps working.
 *   9. set_expiry() refuses what would silently mean "no expiry set".
 */
import { deflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { configure, create_app, HttpRequest, HttpResponse, JsonResponse, path as url } from '@tango/core';
import { set_stderr_logging } from '@tango/core/log';
import { b64_encode, TimestampSigner } from '@tango/core/signing';
import { capture_logs } from '@tango/core/testing';
import { SessionMiddleware } from '../../middleware';
import { SessionStore } from '../../backends/signed_cookies';
import { report, SECRET_KEY, SessionUser } from './helpers';

const SALT = 'django.contrib.sessions.backends.signed_cookies';
const MiB = 1024 * 1024;

const views = [
  url('read/', (r: HttpRequest) => new JsonResponse({ n: r.session.get('n', null), pad: (r.session.get<string>('pad') ?? '').length })),
  url('incr/', (r: HttpRequest) => {
    r.session.set('n', (r.session.get<number>('n', 0) as number) + 1);
    return new JsonResponse({ n: r.session.get('n') });
  }),
  // Very repetitive data: a few KB of cookie, megabytes of JSON.
  url('repeat/', (r: HttpRequest) => {
    r.session.set('pad', 'a'.repeat(Number(r.GET.get('size'))));
    return new HttpResponse('stored');
  }),
];

/** The cookie the engine would write for `data` if it compressed at any size (what a key holder can make). */
function forged_cookie(data: unknown): string {
  return new TimestampSigner({ salt: SALT }).sign(`.${b64_encode(deflateSync(Buffer.from(JSON.stringify(data), 'latin1'), { level: 9 }))}`);
}

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

describe('item 7: a signed_cookies session is inflated to SIGNING_MAX_DECOMPRESSED_SIZE at most', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
    app = await create_app({ urlpatterns: views, middleware: [SessionMiddleware] });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app?.close());

  async function timed(cookie: string, rounds: number): Promise<{ ms: number; body: unknown }> {
    const user = new SessionUser(0, base);
    let body: unknown;
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) {
      user.cookie = cookie;
      const out = await user.request('/read/');
      expect(out.status).toBe(200);
      body = JSON.parse(out.body);
    }
    return { ms: (performance.now() - t0) / rounds, body };
  }

  it('an 11 KB cookie that inflates to 8 MB reads as an empty session, quickly', async () => {
    const cookie = forged_cookie({ n: 7, pad: 'a'.repeat(8 * MiB) });
    expect(cookie.length).toBeLessThan(12 * 1024);
    await timed(cookie, 3); // warm-up
    const capped = await timed(cookie, 20);
    expect(capped.body).toEqual({ n: null, pad: 0 });

    // The same cookie is genuine: without the limit it loads (what main did, on every request).
    configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies', SIGNING_MAX_DECOMPRESSED_SIZE: null });
    const heap0 = process.memoryUsage().rss;
    const uncapped = await timed(cookie, 20);
    const heap1 = process.memoryUsage().rss;
    configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
    expect(uncapped.body).toEqual({ n: 7, pad: 8 * MiB });
    report(`inflate: a ${cookie.length}-byte signed_cookies session inflating to 8 MiB: ${capped.ms.toFixed(1)} ms/request capped at 1 MiB (empty session), ` +
      `${uncapped.ms.toFixed(1)} ms/request uncapped (RSS +${Math.round((heap1 - heap0) / MiB)} MiB over 20 requests)`);
  });

  it('a session whose JSON is over the limit is not saved (logged, no cookie); the previous cookie still reads', async () => {
    const user = new SessionUser(1, base);
    expect((await user.request('/incr/')).status).toBe(200);
    const previous = user.cookie;

    const logs = capture_logs();
    let big;
    try {
      big = await user.request(`/repeat/?size=${2 * MiB}`);
    } finally {
      logs.stop();
    }
    expect(big.status).toBe(200);
    expect(big.set_session).toBeUndefined();
    const refusals = logs.records.filter((r) => r.name === 'tango.sessions' && r.level === 'error');
    expect(refusals).toHaveLength(1);
    expect(refusals[0].msg).toMatch(/^The session data is \d+ bytes of JSON, over SIGNING_MAX_DECOMPRESSED_SIZE \(1048576\); it was not sent\./);
    expect(user.cookie).toBe(previous);
    expect(JSON.parse((await user.request('/read/')).body)).toEqual({ n: 1, pad: 0 });

    // Under the limit, a repetitive session is saved and reads back.
    expect((await user.request(`/repeat/?size=${MiB - 100}`)).set_session).toBeDefined();
    expect(JSON.parse((await user.request('/read/')).body)).toEqual({ n: 1, pad: MiB - 100 });
    report(`inflate: signed_cookies refused to save 2 MiB of repetitive JSON: "${refusals[0].msg.split(';')[0]}"`);
  });
});

describe('item 9: set_expiry() never silently drops the expiry', () => {
  beforeAll(() => configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' }));

  it.each<[string, unknown]>([
    ['a string', '10'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an invalid Date', new Date('nope')],
    ['an object', { seconds: 10 }],
    ['a boolean', true],
  ])('%s is a TypeError and leaves the expiry as it was', (_what, bad) => {
    const s = new SessionStore();
    s.set_expiry(300);
    expect(() => s.set_expiry(bad as number)).toThrow(TypeError);
    expect(s.get_expiry_age()).toBe(300);
  });

  it('numbers, Dates and null still work', () => {
    const s = new SessionStore();
    s.set_expiry(0);
    expect(s.get_expire_at_browser_close()).toBe(true);
    s.set_expiry(60);
    expect(s.get_expiry_age()).toBe(60);
    s.set_expiry(null);
    expect(s.get_expiry_age()).toBe(1209600);
  });
});
