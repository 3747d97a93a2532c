/** @tango/sessions: django.contrib.sessions for Tango. */
export { SessionBase, VALID_KEY_CHARS, MAX_SAVE_RETRIES, apply_changes, is_dict, new_dict, with_store_timeout } from './base';
export type { SessionDict, ExpiryValue, ExpiryOptions, SessionStoreClass, StoredState, CasResult, SessionChanges, StoreErrorMap } from './base';
export {
  CreateError, UpdateError, InvalidSessionKey, SuspiciousSession, SessionInterrupted,
  SessionCookieTooLarge, NotImplementedError, SESSION_INTERRUPTED_MESSAGE,
} from './exceptions';
export { SessionMiddleware } from './middleware';
export { get_session_store_class } from './engine';
