import { HttpResponse } from '../http/response';
import { patch_vary_headers } from '../http/vary';

describe('patch_vary_headers (django.utils.cache.patch_vary_headers)', () => {
  it.each([
    [undefined, ['Cookie'], 'Cookie'],
    [undefined, ['Cookie', 'Accept-Language'], 'Cookie, Accept-Language'],
    ['Accept-Encoding', ['Cookie'], 'Accept-Encoding, Cookie'],
    ['accept-encoding, COOKIE', ['Cookie', 'Accept-Encoding'], 'accept-encoding, COOKIE'],
    ['', ['Cookie'], 'Cookie'],
    ['Accept-Encoding', ['*'], '*'],
    [undefined, ['*'], '*'],
  ])('Vary %p + %p → %p', (before, add, after) => {
    const r = new HttpResponse('x');
    if (before !== undefined) r.headers.set('Vary', before);
    patch_vary_headers(r, add);
    expect(r.headers.get('vary')).toBe(after);
  });
});
