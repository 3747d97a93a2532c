/**
 * django.template.backends.utils.csrf_input: the hidden form field that
 * `{% csrf_token %}` writes, for Tango's `html` templates:
 * html`<form method="post">${csrf_input(request)}...</form>`.
 */
import { html, type SafeString } from './html';
import type { HttpRequest } from './http/request';
import { get_token } from './middleware/csrf_tokens';

export function csrf_input(request: HttpRequest): SafeString {
  return html`<input type="hidden" name="csrfmiddlewaretoken" value="${get_token(request)}">`;
}
