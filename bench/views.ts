/** Bench-only views, so the demo app stays as the tutorial writes it. */
import { HttpRequest, HttpResponse } from '@tango/core';

/** S5: read a value from the session and write it back changed, every request. */
export function update_session(request: HttpRequest): HttpResponse {
  const count = Number(request.session.get('count', 0)) + 1;
  request.session.set('count', count);
  return new HttpResponse(`count: ${count}`, { content_type: 'text/plain; charset=utf-8' });
}
