/**
 * The Host header over a real socket (issue 19, item 5): an ill-formed Host,
 * a Host that only ends like an allowed domain, and two Host headers are a
 * 400 logged on tango.security before any view runs; request.get_host()
 * never returns the attacker's text.
 */
import * as net from 'node:net';
import { configure, path, HttpRequest, HttpResponse } from '@tango/core';
import { Client, capture_logs } from '@tango/core/testing';

const seen: string[] = [];

function host_view(request: HttpRequest): HttpResponse {
  const host = request.get_host();
  seen.push(host);
  return new HttpResponse(`host=${host}`);
}

/** Sends `head` as the raw request head and resolves with the status line's code and the body. */
function raw(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), text: data.split('\r\n\r\n').slice(1).join('\r\n\r\n') }));
  });
}

describe('the Host header over the wire', () => {
  let client: Client;
  let port: number;

  beforeAll(async () => {
    configure({ SECRET_KEY: 'host-test-secret', MIDDLEWARE: [], ALLOWED_HOSTS: ['.example.com'] });
    client = new Client({ urlpatterns: [path('host/', host_view)], middleware: [] });
    port = Number(new URL(await client.url()).port);
  });
  afterAll(async () => {
    await client.close();
    configure({ SECRET_KEY: 'host-test-secret', MIDDLEWARE: [] });
  });
  beforeEach(() => (seen.length = 0));

  it('an allowed host reaches the view and get_host() returns it', async () => {
    const res = await raw(port, 'GET /host/ HTTP/1.1\r\nHost: shop.example.com:8000');
    expect(res).toEqual({ status: 200, text: 'host=shop.example.com:8000' });
  });

  it.each([
    'evil.com/.example.com',
    'evil.com?.example.com',
    'evil.com#.example.com',
    'a@evil.com:80',
    'evil.com\\.example.com',
    'evil.com .example.com',
  ])('Host %j is a 400 logged on tango.security; no view sees it', async (host) => {
    const logs = capture_logs();
    try {
      const res = await raw(port, `GET /host/ HTTP/1.1\r\nHost: ${host}`);
      expect(res.status).toBe(400);
      expect(res.text).not.toContain('host=');
      expect(seen).toEqual([]);
      expect(logs.records.filter((r) => r.name.startsWith('tango.security')).map((r) => r.msg).join('\n')).toContain('Invalid HTTP_HOST header');
    } finally {
      logs.stop();
    }
  });

  it('two Host headers are a 400, whichever comes first', async () => {
    const logs = capture_logs();
    try {
      for (const [a, b] of [['shop.example.com', 'evil.com'], ['evil.com', 'shop.example.com'], ['shop.example.com', 'shop.example.com']]) {
        const res = await raw(port, `GET /host/ HTTP/1.1\r\nHost: ${a}\r\nHost: ${b}`);
        expect(res.status).toBe(400);
      }
      expect(seen).toEqual([]);
      expect(logs.records.filter((r) => r.name.startsWith('tango.security')).map((r) => r.msg).join('\n')).toContain('Multiple Host headers');
    } finally {
      logs.stop();
    }
  });

  it("with ALLOWED_HOSTS ['*'] an ill-formed Host is still a 400, and get_host() in a view never returns it", async () => {
    configure({ SECRET_KEY: 'host-test-secret', MIDDLEWARE: [], ALLOWED_HOSTS: ['*'] });
    try {
      for (const host of ['a@evil.com:80', 'evil.com/x', 'evil.com#', 'evil.com\\x']) {
        expect((await raw(port, `GET /host/ HTTP/1.1\r\nHost: ${host}`)).status).toBe(400);
      }
      expect(seen).toEqual([]);
      expect((await raw(port, 'GET /host/ HTTP/1.1\r\nHost: anything.test:81')).text).toBe('host=anything.test:81');
    } finally {
      configure({ SECRET_KEY: 'host-test-secret', MIDDLEWARE: [], ALLOWED_HOSTS: ['.example.com'] });
    }
  });

  it('get_host() itself refuses an ill-formed Host, as Django raises DisallowedHost', () => {
    const request = new HttpRequest({ headers: { host: 'evil.com/.example.com' } });
    expect(() => request.get_host()).toThrow(/not valid according to RFC 1034\/1035/);
    expect(new HttpRequest({ headers: { host: 'a.example.com' } }).get_host()).toBe('a.example.com');
  });
});
