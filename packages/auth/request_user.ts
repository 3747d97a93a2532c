/**
 * `request.user` and `await request.auser()` (Django 5.0's async accessor),
 * installed on core's HttpRequest by AuthenticationMiddleware.
 *
 * Django's request.user is a lazy object that queries the database when first
 * read. A database read is asynchronous here, so the lazy form is
 * `await request.auser()`: nothing is read (no session, no query) until a view
 * asks, and the answer is kept for the rest of the request. `request.user` is
 * the synchronous form once the user is known: after auser(), inside
 * login_required (which awaits it), or after login()/logout() set it. Reading
 * it before then throws UserNotLoaded, whose message says what to do: a
 * silent AnonymousUser for a signed-in visitor would be a worse bug.
 */
import { ImproperlyConfigured, TangoError } from '@tango/core/errors';
import { HttpRequest } from '@tango/core/http/request';
import type { AnyUser } from './models';

declare module '@tango/core/http/request' {
  interface HttpRequest {
    /** The signed-in User or an AnonymousUser, once known (see auser()). */
    user: AnyUser;
    /** The signed-in User or an AnonymousUser, read from the session and the database on first call. */
    auser(): Promise<AnyUser>;
  }
}

export class UserNotLoaded extends TangoError {
  constructor() {
    super("request.user is not loaded yet: use `const user = await request.auser()` in the view " +
      '(login_required and user_passes_test load it before calling the view).');
    this.name = 'UserNotLoaded';
  }
}

interface UserState {
  user: AnyUser | undefined;
  pending: Promise<AnyUser> | undefined;
}

/**
 * What the middleware puts in request.auth_state: a mark shared by every
 * request, replaced by the request's own UserState when the user is first
 * asked for, so a request that never asks allocates nothing.
 */
const ENABLED: unique symbol = Symbol('AuthenticationMiddleware');

const NOT_INSTALLED = "request.user needs AuthenticationMiddleware: add '@tango/auth/middleware' to MIDDLEWARE, after the session middleware.";

/** Called by AuthenticationMiddleware for each request: one write to a slot, no I/O. */
export function enable_request_user(request: HttpRequest): void {
  if (request.auth_state === undefined) request.auth_state = ENABLED;
}

/** Whether AuthenticationMiddleware runs for this request (Django: hasattr(request, 'user')). */
export function has_request_user(request: HttpRequest): boolean {
  return request.auth_state !== undefined;
}

function state_of(request: HttpRequest): UserState | undefined {
  const s = request.auth_state;
  if (s === undefined) return undefined;
  if (s === ENABLED) {
    const fresh: UserState = { user: undefined, pending: undefined };
    request.auth_state = fresh;
    return fresh;
  }
  return s as UserState;
}

/** The user if already known, without loading anything. */
export function known_user(request: HttpRequest): AnyUser | undefined {
  return request.auth_state === undefined || request.auth_state === ENABLED ? undefined : (request.auth_state as UserState).user;
}

/** Set by the module that defines get_user(), which would otherwise import this one circularly. */
let loader: ((request: HttpRequest) => Promise<AnyUser>) | undefined;

export function set_user_loader(fn: (request: HttpRequest) => Promise<AnyUser>): void {
  loader = fn;
}

Object.defineProperty(HttpRequest.prototype, 'user', {
  configurable: true,
  get(this: HttpRequest): AnyUser {
    const state = state_of(this);
    if (state === undefined) throw new ImproperlyConfigured(NOT_INSTALLED);
    if (state.user === undefined) throw new UserNotLoaded();
    return state.user;
  },
  set(this: HttpRequest, user: AnyUser) {
    const state = state_of(this);
    if (state === undefined) this.auth_state = { user, pending: undefined } satisfies UserState;
    else {
      state.user = user;
      state.pending = undefined;
    }
  },
});

Object.defineProperty(HttpRequest.prototype, 'auser', {
  configurable: true,
  writable: true,
  value: function auser(this: HttpRequest): Promise<AnyUser> {
    const state = state_of(this);
    if (state === undefined) return Promise.reject(new ImproperlyConfigured(NOT_INSTALLED));
    if (state.user !== undefined) return Promise.resolve(state.user);
    if (loader === undefined) return Promise.reject(new ImproperlyConfigured(NOT_INSTALLED));
    state.pending ??= loader(this).then((user) => {
      // login()/logout() may have set the user while this was loading: theirs wins.
      if (state.pending !== undefined) state.user = user;
      return state.user ?? user;
    }, (err: unknown) => {
      state.pending = undefined;
      throw err;
    });
    return state.pending;
  },
});
