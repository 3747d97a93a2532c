/**
 * The tutorial's cookie views over a real listening server, with a cookie jar,
 * the way a browser uses them: add, read, delete.
 */
import * as path from 'node:path';
import { configure } from '@tango/core';
import { Client } from '@tango/core/testing';

const ROOT = path.resolve(__dirname, '../../..');

describe('demo cookie views', () => {
  let client: Client;

  beforeAll(() => {
    configure({ SECRET_KEY: 'demo-test-secret', ROOT_URLCONF: './apps/demo/urls', MIDDLEWARE: [] }, ROOT);
  });

  beforeEach(() => {
    client = new Client();
  });

  afterEach(async () => {
    await client.close();
  });

  it('add_cookie sets username=zhiliao for seven hours', async () => {
    const before = Date.now();
    const res = await client.get('/add_cookie/');
    expect(res.status).toBe(200);
    expect(res.text).toBe('设置cookie');
    expect(res.set_cookies).toHaveLength(1);
    const line = res.set_cookies[0];
    expect(line).toMatch(/^username=zhiliao; expires=[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT; Max-Age=25200; Path=\/$/);
    const expires = Date.parse(/expires=([^;]+)/.exec(line)![1]);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 25200 * 1000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 25200 * 1000 + 1000);
    expect(client.cookies.get('username')?.value).toBe('zhiliao');
  });

  it('get_cookie reads the cookie back and iterates COOKIES.items()', async () => {
    await client.get('/add_cookie/');
    client.cookies.set('other', 'value');
    const res = await client.get('/get_cookie/');
    expect(res.status).toBe(200);
    expect(res.text.split('\n')).toEqual(expect.arrayContaining(['username: zhiliao', 'username=zhiliao', 'other=value']));
  });

  it('delete_cookie removes it: the next request no longer carries it', async () => {
    await client.get('/add_cookie/');
    const res = await client.get('/delete_cookie/');
    expect(res.set_cookies).toEqual(['username=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/']);
    expect(client.cookies.get('username')).toBeUndefined();
    const after = await client.get('/get_cookie/');
    expect(after.text.startsWith('username: (none)')).toBe(true);
  });

  it('add_cookie_expires: expires wins over max_age, as the tutorial teaches', async () => {
    const res = await client.get('/add_cookie_expires/');
    expect(res.set_cookies[0]).toContain('expires=Tue, 01 Jan 2030 00:00:0');
    const max_age = Number(/Max-Age=(\d+)/.exec(res.set_cookies[0])![1]);
    expect(Math.abs(max_age - (Date.UTC(2030, 0, 1) - Date.now()) / 1000)).toBeLessThan(5);
  });

  it('signed cookie views: set, read back, and a tampered value is refused', async () => {
    const set = await client.get('/add_signed_cookie/');
    expect(set.set_cookies[0]).toMatch(/^signed_user=zhiliao:[0-9A-Za-z]+:[\w-]{43}; /);
    expect((await client.get('/get_signed_cookie/')).text).toBe('signed_user: zhiliao');
    const stored = client.cookies.get('signed_user')!;
    client.cookies.set('signed_user', stored.value.replace('zhiliao', 'admin'));
    expect((await client.get('/get_signed_cookie/')).text).toBe('no valid signed cookie');
  });

  it('a missing trailing slash redirects, an unknown URL is a 404, HEAD works', async () => {
    const redirect = await client.get('/add_cookie');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/add_cookie/');
    expect((await client.get('/no_such_page/')).status).toBe(404);
    const head = await client.head('/get_cookie/');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });
});
