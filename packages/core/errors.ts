/**
 * The public error catalogue. Each error has a stable `code` (for logs and
 * alerting) and, where one applies, the HTTP status it becomes. Names follow
 * Django's (django.core.exceptions, django.core.signing, django.http).
 */
export class TangoError extends Error {
  readonly code: string = 'TANGO_ERROR';
  readonly status: number = 500;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A setting is missing or wrong: start-up stops with this message. */
export class ImproperlyConfigured extends TangoError {
  override readonly code = 'TANGO_IMPROPERLY_CONFIGURED';
}

/** The client did something suspicious; the request gets a 400 and a security log line. */
export class SuspiciousOperation extends TangoError {
  override readonly code: string = 'TANGO_SUSPICIOUS_OPERATION';
  override readonly status: number = 400;
}

export class BadRequest extends TangoError {
  override readonly code: string = 'TANGO_BAD_REQUEST';
  override readonly status: number = 400;
}

export class PermissionDenied extends TangoError {
  override readonly code = 'TANGO_PERMISSION_DENIED';
  override readonly status = 403;
}

/** Thrown in a view, becomes a 404 response (django.http.Http404). */
export class Http404 extends TangoError {
  override readonly code = 'TANGO_NOT_FOUND';
  override readonly status = 404;
  constructor(message = 'Not Found') {
    super(message);
  }
}

/** A management command failed: one line on stderr, exit status 1. */
export class CommandError extends TangoError {
  override readonly code = 'TANGO_COMMAND_ERROR';
  readonly returncode: number;
  constructor(message: string, returncode = 1) {
    super(message);
    this.returncode = returncode;
  }
}

/** django.core.signing.BadSignature (uncaught in a view it is a 500, as in Django). */
export class BadSignature extends TangoError {
  override readonly code: string = 'TANGO_BAD_SIGNATURE';
}

/** django.core.signing.SignatureExpired: a subclass of BadSignature, as in Django. */
export class SignatureExpired extends BadSignature {
  override readonly code = 'TANGO_SIGNATURE_EXPIRED';
}

/**
 * A value could not be turned into JSON to be stored (nested too deeply, a
 * cycle, a BigInt where JSON.stringify writes, a function): a bug in the
 * view, so a 500 on every store, never a StoreUnavailable. Nothing is written.
 */
export class NotSerializable extends TangoError {
  override readonly code = 'TANGO_NOT_SERIALIZABLE';

  /** `what` names the value ("The session data"); `reason` is the serializer's. */
  constructor(readonly what: string, readonly reason: string) {
    super(`${what} cannot be serialized as JSON: ${reason}. Nothing was saved.`);
  }

  /** `err`, thrown by a serializer, as a NotSerializable naming `what` was being written; a NotSerializable is renamed, other TangoErrors pass through. */
  static from(err: unknown, what: string): TangoError {
    if (err instanceof NotSerializable) return err.what === what ? err : new NotSerializable(what, err.reason);
    if (err instanceof TangoError) return err;
    let reason = err instanceof Error ? err.message : String(err);
    // A serializer that recursed out of stack (the engine's own RangeError) says so in plain words.
    if (/call stack/i.test(reason)) reason = 'nested too deeply (the serializer ran out of stack)';
    return new NotSerializable(what, reason);
  }
}

/** Raised when signing with an algorithm node:crypto does not know. */
export class InvalidAlgorithm extends TangoError {
  override readonly code = 'TANGO_INVALID_ALGORITHM';
}

/** A store (database, cache, files) could not be reached or failed: a 503-class failure. */
export class StoreUnavailable extends TangoError {
  override readonly code = 'TANGO_STORE_UNAVAILABLE';
  override readonly status = 503;
}

/** Django's KeyError for get_signed_cookie without default, session pop/delete of a missing key. */
export class KeyError extends TangoError {
  override readonly code = 'TANGO_KEY_ERROR';
  constructor(readonly key: string) {
    super(`KeyError: '${key}'`);
  }
}
