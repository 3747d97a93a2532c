/**
 * django/contrib/sessions/middleware.py: SessionMiddleware. Before the view,
 * request.session becomes SessionStore(cookie value) with bracket access
 * (bracket_access.ts); with a cookie its data is loaded first (preload()), so
 * views read it without an await, and without one no store is asked (the
 * session is built only if the view touches it). After the view, Django's
 * process_response step for step: delete the cookie when the session was
 * emptied, `Vary: Cookie` when it was accessed, save and set the cookie when
 * it was modified (or SESSION_SAVE_EVERY_REQUEST), never on a 5xx, and a 400
 * when the session was deleted by a concurrent request (UpdateError). save()
 * itself merges with a concurrent save of the same session (base.ts).
 */
import { time } from '@tango/core/clock';
import { settings } from '@tango/core/conf';
import type { HttpRequest } from '@tango/core/http/request';
import type { HttpResponse } from '@tango/core/http/response';
import type { Session, SessionApi } from '@tango/core/http/session_api';
import { patch_vary_headers } from '@tango/core/http/vary';
import { get_logger } from '@tango/core/log';
import { middleware_mixin, type MiddlewareFactory } from '@tango/core/middleware';
import { http_date } from '@tango/core/timezone';
import type { SessionBase } from './base';
import { with_bracket_access } from './bracket_access';
import { get_session_data_schema } from './data_schema';
import { get_session_store_class } from './engine';
import { SessionCookieTooLarge, SessionInterrupted, UpdateError } from './exceptions';

const log = get_logger('tango.sessions');

export const SessionMiddleware: MiddlewareFactory = middleware_mixin(() => {
  // Resolved once, when the middleware is built (Django: in __init__): a bad setting stops start-up.
  const SessionStore = get_session_store_class();
  get_session_data_schema();
  const make_empty = (request: HttpRequest): Session => attach(request, new SessionStore(null));

  return {
    process_request(request) {
      const key = request.COOKIES.get(settings.SESSION_COOKIE_NAME);
      if (key === undefined) {
        // An untouched, cookie-less session sends nothing (Django), so most such requests never build one.
        request.defer_session(make_empty);
        return;
      }
      const session = new SessionStore(key);
      return session.preload().then(() => {
        request.session = attach(request, session);
      });
    },
    process_response(request, response) {
      return request.session_built ? process_response(request, response) : response;
    },
  };
});

export default SessionMiddleware;

/**
 * The session this middleware built for a request, beside the bracket-access
 * view of it that request.session holds: process_response works on the
 * session itself, so the framework's own reads and calls skip the proxy's
 * traps and method binding (bench/NOTES.md, "the middleware's own session").
 * A session the view assigned to request.session is used as it is.
 */
const OWN = Symbol('tango.sessions.own');

interface Built {
  view: Session;
  session: SessionApi;
}

type WithBuilt = HttpRequest & { [OWN]?: Built };

function attach(request: HttpRequest, session: SessionBase): Session {
  const view = with_bracket_access(session);
  (request as WithBuilt)[OWN] = { view, session };
  return view;
}

/** Django's process_response; a promise only when it saves. */
function process_response(request: HttpRequest, response: HttpResponse): HttpResponse | Promise<HttpResponse> {
  const assigned = request.session as Session | undefined;
  const built = (request as WithBuilt)[OWN];
  const session = built !== undefined && built.view === assigned ? built.session : assigned;
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

async function save_and_set_cookie(request: HttpRequest, response: HttpResponse, session: SessionApi, name: string, vary: boolean): Promise<HttpResponse> {
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
