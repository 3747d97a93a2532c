/**
 * The views of the cookie/session tutorial, written as a Django user writes
 * them in views.py.
 */
import { HttpRequest, HttpResponse, JsonResponse, require_POST } from '@tango/core';

// ---- cookies ----------------------------------------------------------------

export function add_cookie(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('设置cookie');
  response.set_cookie('username', 'zhiliao', { max_age: 60 * 60 * 7 });
  return response;
}

/** The tutorial's expires variant: `expires` wins when both are given. */
export function add_cookie_expires(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('设置cookie (expires)');
  const expires = new Date(Date.UTC(2030, 0, 1, 0, 0, 0));
  response.set_cookie('username', 'zhiliao', { expires, max_age: 60 * 60 * 7 });
  return response;
}

export function get_cookie(request: HttpRequest): HttpResponse {
  const username = request.COOKIES.get('username');
  const lines = request.COOKIES.items().map(([key, value]) => `${key}=${value}`);
  return new HttpResponse(`username: ${username ?? '(none)'}\n${lines.join('\n')}`, { content_type: 'text/plain; charset=utf-8' });
}

export function delete_cookie(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('删除cookie');
  response.delete_cookie('username');
  return response;
}

export function add_signed_cookie(request: HttpRequest): HttpResponse {
  const response = new HttpResponse('设置签名cookie');
  response.set_signed_cookie('signed_user', 'zhiliao', { salt: 'demo', max_age: 60 * 60 });
  return response;
}

export function get_signed_cookie(request: HttpRequest): HttpResponse {
  const value = request.get_signed_cookie('signed_user', null, { salt: 'demo' });
  return new HttpResponse(value === null ? 'no valid signed cookie' : `signed_user: ${value}`, { content_type: 'text/plain; charset=utf-8' });
}

// ---- sessions ---------------------------------------------------------------

export function add_session(request: HttpRequest): HttpResponse {
  request.session['user_id'] = 'zhiliao';
  return new HttpResponse('session add');
}

export function get_session(request: HttpRequest): HttpResponse {
  const user_id = request.session.get('user_id');
  return new HttpResponse(`user_id: ${user_id ?? '(none)'}`, { content_type: 'text/plain; charset=utf-8' });
}

export function pop_session(request: HttpRequest): HttpResponse {
  const user_id = request.session.pop('user_id', null);
  return new HttpResponse(`popped: ${user_id ?? '(none)'}`, { content_type: 'text/plain; charset=utf-8' });
}

export function session_keys(request: HttpRequest): HttpResponse {
  return new JsonResponse({ keys: request.session.keys() });
}

export function session_items(request: HttpRequest): HttpResponse {
  return new JsonResponse({ items: request.session.items() });
}

// The three views below change the session, so they take POST only (a form
// button, never a link): a GET can be triggered by any other site's <a> or <img>.

export const clear_session = require_POST(function clear_session(request: HttpRequest): HttpResponse {
  request.session.clear();
  return new HttpResponse('session cleared');
});

export const flush_session = require_POST(async function flush_session(request: HttpRequest): Promise<HttpResponse> {
  await request.session.flush();
  return new HttpResponse('session flushed');
});

/** A posted `seconds=N` as the tutorial's set_expiry(value): 0 = until the browser closes, absent = the global policy. */
export const set_expiry = require_POST(function set_expiry(request: HttpRequest): HttpResponse {
  const raw = request.POST.get('seconds');
  request.session.set('user_id', request.session.get('user_id', 'zhiliao'));
  request.session.set_expiry(raw === undefined ? null : Number.parseInt(raw, 10));
  return new HttpResponse(`expires: ${request.session.get_expiry_date().toISOString()} (age ${request.session.get_expiry_age()} s)`, {
    content_type: 'text/plain; charset=utf-8',
  });
});
