/**
 * django.contrib.auth.middleware.AuthenticationMiddleware: gives the request
 * `request.user` and `request.auser()`, settled before the view so a view
 * reads `request.user` synchronously. The session (loaded before the view by
 * SessionMiddleware) decides the cost: without a session cookie, or with a
 * session that holds no `_auth_user_id`, the user is an AnonymousUser with no
 * query and no store round trip; a signed-in request costs one primary-key
 * query on auth_user, as Django's does once request.user is read.
 */
import { ImproperlyConfigured } from '@tango/core/errors';
import type { HttpRequest } from '@tango/core/http/request';
import { middleware_mixin, type MiddlewareFactory } from '@tango/core/middleware';
import { get_backends } from './backends';
import { get_hashers } from './hashers';
import { set_anonymous } from './request_user';
import { get_user, SESSION_KEY } from './session_auth';

const NO_SESSION = "AuthenticationMiddleware needs the session middleware: list '@tango/sessions/middleware' in MIDDLEWARE before '@tango/auth/middleware'.";

/**
 * Whether the session names a user. Read without marking the session
 * accessed, as Django's lazy user leaves it until a view reads the user: a
 * page that never does gets no `Vary: Cookie` from it.
 */
function names_a_user(request: HttpRequest): boolean {
  const session = request.session;
  if (session === undefined) throw new ImproperlyConfigured(NO_SESSION);
  const accessed = session.accessed;
  try {
    return session.has(SESSION_KEY);
  } finally {
    session.accessed = accessed;
  }
}

/** Sets request.user from the session (which names a user), leaving the session unmarked as above. */
async function settle_user(request: HttpRequest): Promise<void> {
  const session = request.session;
  const accessed = session.accessed;
  try {
    request.user = await get_user(request);
  } finally {
    session.accessed = accessed;
  }
}

export const AuthenticationMiddleware: MiddlewareFactory = middleware_mixin(() => {
  // A backend or hasher that cannot be loaded stops start-up with one line naming the setting,
  // rather than failing the first login.
  get_backends();
  get_hashers();
  return {
    // No process_response: an anonymous request gets the inner promise as it is.
    process_request(request) {
      // Without a session cookie the session is built only if the view touches it: nobody is signed in.
      if (request.session_built && names_a_user(request)) return settle_user(request);
      set_anonymous(request);
    },
  };
});

export default AuthenticationMiddleware;
