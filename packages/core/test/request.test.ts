import { HttpRequest } from '../http/request';
import { HttpResponse } from '../http/response';

describe('HttpRequest', () => {
  it('remote_addr is a given string, or a lookup run once when first read', () => {
    expect(new HttpRequest({ remote_addr: '10.0.0.1' }).remote_addr).toBe('10.0.0.1');
    expect(new HttpRequest().remote_addr).toBeUndefined();
    let lookups = 0;
    const request = new HttpRequest({ remote_addr: () => (lookups++, '192.0.2.7') });
    expect(lookups).toBe(0);
    expect([request.remote_addr, request.remote_addr, lookups]).toEqual(['192.0.2.7', '192.0.2.7', 1]);
  });

  it('COOKIES of a request without a Cookie header is empty, and each request gets its own view of it', () => {
    const a = new HttpRequest();
    const b = new HttpRequest({ headers: { cookie: '' } });
    expect([a.COOKIES.size, a.COOKIES.get('sessionid'), b.COOKIES.keys()]).toEqual([0, undefined, []]);
    expect(new HttpRequest({ headers: { cookie: 'x=1' } }).COOKIES.items()).toEqual([['x', '1']]);
  });
});

describe('HttpResponse.cookies', () => {
  it('is made on first use; has_cookies says whether any will be sent', () => {
    const response = new HttpResponse('x');
    expect(response.has_cookies).toBe(false);
    expect(response.cookies.size).toBe(0);
    expect(response.cookies).toBe(response.cookies);
    expect(response.has_cookies).toBe(false);
    response.set_cookie('a', '1');
    expect([response.has_cookies, response.cookies.get('a')?.value]).toEqual([true, '1']);
    response.cookies.delete('a');
    expect(response.has_cookies).toBe(false);
  });
});
