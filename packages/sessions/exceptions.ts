/**
 * Session errors, split as Django splits them: CreateError / UpdateError are
 * internal flow control of the engines (django.contrib.sessions.backends.base)
 * and never reach a user; the rest are public (django.contrib.sessions.exceptions).
 */
import { BadRequest, SuspiciousOperation, TangoError } from '@tango/core/errors';

/** A new session key collided with an existing record; create() retries with another key. */
export class CreateError extends TangoError {
  override readonly code = 'TANGO_SESSION_CREATE_COLLISION';
  constructor(message = 'A session record with this key already exists.') {
    super(message);
  }
}

/** save() found its record gone (deleted by a concurrent request); the middleware turns it into SessionInterrupted. */
export class UpdateError extends TangoError {
  override readonly code = 'TANGO_SESSION_UPDATE_MISSING';
  constructor(message = 'The session record to update no longer exists.') {
    super(message);
  }
}

/** A session key that cannot be a key of this engine (e.g. path characters for the file engine). */
export class InvalidSessionKey extends SuspiciousOperation {
  override readonly code = 'TANGO_INVALID_SESSION_KEY';
}

/** Tampered or otherwise suspicious session data or storage. */
export class SuspiciousSession extends SuspiciousOperation {
  override readonly code = 'TANGO_SUSPICIOUS_SESSION';
}

/** Django's exact wording (django.contrib.sessions.middleware). */
export const SESSION_INTERRUPTED_MESSAGE =
  "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.";

/** The session vanished between load and save: a 400, as in Django. */
export class SessionInterrupted extends BadRequest {
  override readonly code = 'TANGO_SESSION_INTERRUPTED';
  constructor(message = SESSION_INTERRUPTED_MESSAGE) {
    super(message);
  }
}

/**
 * The signed_cookies engine refused to save a session whose cookie would exceed
 * what browsers keep (about 4 KB): truncating it would corrupt the signature, and
 * a browser silently drops an oversized cookie. The middleware logs this and sends
 * no cookie, so the client keeps its previous session. (Django has no such check.)
 */
export class SessionCookieTooLarge extends TangoError {
  override readonly code = 'TANGO_SESSION_COOKIE_TOO_LARGE';
  constructor(readonly size: number, readonly limit: number, what = `The session cookie would be ${size} bytes, over the ${limit}-byte limit browsers keep`) {
    super(`${what}; it was not sent. Store less in the session, or use a server-side SESSION_ENGINE (db, cache, file).`);
  }
}

/** An engine hook that this engine does not provide (Django raises NotImplementedError). */
export class NotImplementedError extends TangoError {
  override readonly code = 'TANGO_NOT_IMPLEMENTED';
}
