/** @tango/sessions: django.contrib.sessions for Tango. */
export { SessionBase, VALID_KEY_CHARS, MAX_SAVE_RETRIES } from './base';
export type { ExpiryValue, ExpiryOptions, SessionStoreClass } from './base';
export { apply_changes, is_dict, new_dict } from './session_dict';
export type { SessionDict, SessionChanges } from './session_dict';
export { with_store_timeout } from './store_io';
export type { StoredState, CasResult, StoreErrorMap } from './store_io';
export { with_bracket_access } from './bracket_access';
export type { SessionDataSchema } from './data_schema';
export type { Session, SessionApi, SessionData, SessionValueOf } from '@tango/core/http/session_api';
export {
  CreateError, UpdateError, InvalidSessionKey, SuspiciousSession, SessionInterrupted,
  SessionCookieTooLarge, NotImplementedError, SESSION_INTERRUPTED_MESSAGE,
} from './exceptions';
export { SessionMiddleware } from './middleware';
export { get_session_store_class } from './engine';
