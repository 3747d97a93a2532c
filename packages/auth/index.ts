/**
 * @tango/auth: django.contrib.auth's users, password hashing and sessions.
 * Add '@tango/auth' (or 'django.contrib.auth') to INSTALLED_APPS and
 * '@tango/auth/middleware' to MIDDLEWARE after the session middleware.
 */
export { authenticate, login, logout, get_user, update_session_auth_hash, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY } from './session_auth';
export { login_required, user_passes_test, redirect_to_login, resolve_url, REDIRECT_FIELD_NAME } from './decorators';
export type { LoginRedirectOptions } from './decorators';
export { User, AnonymousUser, validate_username, normalize_email, normalize_username } from './models';
export type { AnyUser, UserFields } from './models';
export { make_password, check_password, is_password_usable, get_hasher, identify_hasher } from './hashers';
export { PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher, ScryptPasswordHasher, MD5PasswordHasher, BasePasswordHasher } from './hashers';
export { ModelBackend, AllowAllUsersModelBackend, load_backend } from './backends';
export type { AuthBackend, Credentials } from './backends';
export { has_request_user } from './request_user';
export { AuthenticationMiddleware } from './middleware';
export { user_logged_in, user_logged_out, user_login_failed } from './signals';
