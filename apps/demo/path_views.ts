/**
 * Cookie paths: a cookie set with path='/a/' is sent back to URLs under /a/
 * only (RFC 6265 §5.1.4), so /a/show/ sees it and /b/show/ does not.
 */
import { html, type HttpRequest, type HttpResponse } from '@tango/core';
import { page } from './layout';

export const PATH_COOKIE = 'under_a';

export function set_under_a(request: HttpRequest): HttpResponse {
  const response = page(request, "A cookie for path='/a/'", html`
<p>This response set <code>${PATH_COOKIE}</code> with <code>path='/a/'</code>.</p>
<p>See whether it comes back to <a href="/a/show/">/a/show/</a> and to <a href="/b/show/">/b/show/</a>.</p>`);
  response.set_cookie(PATH_COOKIE, 'only-under-a', { path: '/a/' });
  return response;
}

/** Serves both /a/show/ and /b/show/. */
export function show_cookies(request: HttpRequest): HttpResponse {
  const present = request.COOKIES.has(PATH_COOKIE);
  return page(request, `Cookies sent to ${request.path}`, html`
<p id="verdict"><code>${PATH_COOKIE}</code> ${present ? 'was sent' : 'was not sent'} to <code>${request.path}</code>.</p>
<ul id="cookies">${request.COOKIES.items().map(([k, v]) => html`<li><code>${k}=${v}</code></li>`)}</ul>`);
}
