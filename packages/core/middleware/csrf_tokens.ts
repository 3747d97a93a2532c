/**
 * CSRF secrets and masked tokens, as django/middleware/csrf.py (5.2) makes
 * them, so a token from either side is accepted by the other.
 *
 * The secret is 32 characters of [a-zA-Z0-9]; the cookie (or the session,
 * with CSRF_USE_SESSIONS) holds it unmasked. Every token handed to a page is
 * the secret masked afresh (BREACH): 32 random characters `mask`, then
 * `cipher[i] = CHARS[(secret[i] + mask[i]) % 62]`. A check accepts a 64-char
 * masked token or the 32-char secret itself; a 64-char cookie (written by
 * Django before 4.1) is unmasked on read.
 */
import { settings } from '../conf';
import { constant_time_compare, get_random_string } from '../crypto';
import { ImproperlyConfigured } from '../errors';
import type { CsrfState, HttpRequest } from '../http/request';

export const CSRF_SECRET_LENGTH = 32;
export const CSRF_TOKEN_LENGTH = 2 * CSRF_SECRET_LENGTH;
export const CSRF_ALLOWED_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Where the secret lives in the session under CSRF_USE_SESSIONS. */
export const CSRF_SESSION_KEY = '_csrftoken';

export const REASON_INCORRECT_LENGTH = 'has incorrect length';
export const REASON_INVALID_CHARACTERS = 'has invalid characters';

const N = CSRF_ALLOWED_CHARS.length;
const INVALID_CHARS = /[^a-zA-Z0-9]/;

// Index of each allowed character by char code (-1 for the rest).
const INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < N; i++) INDEX[CSRF_ALLOWED_CHARS.charCodeAt(i)] = i;

/** A token or secret of the wrong length or alphabet (Django's InvalidTokenFormat). */
export class InvalidTokenFormat extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidTokenFormat';
  }
}

export function get_new_csrf_string(): string {
  return get_random_string(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS);
}

/** Django's _mask_cipher_secret; `mask` is for test vectors only (default: a fresh random one). */
export function mask_cipher_secret(secret: string, mask: string = get_new_csrf_string()): string {
  let cipher = '';
  for (let i = 0; i < secret.length; i++) {
    cipher += CSRF_ALLOWED_CHARS[(INDEX[secret.charCodeAt(i)] + INDEX[mask.charCodeAt(i)]) % N];
  }
  return mask + cipher;
}

/** Django's _unmask_cipher_token: the secret inside a 64-character masked token. */
export function unmask_cipher_token(token: string): string {
  let secret = '';
  for (let i = 0; i < CSRF_SECRET_LENGTH; i++) {
    // Python's negative index wraps, hence the + N.
    secret += CSRF_ALLOWED_CHARS[(INDEX[token.charCodeAt(CSRF_SECRET_LENGTH + i)] - INDEX[token.charCodeAt(i)] + N) % N];
  }
  return secret;
}

/** Django's _check_token_format: 32 or 64 characters of [a-zA-Z0-9], or InvalidTokenFormat. */
export function check_token_format(token: string): void {
  if (token.length !== CSRF_TOKEN_LENGTH && token.length !== CSRF_SECRET_LENGTH) throw new InvalidTokenFormat(REASON_INCORRECT_LENGTH);
  if (INVALID_CHARS.test(token)) throw new InvalidTokenFormat(REASON_INVALID_CHARACTERS);
}

/** Django's _does_token_match: a checked token (masked, or the bare secret) against the secret, in constant time. */
export function does_token_match(request_token: string, secret: string): boolean {
  const candidate = request_token.length === CSRF_TOKEN_LENGTH ? unmask_cipher_token(request_token) : request_token;
  return constant_time_compare(candidate, secret);
}

export function csrf_state(request: HttpRequest): CsrfState {
  return (request.csrf ??= { secret: undefined, needs_update: false, processing_done: false });
}

/**
 * Django's CsrfViewMiddleware._get_secret: the secret the request carried
 * (cookie, or session under CSRF_USE_SESSIONS), or null. A malformed cookie
 * throws InvalidTokenFormat; a 64-character one (Django < 4.1) is unmasked.
 */
export function read_secret(request: HttpRequest): string | null {
  let secret: string | null;
  if (settings.CSRF_USE_SESSIONS) {
    const session = request.session;
    if (session === undefined || session === null) {
      throw new ImproperlyConfigured('CSRF_USE_SESSIONS is enabled, but request.session is not set. SessionMiddleware must appear before CsrfViewMiddleware in MIDDLEWARE.');
    }
    const stored = session.get(CSRF_SESSION_KEY);
    secret = typeof stored === 'string' ? stored : null;
  } else {
    secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME) ?? null;
    if (secret !== null) check_token_format(secret);
  }
  if (secret !== null && secret.length === CSRF_TOKEN_LENGTH) secret = unmask_cipher_token(secret);
  return secret;
}

/** Django's _add_new_csrf_cookie: a new secret for this request, to be sent with the response. */
function add_new_csrf_cookie(state: CsrfState): string {
  const secret = get_new_csrf_string();
  state.secret = secret;
  state.needs_update = true;
  return secret;
}

/**
 * The request's secret as process_request leaves it: what it carried, or a
 * new one (flagged to be sent) when its cookie was malformed. Read once.
 */
export function current_secret(request: HttpRequest): string | null {
  const state = csrf_state(request);
  if (state.secret === undefined) {
    try {
      state.secret = read_secret(request);
    } catch (err) {
      if (!(err instanceof InvalidTokenFormat)) throw err;
      add_new_csrf_cookie(state);
    }
  }
  return state.secret as string | null;
}

/**
 * django.middleware.csrf.get_token: a freshly masked token for a form or an
 * X-CSRFToken header. As a side effect the response (through
 * CsrfViewMiddleware) sends the secret, renewing the cookie's expiry.
 */
export function get_token(request: HttpRequest): string {
  const state = csrf_state(request);
  let secret = current_secret(request);
  if (secret === null) secret = add_new_csrf_cookie(state);
  else state.needs_update = true;
  return mask_cipher_secret(secret);
}

/** django.middleware.csrf.rotate_token: a new secret for this client; call it at login. */
export function rotate_token(request: HttpRequest): void {
  add_new_csrf_cookie(csrf_state(request));
}
