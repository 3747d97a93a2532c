/** The demo's home page: a link to every tutorial view and to each page of the site. */
import { csrf_input, html, type HttpRequest, type HttpResponse } from '@tango/core';
import { get_resolver } from '@tango/core/urls';
import { page } from './layout';

/** [url, what it does]; every tutorial view in urls.ts appears here. */
const TUTORIAL_COOKIES: Array<[string, string]> = [
  ['/add_cookie/', 'set username=zhiliao for seven hours'],
  ['/add_cookie_expires/', 'set it with both expires and max_age (expires wins)'],
  ['/get_cookie/', 'read request.COOKIES'],
  ['/delete_cookie/', 'delete the username cookie'],
  ['/add_signed_cookie/', 'set a signed cookie'],
  ['/get_signed_cookie/', 'read and verify it'],
];

const TUTORIAL_SESSIONS: Array<[string, string]> = [
  ['/add_session/', "session['user_id'] = 'zhiliao'"],
  ['/get_session/', "session.get('user_id')"],
  ['/pop_session/', "session.pop('user_id')"],
  ['/session_keys/', 'session.keys()'],
  ['/session_items/', 'session.items()'],
];

/**
 * [url, form fields, what it does]: the views that change the session are
 * POST-only (require_POST), so the page shows them as form buttons, not links.
 */
const TUTORIAL_SESSION_FORMS: Array<[string, Record<string, string>, string]> = [
  ['/clear_session/', {}, 'session.clear()'],
  ['/flush_session/', {}, 'session.flush()'],
  ['/set_expiry/', { seconds: '0' }, 'set_expiry(0): until the browser closes'],
  ['/set_expiry/', { seconds: '60' }, 'set_expiry(60): one idle minute'],
];

const PATHS: Array<[string, string]> = [
  ['/a/set/', "set a cookie with path='/a/'"],
  ['/a/show/', 'the cookies sent to /a/show/'],
  ['/b/show/', 'the cookies sent to /b/show/'],
];

function links(rows: Array<[string, string]>) {
  return html`<ul>${rows.map(([url, what]) => html`<li><a href="${url}">${url}</a> — ${what}</li>`)}</ul>`;
}

function forms(request: HttpRequest, rows: Array<[string, Record<string, string>, string]>) {
  return html`<ul>${rows.map(([url, fields, what]) => {
    const label = Object.entries(fields).map(([k, v]) => ` ${k}=${v}`).join('');
    return html`<li><form method="post" action="${url}" class="inline">${csrf_input(request)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit">POST ${url}${label}</button></form> — ${what}</li>`;
  })}</ul>`;
}

/** The demo's own pages that the sections above do not list. */
const SITE_PAGES = ['/', '/login/', '/logout/', '/whoami/', '/account/'];

/**
 * The routes added to the URLconf beyond the demo's (the README tutorial's
 * hello/<str:name>/, say): one without converters is a link, one with them is
 * shown as its pattern, since it needs a value to become a URL.
 */
function added_views() {
  const listed = new Set([...SITE_PAGES, ...[...TUTORIAL_COOKIES, ...TUTORIAL_SESSIONS, ...TUTORIAL_SESSION_FORMS, ...PATHS].map((row) => row[0])]);
  const added = get_resolver().map((r) => `/${r.route}`).filter((url) => !listed.has(url));
  if (added.length === 0) return html``;
  return html`<h2>Your views</h2>
<ul>${added.map((url) => (url.includes('<') ? html`<li><code>${url}</code></li>` : html`<li><a href="${url}">${url}</a></li>`))}</ul>`;
}

export function index(request: HttpRequest): HttpResponse {
  return page(request, 'Tango: cookies and sessions', html`
<p>A small site to click through: <a href="/login/">log in</a> (as a user made with <code>manage.ts createsuperuser</code>),
then see <a href="/whoami/">what the server knows</a> and <a href="/account/">your account</a> (signed-in users only).</p>
<h2>Cookies</h2>
${links(TUTORIAL_COOKIES)}
<h2>Sessions</h2>
${links(TUTORIAL_SESSIONS)}
${forms(request, TUTORIAL_SESSION_FORMS)}
<h2>Cookie paths</h2>
${links(PATHS)}
${added_views()}
`);
}
