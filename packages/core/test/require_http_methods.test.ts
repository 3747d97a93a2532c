/** django.views.decorators.http's require_POST and friends, on real requests through a listening server. */
import { capture_logs } from '../log';
import { configure, HttpResponse, path, require_GET, require_POST, require_safe, type HttpRequest } from '..';
import { create_app } from '../server';

const changed: string[] = [];
const change = require_POST(function change(request: HttpRequest): HttpResponse {
  changed.push(request.method);
  return new HttpResponse('changed');
});
const read = require_safe((request: HttpRequest) => new HttpResponse(`read ${request.method}`));
const only_get = require_GET((_request: HttpRequest, id: number) => new HttpResponse(`item ${id}`));

describe('require_POST / require_safe / require_GET', () => {
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    configure({ SECRET_KEY: 'require-methods-test-secret', MIDDLEWARE: [] });
    const app = await create_app({
      urlpatterns: [path('change/', change), path('read/', read), path('item/<int:id>/', only_get)],
      middleware: [],
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  afterAll(() => close());

  it('POST reaches the view; GET and HEAD get 405 with Allow: POST and never run it, logged on tango.request', async () => {
    const logs = capture_logs();
    try {
      expect((await fetch(`${base}/change/`, { method: 'POST' })).status).toBe(200);
      for (const method of ['GET', 'HEAD', 'PUT']) {
        const res = await fetch(`${base}/change/`, { method });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('POST');
      }
      expect(changed).toEqual(['POST']);
      const warned = logs.records.filter((r) => r.name === 'tango.request' && r.level === 'warn').map((r) => r.msg);
      expect(warned).toEqual(['Method Not Allowed (GET): /change/', 'Method Not Allowed (HEAD): /change/', 'Method Not Allowed (PUT): /change/']);
    } finally {
      logs.stop();
    }
  });

  it('require_safe allows GET and HEAD; require_GET passes URL arguments through and keeps the view name', async () => {
    expect(await (await fetch(`${base}/read/`)).text()).toBe('read GET');
    expect((await fetch(`${base}/read/`, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(`${base}/read/`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect(await (await fetch(`${base}/item/7/`)).text()).toBe('item 7');
    expect(change.name).toBe('change');
  });
});
