/**
 * "Who am I": what the server sees on this request — the cookies the browser
 * sent, the session's contents, the engine that stores it and when the
 * session expires, shown in settings.TIME_ZONE.
 */
import { html, settings, type HttpRequest, type HttpResponse } from '@tango/core';
import { page, signed_in_user } from './layout';
import { format_local } from './local_time';

function rows(pairs: Array<[string, unknown]>, empty: string) {
  if (pairs.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table><tr><th>key</th><th>value</th></tr>${pairs.map(([k, v]) => html`<tr><td>${k}</td><td>${v}</td></tr>`)}</table>`;
}

export function whoami(request: HttpRequest): HttpResponse {
  const session = request.session;
  const user = signed_in_user(request);
  const expiry = session.get_expiry_date();
  const when = session.get_expire_at_browser_close()
    ? html`when the browser closes`
    : html`<time id="expiry" datetime="${expiry.toISOString()}">${format_local(expiry, settings.TIME_ZONE)}</time>`;
  return page(request, 'Who am I', html`
<p id="user">${user === undefined ? 'You are not signed in.' : html`You are <strong>${user}</strong>.`}</p>
<dl>
  <dt>Session engine</dt><dd id="engine"><code>${settings.SESSION_ENGINE}</code></dd>
  <dt>Session expires</dt><dd>${when}</dd>
</dl>
<h2>Cookies sent with this request</h2>
<div id="cookies">${rows(request.COOKIES.items(), 'No cookies.')}</div>
<h2>Session contents</h2>
<div id="session">${rows(session.items().map(([k, v]) => [k, JSON.stringify(v)]), 'The session is empty.')}</div>
`);
}
