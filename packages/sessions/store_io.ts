/**
 * What a session engine's storage calls share: the shape of a record as a
 * read or write left it (the version a compare-and-swap checks), the
 * SESSION_STORE_TIMEOUT guard around each round trip, and how a store's
 * failures become the public errors (StoreUnavailable → 503, NotSerializable
 * → 500). Apart from SessionBase because it is about the stores, not the data.
 */
import { settings } from '@tango/core/conf';
import { is_connection_error } from '@tango/core/db';
import { NotSerializable, StoreUnavailable } from '@tango/core/errors';
import type { SessionDict } from './session_dict';

/**
 * The record as one read (or write) of the store left it. `version` is what
 * the engine's compare-and-swap checks (the stored string, or a store's CAS
 * token); the base never looks inside it. `data()` decodes that record afresh,
 * and is only called when a save meets a conflict.
 */
export interface StoredState {
  readonly version: unknown;
  data(): Promise<SessionDict>;
}

/** What an engine's compare-and-swap did: wrote, found the record changed, or found no record. */
export type CasResult = 'ok' | 'conflict' | 'gone';

/** What a failed store operation rejects with: by default a connection failure becomes StoreUnavailable (as_unavailable). */
export type StoreErrorMap = (err: unknown, what: string) => unknown;

/**
 * Runs a serializer of session data: what it cannot write (nested deeper than
 * MAX_JSON_DEPTH, a cycle, a function) is a NotSerializable, a 500 with the
 * reason logged, the same on every engine and before anything is written.
 */
export function serialize_session<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw NotSerializable.from(err, 'The session data');
  }
}

/**
 * Races a store operation against settings.SESSION_STORE_TIMEOUT (ms; 0 turns
 * it off), so a dead store gives a prompt 503 instead of a hung request. Its
 * failure goes through `map_error` either way (an engine's own wording, say).
 */
export function with_store_timeout<T>(
  op: Promise<T>, what: string, ms: number = settings.SESSION_STORE_TIMEOUT, map_error: StoreErrorMap = as_unavailable,
): Promise<T> {
  if (!ms) return op.catch((e: unknown) => { throw map_error(e, what); });
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreUnavailable(
      `The session store did not answer within ${ms} ms (${what}). Check that it is running, or raise SESSION_STORE_TIMEOUT.`)), ms);
    timer.unref();
    op.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e: unknown) => { clearTimeout(timer); reject(map_error(e, what)); });
  });
}

/** A store that refuses or drops the connection is an outage (503), not a bug in the view (500). */
function as_unavailable(err: unknown, what: string): unknown {
  if (err instanceof StoreUnavailable || !is_connection_error(err)) return err;
  return new StoreUnavailable(`The session store is unreachable (${what}): ${reason_of(err)}`);
}

/** What a store client's failure says, for a StoreUnavailable: its message, or the value itself when it is not an error. */
export function reason_of(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}
