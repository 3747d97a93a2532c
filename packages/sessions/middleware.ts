/**
 * django.contrib.sessions.middleware.SessionMiddleware. The request gets
 * SessionStore(cookie value); with a cookie, the data is loaded before the
 * view so request.session reads synchronously (without one, no store round
 * trip). The response logic is Django's, step for step; save() itself merges
 * with a concurrent save of the same session (see SessionBase), and a session
 * deleted meanwhile is a 400, as in Django.
 */
import { time } from '@tango/core/clock';
import { settings } from '@tango/core/conf';
import type { HttpRequest } from '@tango/core/http/request';
import type { HttpResponse } from '@tango/core/http/response';
import type { Session } from '@tango/core/http/session_api';
import { patch_vary_headers } from '@tango/core/http/vary';
import { get_logger } from '@tango/core/log';
import type { MiddlewareFactory } from '@tango/core/middleware';
import { http_date } from '@tango/core/timezone';
import { unproxied, type SessionBase } from './base';
import { get_session_store_class } from './engine';
import { SessionCookieTooLarge, SessionInterrupted, UpdateError } from './exceptions';

const log = get_logger('tango.sessions');

export const SessionMiddleware: MiddlewareFactory = (get_response) => {
  // Imported once, when the middleware is built (Django: in __init__).
  const SessionStore = get_session_store_class();
  const make_empty = (): Session => new SessionStore(null) as unknown as Session;

  return async (request) => {
    const name = settings.SESSION_COOKIE_NAME;
    const key = request.COOKIES.get(name);
    if (key !== undefined) {
      const session = new SessionStore(key);
      request.session = session as unknown as Session;
      const target = unproxied(session);
      if (!target.preload_now()) await target.preload();
    } else {
      // No cookie: the session is built only if the view touches it. An untouched,
      // cookie-less session sends nothing (Django), so most requests skip it entirely.
      request.defer_session(make_empty);
    }
    const response = await get_response(request);
    if (key === undefined && !request.session_built) return response;
    // Awaited rather than returned: an async function resolving with a
    // promise costs a PromiseResolveThenableJob and an extra turn.
    const out = process_response(request, response);
    return out instanceof Promise ? await out : out;
  };
};

export default SessionMiddleware;

/** Django's process_response; a promise only when the session is saved (the rest needs no wait). */
function process_response(request: HttpRequest, response: HttpResponse): HttpResponse | Promise<HttpResponse> {
  const session = unproxied(request.session as unknown as SessionBase | undefined);
  // A view may have removed the session (Django: AttributeError → response as is).
  if (typeof session?.is_empty !== 'function') return response;
  const { accessed, modified } = session;
  const empty = session.is_empty();
  const name = settings.SESSION_COOKIE_NAME;
  let vary = false;

  if (request.COOKIES.has(name) && empty) {
    // Emptied (flush, failed load, invalid key): tell the browser to drop the cookie.
    response.delete_cookie(name, {
      path: settings.SESSION_COOKIE_PATH,
      domain: settings.SESSION_COOKIE_DOMAIN,
      samesite: settings.SESSION_COOKIE_SAMESITE,
    });
    vary = true;
  } else {
    vary = accessed;
    // Skip the save for 5xx responses: the view failed, its writes must not stick.
    if ((modified || settings.SESSION_SAVE_EVERY_REQUEST) && !empty && response.status_code < 500) {
      return save_and_set_cookie(request, response, session, name, vary);
    }
  }
  if (vary) patch_vary_headers(response, ['Cookie']);
  return response;
}

async function save_and_set_cookie(request: HttpRequest, response: HttpResponse, session: SessionBase, name: string, vary: boolean): Promise<HttpResponse> {
  try {
    await session.save();
  } catch (err) {
    if (err instanceof UpdateError) throw new SessionInterrupted();
    if (!(err instanceof SessionCookieTooLarge)) throw err;
    log.error(err.message, { code: err.code, size: err.size, path: request.path });
    if (vary) patch_vary_headers(response, ['Cookie']);
    return response;
  }
  // Read after the save (Django reads it before): a save merged with a
  // concurrent one may have taken that request's set_expiry().
  let max_age: number | null = null;
  let expires: string | null = null;
  if (!session.get_expire_at_browser_close()) {
    max_age = session.get_expiry_age();
    expires = http_date(time() + max_age);
  }
  response.set_cookie(name, session.session_key ?? '', {
    max_age,
    expires,
    domain: settings.SESSION_COOKIE_DOMAIN,
    path: settings.SESSION_COOKIE_PATH,
    secure: settings.SESSION_COOKIE_SECURE || null,
    httponly: settings.SESSION_COOKIE_HTTPONLY || null,
    samesite: settings.SESSION_COOKIE_SAMESITE,
  });
  patch_vary_headers(response, ['Cookie']);
  return response;
}
