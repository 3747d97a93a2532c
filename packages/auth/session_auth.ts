/**
 * The session half of django/contrib/auth/__init__.py (5.2): authenticate(),
 * login(), logout(), get_user() and update_session_auth_hash(), with
 * Django's session keys and values, so a login on either side is a login on
 * both when they share the session store and SECRET_KEY.
 *
 *   _auth_user_id       the user's primary key as a string ("1")
 *   _auth_user_backend  the AUTHENTICATION_BACKENDS entry that authenticated them
 *   _auth_user_hash     salted HMAC of the password hash: changing the password
 *                       ends every other session of that user, on both sides
 *
 * Bad session contents (an id that is no number, an unknown backend, a user
 * that is gone or inactive, a hash that does not match) make an
 * AnonymousUser with the reason logged on `tango.auth`, never an error page.
 */
import { settings } from '@tango/core/conf';
import { constant_time_compare } from '@tango/core/crypto';
import { PermissionDenied } from '@tango/core/errors';
import type { HttpRequest } from '@tango/core/http/request';
import type { Session } from '@tango/core/http/session_api';
import { get_logger } from '@tango/core/log';
import { rotate_token } from '@tango/core/middleware/csrf';
import { get_backends, load_backend, type Credentials } from './backends';
import { AnonymousUser, User, type AnyUser } from './models';
import { has_request_user, known_user } from './request_user';
import { user_logged_in, user_logged_out, user_login_failed } from './signals';

export const SESSION_KEY = '_auth_user_id';
export const BACKEND_SESSION_KEY = '_auth_user_backend';
export const HASH_SESSION_KEY = '_auth_user_hash';

const log = get_logger('tango.auth');

/**
 * _clean_credentials' own pattern and substitute (django/contrib/auth/__init__.py),
 * for the credentials sent with user_login_failed; the error page's list is another.
 */
const SENSITIVE_CREDENTIALS = /api|token|key|secret|password|signature/i;
const CLEANSED_SUBSTITUTE = '********************';

function session_of(request: HttpRequest): Session {
  const session = request.session;
  if (session === undefined) {
    throw new Error("Authentication needs the session middleware: list '@tango/sessions/middleware' in MIDDLEWARE before '@tango/auth/middleware'.");
  }
  return session;
}

/**
 * AutoField.to_python on the stored id: Django stores the pk as a string and
 * int()s it back (surrounding whitespace allowed, as Python's int() allows it).
 */
function parse_user_id(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value !== 'string' || !/^\s*[+-]?\d+\s*$/.test(value)) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * django.contrib.auth.authenticate: the first backend that accepts the
 * credentials wins, and the user remembers which one (user.backend). None
 * accepting (or one raising PermissionDenied) sends user_login_failed.
 */
export async function authenticate(request: HttpRequest | null, credentials: Credentials): Promise<User | null> {
  for (const [path, backend] of get_backends()) {
    let user: User | null;
    try {
      user = await backend.authenticate(request, credentials);
    } catch (err) {
      if (err instanceof PermissionDenied) break;
      throw err;
    }
    if (user === null) continue;
    user.backend = path;
    return user;
  }
  const cleansed: Credentials = {};
  for (const [k, v] of Object.entries(credentials)) cleansed[k] = SENSITIVE_CREDENTIALS.test(k) ? CLEANSED_SUBSTITUTE : v;
  await user_login_failed.send({ request, credentials: cleansed });
  return null;
}

/**
 * django.contrib.auth.login: keeps the user's id, backend and session auth
 * hash in the session. A session that held another user (or this user under
 * an older password) is flushed; an anonymous one gets a new key (session
 * fixation). The CSRF token is rotated and last_login updated.
 */
export async function login(request: HttpRequest, user: User, backend?: string): Promise<void> {
  if (!(user instanceof User) || user.pk === null) throw new TypeError('login() needs a saved User.');
  const session = session_of(request);
  const session_auth_hash = user.get_session_auth_hash();
  if (session.has(SESSION_KEY)) {
    const stored_hash = session.get(HASH_SESSION_KEY, '');
    if (parse_user_id(session.get(SESSION_KEY)) !== user.pk ||
      !constant_time_compare(typeof stored_hash === 'string' ? stored_hash : '', session_auth_hash)) {
      // Nothing of another user's session may carry over.
      await session.flush();
    }
  } else {
    await session.cycle_key();
  }
  const backend_path = backend ?? user.backend ?? single_backend();
  session.set(SESSION_KEY, String(user.pk));
  session.set(BACKEND_SESSION_KEY, backend_path);
  session.set(HASH_SESSION_KEY, session_auth_hash);
  if (has_request_user(request)) request.user = user;
  rotate_token(request);
  await user_logged_in.send({ request, user });
}

function single_backend(): string {
  const backends = settings.AUTHENTICATION_BACKENDS;
  if (backends.length === 1) return backends[0];
  throw new Error('You have multiple authentication backends configured and therefore must provide the `backend` argument or set the `backend` attribute on the user.');
}

/** django.contrib.auth.logout: the session is flushed (data, record and key) and request.user becomes anonymous. */
export async function logout(request: HttpRequest): Promise<void> {
  const user = known_user(request);
  await user_logged_out.send({ request, user: user?.is_authenticated ? user : null });
  await session_of(request).flush();
  if (has_request_user(request)) request.user = new AnonymousUser();
}

/**
 * django.contrib.auth.get_user: the session's user, once its
 * `_auth_user_hash` matches their current password (under SECRET_KEY, or a
 * SECRET_KEY_FALLBACKS key, after which the session moves to the current
 * key's hash). A mismatch flushes the session: the password changed, or the
 * hash is forged.
 */
export async function get_user(request: HttpRequest): Promise<AnyUser> {
  const session = session_of(request);
  const raw_id = session.get(SESSION_KEY);
  const backend_path = session.get(BACKEND_SESSION_KEY);
  if (raw_id === undefined || backend_path === undefined) return new AnonymousUser();
  const user_id = parse_user_id(raw_id);
  if (user_id === null) {
    log.warn('Session holds a user id that is not a number: treated as signed out.', { path: request.path });
    return new AnonymousUser();
  }
  if (typeof backend_path !== 'string' || !settings.AUTHENTICATION_BACKENDS.includes(backend_path)) {
    log.info('Session names an authentication backend not in AUTHENTICATION_BACKENDS: treated as signed out.',
      { backend: String(backend_path), path: request.path });
    return new AnonymousUser();
  }
  const user = await load_backend(backend_path).get_user(user_id);
  if (user === null) {
    log.info('Session user does not exist or is inactive: treated as signed out.', { user_id, path: request.path });
    return new AnonymousUser();
  }
  const session_hash = session.get(HASH_SESSION_KEY);
  const current = user.get_session_auth_hash();
  if (typeof session_hash === 'string' && session_hash !== '') {
    if (constant_time_compare(session_hash, current)) return user;
    if (user.get_session_auth_fallback_hash().some((h) => constant_time_compare(session_hash, h))) {
      await session.cycle_key();
      session.set(HASH_SESSION_KEY, current);
      return user;
    }
  }
  log.warn('Session auth hash does not match the user\'s password (changed, or forged): session flushed.', { user_id, path: request.path });
  await session.flush();
  return new AnonymousUser();
}

/**
 * django.contrib.auth.update_session_auth_hash: after a user changes their
 * own password, keeps this session signed in (new key, new hash) while
 * every other session of theirs ends.
 */
export async function update_session_auth_hash(request: HttpRequest, user: User): Promise<void> {
  const session = session_of(request);
  await session.cycle_key();
  const current = known_user(request);
  const same = current !== undefined ? current instanceof User && current.equals(user) : parse_user_id(session.get(SESSION_KEY)) === user.pk;
  if (same) {
    session.set(HASH_SESSION_KEY, user.get_session_auth_hash());
    if (has_request_user(request)) request.user = user;
  }
}
