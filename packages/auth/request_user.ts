/**
 * `request.user` and `await request.auser()`, installed on core's
 * HttpRequest by AuthenticationMiddleware
 * (django/contrib/auth/middleware.py).
 *
 * Django's request.user is a lazy object that queries the database when first
 * read. A query is asynchronous here, so the middleware settles the user
 * before the view instead, and only when there may be one: the session is
 * already loaded by then, and a session without `_auth_user_id` (or no
 * session cookie at all) is an AnonymousUser with no query and no store round
 * trip. A view then reads `request.user` synchronously, as in Django;
 * `await request.auser()` (Django 5.0) gives the same object.
 */
import { ImproperlyConfigured } from '@tango/core/errors';
import { HttpRequest } from '@tango/core/http/request';
import { AnonymousUser, type AnyUser } from './models';

declare module '@tango/core/http/request' {
  interface HttpRequest {
    /** The signed-in User or an AnonymousUser, settled by AuthenticationMiddleware before the view. */
    user: AnyUser;
    /** The same user as request.user, as Django's async accessor. */
    auser(): Promise<AnyUser>;
  }
}

/**
 * What the middleware puts in request.auth_state when nobody is signed in:
 * one mark shared by every request, replaced by an AnonymousUser when the user
 * is first read, so an anonymous request that never reads it allocates nothing.
 */
const NOBODY: unique symbol = Symbol('AnonymousUser');

const NOT_INSTALLED = "request.user needs AuthenticationMiddleware: add '@tango/auth/middleware' to MIDDLEWARE, after the session middleware.";

/** Whether AuthenticationMiddleware runs for this request (Django: hasattr(request, 'user')). */
export function has_request_user(request: HttpRequest): boolean {
  return request.auth_state !== undefined;
}

/** Called by AuthenticationMiddleware when the session names no user: one write to a slot, no I/O. */
export function set_anonymous(request: HttpRequest): void {
  request.auth_state = NOBODY;
}

/** The request's user without the effects of reading request.user, or undefined without the middleware. */
export function known_user(request: HttpRequest): AnyUser | undefined {
  const state = request.auth_state;
  if (state === undefined) return undefined;
  if (state === NOBODY) return (request.auth_state = new AnonymousUser());
  return state as AnyUser;
}

function read_user(request: HttpRequest): AnyUser {
  const user = known_user(request);
  if (user === undefined) throw new ImproperlyConfigured(NOT_INSTALLED);
  // Django's lazy user reads the session, so a response that shows who is signed in
  // varies on the cookie (SessionMiddleware adds Vary: Cookie); building a cookie-less
  // session for this does no I/O.
  const session = request.session as { accessed: boolean } | undefined;
  if (session !== undefined) session.accessed = true;
  return user;
}

Object.defineProperty(HttpRequest.prototype, 'user', {
  configurable: true,
  get(this: HttpRequest): AnyUser {
    return read_user(this);
  },
  set(this: HttpRequest, user: AnyUser) {
    this.auth_state = user;
  },
});

Object.defineProperty(HttpRequest.prototype, 'auser', {
  configurable: true,
  writable: true,
  value: function auser(this: HttpRequest): Promise<AnyUser> {
    try {
      return Promise.resolve(read_user(this));
    } catch (err) {
      return Promise.reject(err);
    }
  },
});
