/**
 * Slow clients over raw sockets (issue 19, item 6). A POST whose body arrives
 * one byte a second, headers sent a line at a time, a connection that sends
 * nothing: each is answered 408 and closed within its limit
 * (REQUEST_TIMEOUT, REQUEST_HEADERS_TIMEOUT), and connections beyond
 * MAX_CONNECTIONS are closed as they arrive while an ordinary request is
 * served once the slow ones are gone. Small limits keep the test short.
 */
import { configure, path, HttpRequest, HttpResponse, ImproperlyConfigured } from '@tango/core';
import { Client, capture_logs } from '@tango/core/testing';
import { checking_interval } from '../server_limits';
import { dribble, status_of } from './slow_socket';

const HEADERS_MS = 1500;
const REQUEST_MS = 2000;
const MAX = 4;
// Node sweeps for late requests every checking_interval; the rest is a loaded machine's slack.
const SLACK_MS = 1000;

let views_run = 0;
function echo(request: HttpRequest): HttpResponse {
  views_run++;
  return new HttpResponse(`got ${request.body.length}`);
}

/** A figure for docs/reliability.md, printed as the other reliability suites print theirs. */
function report(what: string, ms: number): void {
  process.stdout.write(`[reliability] slow clients: ${what} closed after ${ms} ms\n`);
}

describe('slow clients are cut off within their limits', () => {
  let client: Client;
  let port: number;

  beforeAll(async () => {
    configure({
      SECRET_KEY: 'slow-clients-secret', MIDDLEWARE: [],
      REQUEST_HEADERS_TIMEOUT: HEADERS_MS, REQUEST_TIMEOUT: REQUEST_MS, MAX_CONNECTIONS: MAX,
    });
    client = new Client({ urlpatterns: [path('echo/', echo)], middleware: [] });
    port = Number(new URL(await client.url()).port);
  });
  afterAll(async () => {
    await client.close();
    configure({ SECRET_KEY: 'slow-clients-secret', MIDDLEWARE: [] });
  });
  beforeEach(() => (views_run = 0));

  it('the sweep runs often enough to keep a 1.5 s limit', () => {
    expect(checking_interval({ REQUEST_HEADERS_TIMEOUT: HEADERS_MS, REQUEST_TIMEOUT: REQUEST_MS, KEEP_ALIVE_TIMEOUT: 0, MAX_CONNECTIONS: MAX })).toBe(150);
  });

  it('a body dribbled one byte a second is answered 408 and closed within REQUEST_TIMEOUT', async () => {
    const head = 'POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n';
    const res = await dribble(port, head, 'a', 1000);
    report(`body at 1 byte/s, REQUEST_TIMEOUT ${REQUEST_MS} ms:`, res.closed_after);
    expect(status_of(res.data)).toBe(408);
    expect(res.closed_after).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(res.closed_after).toBeLessThan(REQUEST_MS + SLACK_MS);
    expect(views_run).toBe(0);
  });

  it('headers sent a line every 400 ms are answered 408 and closed within REQUEST_HEADERS_TIMEOUT', async () => {
    const res = await dribble(port, 'GET /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: y\r\n', 400);
    report(`a header line every 400 ms, REQUEST_HEADERS_TIMEOUT ${HEADERS_MS} ms:`, res.closed_after);
    expect(status_of(res.data)).toBe(408);
    expect(res.closed_after).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(res.closed_after).toBeLessThan(HEADERS_MS + SLACK_MS);
    expect(views_run).toBe(0);
  });

  it('a connection that sends nothing is closed within REQUEST_HEADERS_TIMEOUT', async () => {
    const res = await dribble(port, '', '', 0);
    report(`a silent connection, REQUEST_HEADERS_TIMEOUT ${HEADERS_MS} ms:`, res.closed_after);
    expect(res.closed_after).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('a request that arrives in time is served, its body whole', async () => {
    const res = await dribble(port, 'POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc', '', 0);
    expect(status_of(res.data)).toBe(200);
    expect(res.data.endsWith('got 3')).toBe(true);
  });

  it('connections beyond MAX_CONNECTIONS are closed at once (and logged); an ordinary request succeeds after the slow ones go', async () => {
    const logs = capture_logs();
    try {
      const head = 'POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n';
      const slow = Array.from({ length: MAX }, () => dribble(port, head, 'a', 500));
      await Promise.all(slow.map((s) => new Promise((resolve) => s.socket.once('connect', resolve))));
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Every slot is held: one more is closed without an answer, well before any limit.
      const extra = await dribble(port, 'GET /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '', 0);
      report(`connection ${MAX + 1} with MAX_CONNECTIONS ${MAX}:`, extra.closed_after);
      expect(extra.data).toBe('');
      expect(extra.closed_after).toBeLessThan(500);
      expect(logs.records.some((r) => r.name === 'tango.security.MaxConnections' && /MAX_CONNECTIONS = 4/.test(r.msg))).toBe(true);
      // The slow ones are cut off by REQUEST_TIMEOUT, which frees their slots.
      for (const res of await Promise.all(slow)) {
        expect(status_of(res.data)).toBe(408);
        expect(res.closed_after).toBeLessThan(REQUEST_MS + SLACK_MS);
      }
      const ok = await client.post('/echo/', 'hello');
      expect(ok.status).toBe(200);
      expect(ok.text).toBe('got 5');
    } finally {
      logs.stop();
    }
  });

  it('REQUEST_HEADERS_TIMEOUT larger than REQUEST_TIMEOUT is one clear start-up error', () => {
    expect(() => configure({ SECRET_KEY: 's', REQUEST_HEADERS_TIMEOUT: 5000, REQUEST_TIMEOUT: 1000 }))
      .toThrow(new ImproperlyConfigured('Invalid setting REQUEST_HEADERS_TIMEOUT = 5000: expected no larger than REQUEST_TIMEOUT (the headers are part of the request).'));
    expect(() => configure({ SECRET_KEY: 's', MAX_CONNECTIONS: -1 })).toThrow(/MAX_CONNECTIONS = -1/);
    configure({ SECRET_KEY: 'slow-clients-secret', MIDDLEWARE: [], REQUEST_HEADERS_TIMEOUT: HEADERS_MS, REQUEST_TIMEOUT: REQUEST_MS, MAX_CONNECTIONS: MAX });
  });
});
