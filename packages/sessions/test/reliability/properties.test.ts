/**
 * Issue 6, item 1: the property tests that the unit suites did not cover
 * (packages/core/test/cookies.test.ts and signing.test.ts check parse_cookie,
 * set_cookie quoting and dumps() tampering in-process). Here, through a real
 * listening server (fast-check, fixed seed):
 *
 *   - random Cookie header bytes never crash a request and never yield a
 *     cookie name or value that was not sent (Node itself answers 400 for the
 *     bytes HTTP forbids in a header);
 *   - random strings round-trip through set_cookie → Set-Cookie → Cookie →
 *     request.COOKIES;
 *   - every single-character change to a signed session cookie
 *     (signed_cookies engine) is rejected: the view sees an empty session
 *     (exhaustively in-process, sampled over the wire), and the same for a
 *     set_signed_cookie value;
 *   - signature comparison goes through crypto.timingSafeEqual.
 */
import crypto = require('node:crypto');
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { configure, create_app, HttpRequest, HttpResponse, JsonResponse, path } from '@tango/core';
import { cookie_unquote, decode_cookie_header } from '@tango/core/http/cookies';
import { set_stderr_logging } from '@tango/core/log';
import { SessionMiddleware } from '../../middleware';
import { SessionStore as SignedCookieStore } from '../../backends/signed_cookies';
import { raw_get, raw_http, report, SECRET_KEY, SessionUser, urlpatterns as session_views } from './helpers';

const SEED = 20240606;

function cookies_view(request: HttpRequest): HttpResponse {
  return new JsonResponse({ items: request.COOKIES.items(), session: request.session.items() });
}

function set_view(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('set');
  response.set_cookie('v', request.GET.get('v', ''));
  return response;
}

function get_view(request: HttpRequest): HttpResponse {
  return new JsonResponse({ v: request.COOKIES.get('v', null) });
}

function set_signed_view(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('set');
  response.set_signed_cookie('signed', request.GET.get('v', ''), { salt: 'prop' });
  return response;
}

function get_signed_view(request: HttpRequest): HttpResponse {
  return new JsonResponse({ v: request.get_signed_cookie('signed', null, { salt: 'prop' }) });
}

const urlpatterns = [
  ...session_views,
  path('cookies/', cookies_view),
  path('set/', set_view),
  path('get/', get_view),
  path('set_signed/', set_signed_view),
  path('get_signed/', get_signed_view),
];

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  set_stderr_logging(false);
  configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
  app = await create_app({ urlpatterns, middleware: [SessionMiddleware] });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1');
});

/** A value parse_cookie returned is a piece of the chunk, or the unquoting of a `"…"` piece of it. */
function derived_from(chunk: string, value: string): boolean {
  if (chunk.includes(value)) return true;
  const quotes: number[] = [];
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === '"') quotes.push(i);
  for (let a = 0; a < quotes.length; a++) {
    for (let b = a + 1; b < quotes.length; b++) {
      if (cookie_unquote(chunk.slice(quotes[a], quotes[b] + 1)) === value) return true;
    }
  }
  return false;
}

describe('random Cookie headers over a real server', () => {
  // Bytes, as Latin-1 characters: anything but CR and LF, which would end the header line.
  const any_byte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 10 && b !== 13).map((b) => String.fromCharCode(b));
  const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  const piece = fc.constantFrom(
    '=', ';', '"', '\\', ' ', ',', '\t', 'a', 'Z', '0', 'sessionid', 'sessionid=', 'csrftoken=', '"\\"', '\\073', '\x00', '\x7f',
    utf8('é'), utf8('清'), utf8('😀'), '\xff', '\xc3', 'e30:1r31eq:', '.eJy',
  );
  const header = fc.oneof(
    fc.string({ unit: any_byte, maxLength: 120 }),
    fc.string({ unit: piece, maxLength: 40 }),
    fc.array(fc.tuple(fc.string({ unit: piece, maxLength: 4 }), fc.string({ unit: fc.oneof(piece, any_byte), maxLength: 12 })), { maxLength: 6 })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('; ')),
  );

  it('never crash a request and never yield a name or value that was not sent', async () => {
    let served = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(header, async (raw) => {
        const res = await raw_http(base, raw_get('/cookies/', [`Cookie: ${raw}`]));
        // Node's parser refuses control characters in a header value: a 400, before any of our code runs.
        if (res.status === 400) {
          expect(raw).toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
          refused++;
          return;
        }
        expect(res.status).toBe(200);
        served++;
        const { items, session } = JSON.parse(res.body.toString('utf8')) as { items: Array<[string, string]>; session: unknown[] };
        // What the server saw: the bytes without surrounding whitespace, decoded as Django decodes them.
        const text = decode_cookie_header(raw.replace(/^[ \t]+|[ \t]+$/g, ''));
        const chunks = text.split(';');
        for (const [k, v] of items) {
          expect(k).not.toMatch(/[;=]/);
          expect(chunks.some((c) => c.includes(k) && derived_from(c.includes('=') ? c.slice(c.indexOf('=') + 1) : c, v))).toBe(true);
        }
        // No random bytes are a signed session.
        expect(session).toEqual([]);
      }),
      { seed: SEED, numRuns: 2000 },
    );
    expect(served).toBeGreaterThan(800);
    expect(refused).toBeGreaterThan(0);
    report(`properties: 2000 random Cookie headers over a real server: ${served} served (every cookie traced to the bytes sent), ${refused} refused by Node with a 400 (control bytes), no crash`);
    // Still serving.
    expect((await raw_http(base, raw_get('/cookies/', ['Cookie: a=1']))).status).toBe(200);
  }, 120_000);
});

describe('set_cookie → the wire → request.COOKIES over a real server', () => {
  // Strings a browser can carry back: no lone surrogates (set_cookie refuses those).
  const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }))
    .filter((s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s));

  it('any string round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const set = await raw_http(base, raw_get(`/set/?v=${encodeURIComponent(v)}`));
        expect(set.status).toBe(200);
        const lines = set.lines.filter((l) => /^set-cookie:/i.test(l));
        expect(lines).toHaveLength(1);
        // What a browser keeps: the name=value pair before the first attribute, as bytes.
        const pair = /^set-cookie: (v=.*?); Path=\/$/i.exec(lines[0]);
        expect(pair).not.toBeNull();
        const got = await raw_http(base, raw_get('/get/', [`Cookie: ${pair![1]}`]));
        expect(JSON.parse(got.body.toString('utf8'))).toEqual({ v });
      }),
      { seed: SEED, numRuns: 1000 },
    );
  }, 120_000);
});

/** Every string that differs from `s` in exactly one character drawn from `alphabet`. */
function* single_changes(s: string, alphabet: string): Generator<string> {
  for (let i = 0; i < s.length; i++) {
    for (const c of alphabet) if (c !== s[i]) yield s.slice(0, i) + c + s.slice(i + 1);
  }
}

// Everything a cookie value made by signing can hold, and the characters next to them.
const SIGNED_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:.=+/ ';

describe('a signed session cookie (signed_cookies engine)', () => {
  let cookie: string;

  beforeAll(async () => {
    const user = new SessionUser(7, base);
    expect((await user.request('/incr/?owner=7')).status).toBe(200);
    cookie = user.cookie as string;
    // Sanity: the untouched cookie reads.
    const s = new SignedCookieStore(cookie);
    await s.preload();
    expect(s.items()).toEqual([['owner', '7'], ['n', 1]]);
  });

  it('rejects every single-character change (exhaustive, in-process)', async () => {
    let tried = 0;
    for (const tampered of single_changes(cookie, SIGNED_ALPHABET)) {
      const s = new SignedCookieStore(tampered);
      await s.preload();
      if (s.keys().length !== 0) throw new Error(`accepted a tampered cookie: ${tampered}`);
      tried++;
    }
    expect(tried).toBeGreaterThanOrEqual(cookie.length * (SIGNED_ALPHABET.length - 1));
    report(`properties: all ${tried} single-character changes of a ${cookie.length}-character signed session cookie rejected`);
  });

  it('rejects single-character changes sent to a real server', async () => {
    // Printable ASCII and Latin-1 letters: what an HTTP client lets through in a header.
    const replacement = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c < 0x7f || c >= 0xa0).map((c) => String.fromCharCode(c));
    await fc.assert(
      fc.asyncProperty(fc.nat(), replacement, async (index, c) => {
        const i = index % cookie.length;
        fc.pre(cookie[i] !== c);
        const tampered = cookie.slice(0, i) + c + cookie.slice(i + 1);
        const res = await raw_http(base, raw_get('/read/', [`Cookie: sessionid=${tampered}`]));
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body.toString('utf8'))).toEqual({ n: null, owner: null });
      }),
      { seed: SEED, numRuns: 1500 },
    );
  }, 120_000);
});

describe('a set_signed_cookie value', () => {
  it('rejects every single-character change (sampled, real server)', async () => {
    const set = await raw_http(base, raw_get('/set_signed/?v=zhiliao'));
    const signed = /^set-cookie: signed=([^;]+); Path=\/$/i.exec(set.lines.find((l) => /^set-cookie:/i.test(l)) ?? '')?.[1];
    expect(signed).toMatch(/^zhiliao:[0-9A-Za-z]+:[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse((await raw_http(base, raw_get('/get_signed/', [`Cookie: signed=${signed}`]))).body.toString())).toEqual({ v: 'zhiliao' });
    const s = signed as string;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom(...SIGNED_ALPHABET), async (index, c) => {
        const i = index % s.length;
        fc.pre(s[i] !== c);
        const res = await raw_http(base, raw_get('/get_signed/', [`Cookie: signed=${s.slice(0, i)}${c}${s.slice(i + 1)}`]));
        expect(JSON.parse(res.body.toString())).toEqual({ v: null });
      }),
      { seed: SEED, numRuns: 1000 },
    );
  }, 120_000);
});

describe('signature comparison is constant-time', () => {
  afterEach(() => jest.restoreAllMocks());

  it('constant_time_compare, and so every signature check, goes through crypto.timingSafeEqual', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    // Fresh copies of the modules, so that they bind the spied function.
    jest.isolateModules(() => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { constant_time_compare } = require('@tango/core/crypto') as typeof import('@tango/core/crypto');
      const signing = require('@tango/core/signing') as typeof import('@tango/core/signing');
      const { configure: fresh_configure } = require('@tango/core/conf') as typeof import('@tango/core/conf');
      /* eslint-enable @typescript-eslint/no-require-imports */
      fresh_configure({ SECRET_KEY });

      expect(constant_time_compare('abc', 'abc')).toBe(true);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(constant_time_compare('abc', 'abd')).toBe(false);
      expect(spy).toHaveBeenCalledTimes(2);
      // Different lengths still cost one full comparison.
      expect(constant_time_compare('abc', 'abcd')).toBe(false);
      expect(spy).toHaveBeenCalledTimes(3);

      spy.mockClear();
      const signed = signing.dumps({ user_id: 'zhiliao' }, { salt: 'django.contrib.sessions.backends.signed_cookies', compress: true });
      expect(signing.loads(signed, { salt: 'django.contrib.sessions.backends.signed_cookies' })).toEqual({ user_id: 'zhiliao' });
      expect(spy).toHaveBeenCalledTimes(1);
      const [got, want] = spy.mock.calls[0] as [Buffer, Buffer];
      expect(Buffer.from(got).toString()).toBe(signed.slice(signed.lastIndexOf(':') + 1));
      expect(Buffer.from(want).toString()).toBe(signed.slice(signed.lastIndexOf(':') + 1));

      spy.mockClear();
      const forged = `${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`;
      expect(() => signing.loads(forged, { salt: 'django.contrib.sessions.backends.signed_cookies' })).toThrow(/^Signature ".*" does not match$/);
      expect(spy).toHaveBeenCalled();
    });
  });
});
