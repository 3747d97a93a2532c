/**
 * The APPEND_SLASH redirect never leaves the site (issue 19, item 4; Django's
 * CVE-2018-14574). With a catch-all `<path:rest>/` route, `GET //evil.com`
 * used to answer `Location: //evil.com/`, which a browser follows to
 * evil.com. Each Location is resolved here as a browser resolves it
 * (WHATWG URL, which also reads '\' as '/'), over a real socket.
 */
import * as http from 'node:http';
import { configure, path, HttpRequest, HttpResponse } from '@tango/core';
import { Client } from '@tango/core/testing';
import { is_same_site_path, same_site_location } from '../http/same_site';

function page(request: HttpRequest, rest: string): HttpResponse {
  return new HttpResponse(`page ${rest}`);
}

/** GET with the request-target exactly as given (fetch and URL would normalise it). */
function get(base: URL, target: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    http.get({ host: base.hostname, port: base.port, path: target }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    }).on('error', reject);
  });
}

describe('APPEND_SLASH redirects stay on the site', () => {
  let client: Client;
  let base: URL;

  beforeAll(async () => {
    configure({ SECRET_KEY: 'append-slash-secret', MIDDLEWARE: [] });
    client = new Client({ urlpatterns: [path('<path:rest>/', page)], middleware: [] });
    base = new URL(await client.url());
  });
  afterAll(() => client.close());

  it.each([
    '//evil.com',
    '///evil.com',
    '/\\evil.com',
    '/\\/evil.com',
    '/%2F%2Fevil.com',
    '//evil.com?next=x',
    '//evil.com/a',
    '/\\\\evil.com',
  ])('GET %s redirects, if at all, to a path of this site', async (target) => {
    const res = await get(base, target);
    if (res.status === 301) {
      const location = res.location ?? '';
      // The browser's reading of the Location: it must land on this origin.
      expect(new URL(location, base).origin).toBe(base.origin);
      expect(location.startsWith('/')).toBe(true);
      expect(location).not.toMatch(/^[/\\]{2}|^\/\\/);
    } else {
      expect(res.status).toBe(404);
    }
  });

  it("'//evil.com' is redirected as Django's escape_leading_slashes writes it, and the target serves", async () => {
    const res = await get(base, '//evil.com');
    expect(res).toEqual({ status: 301, location: '/%2Fevil.com/' });
    const followed = await client.get('/%2Fevil.com/');
    expect(followed.status).toBe(200);
  });

  it('an ordinary missing slash still redirects with its query string', async () => {
    expect(await get(base, '/docs/intro?x=1')).toEqual({ status: 301, location: '/docs/intro/?x=1' });
  });
});

describe('same_site_location (the guard behind every redirect Tango builds)', () => {
  it.each([
    ['//evil.com/', '', '/%2Fevil.com/'],
    ['///evil.com/', '', '/%2F/evil.com/'],
    ['/\\evil.com/', '', '/%5Cevil.com/'],
    ['/%2F%2Fevil.com/', '', '/%2F%2Fevil.com/'],
    ['/a b/', '?q=1', '/a%20b/?q=1'],
    ['/caf\u00e9/', '', '/caf%E9/'],
  ])('%j + %j -> %j', (pathname, query, location) => {
    expect(same_site_location(pathname, query)).toBe(location);
  });

  it('is_same_site_path refuses what a browser would take off-site', () => {
    for (const url of ['//evil.com', '/\\evil.com', 'http://evil.com/', 'evil.com', '\\\\evil.com', '']) expect(is_same_site_path(url)).toBe(false);
    for (const url of ['/', '/a/b/?next=//evil.com', '/%2Fevil.com/']) expect(is_same_site_path(url)).toBe(true);
  });
});
