/**
 * django.views.csrf.csrf_failure: the default CSRF_FAILURE_VIEW, a 403 page.
 * As in Django, the reason itself is shown only under DEBUG (it is always
 * logged on 'tango.security.csrf'); the two reasons a visitor can fix
 * (no Referer over HTTPS, no cookie) get Django's explanation.
 */
import { settings } from '../conf';
import { html } from '../html';
import type { HttpRequest } from '../http/request';
import { HttpResponseForbidden, type HttpResponse } from '../http/response';
import { REASON_NO_CSRF_COOKIE, REASON_NO_REFERER } from '../middleware/csrf_reasons';

export function csrf_failure(_request: HttpRequest, reason = ''): HttpResponse {
  const no_referer = reason === REASON_NO_REFERER
    ? html`<p>You are seeing this message because this HTTPS site requires a “Referer header” to be sent by your web browser, but none was sent. This header is required for security reasons, to ensure that your browser is not being hijacked by third parties.</p>
<p>If you have configured your browser to disable “Referer” headers, please re-enable them, at least for this site, or for HTTPS connections, or for “same-origin” requests.</p>`
    : '';
  const no_cookie = reason === REASON_NO_CSRF_COOKIE
    ? html`<p>You are seeing this message because this site requires a CSRF cookie when submitting forms. This cookie is required for security reasons, to ensure that your browser is not being hijacked by third parties.</p>
<p>If you have configured your browser to disable cookies, please re-enable them, at least for this site, or for “same-origin” requests.</p>`
    : '';
  const detail = settings.DEBUG
    ? html`<h2>Help</h2><p>Reason given for failure:</p><pre id="reason">${reason}</pre>
<p>In general, this can occur when there is a genuine Cross Site Request Forgery, or when Tango’s CSRF mechanism has not been used correctly. For POST forms, put <code>csrf_input(request)</code> inside the form, or send <code>get_token(request)</code> in the X-CSRFToken header (see docs/csrf.md).</p>`
    : html`<p><small>More information is available with DEBUG=true.</small></p>`;
  const page = html`<!DOCTYPE html>
<html lang="en">
<head><meta http-equiv="content-type" content="text/html; charset=utf-8"><meta name="robots" content="NONE,NOARCHIVE"><title>403 Forbidden</title></head>
<body>
<h1>Forbidden <span>(403)</span></h1>
<p>CSRF verification failed. Request aborted.</p>
${no_referer}${no_cookie}${detail}
</body>
</html>
`;
  return new HttpResponseForbidden(page.toString());
}

export default csrf_failure;
