/**
 * django.contrib.auth.middleware.AuthenticationMiddleware: gives the request
 * `request.user` and `request.auser()`. Nothing is read here: the session
 * and the database are consulted only when a view asks for the user, so a
 * request that never does costs nothing (no store round trip, no query).
 */
import type { MiddlewareFactory } from '@tango/core/middleware';
import { get_backends } from './backends';
import { get_hashers } from './hashers';
import { enable_request_user } from './request_user';
import './session_auth';

export const AuthenticationMiddleware: MiddlewareFactory = (get_response) => {
  // A backend or hasher that cannot be loaded stops start-up with one line naming the setting,
  // rather than failing the first login.
  get_backends();
  get_hashers();
  return (request) => {
    enable_request_user(request);
    return get_response(request);
  };
};

export default AuthenticationMiddleware;
