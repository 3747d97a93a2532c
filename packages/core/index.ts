/** @tango/core's public names, as a Django project imports them from django.http, django.urls, django.conf... */
export { settings, configure, defineSettings, load_settings, override_settings, validate_settings, on_settings_changed, is_configured } from './conf';
export type { Settings, SettingsInput } from './conf';
export * from './errors';
export { HttpRequest } from './http/request';
export type { RequestInit, ResolverMatch } from './http/request';
export {
  HttpResponse, JsonResponse, HttpResponseRedirect, HttpResponsePermanentRedirect, HttpResponseNotFound,
  HttpResponseBadRequest, HttpResponseForbidden, HttpResponseNotAllowed, HttpResponseServerError,
} from './http/response';
export type { ResponseInit, Content } from './http/response';
export { CookieError } from './http/cookies';
export type { SetCookieOptions } from './http/cookies';
export { CookieDict } from './http/cookie_dict';
export { QueryDict } from './http/query_dict';
export { patch_vary_headers } from './http/vary';
export { html, escape, mark_safe, SafeString } from './html';
export type { Session, SessionApi, SessionData, SessionValueOf } from './http/session_api';
export { path, include, reverse, resolve } from './urls';
export type { View, URLEntry } from './urls';
export type { MiddlewareFactory, GetResponse, MiddlewareHooks } from './middleware';
export { middleware_mixin } from './middleware';
export { create_app } from './server';
export { require_http_methods, require_GET, require_POST, require_safe } from './views/decorators/http';
export { CsrfViewMiddleware } from './middleware/csrf';
export { get_token, rotate_token } from './middleware/csrf_tokens';
export { csrf_exempt, csrf_protect, requires_csrf_token, ensure_csrf_cookie } from './views/decorators/csrf';
export { csrf_input } from './csrf_input';
export { BaseCommand } from './management/base';
export * as signing from './signing';
export { clock, freeze_time } from './clock';
export { get_logger } from './log';
