/**
 * Loading and chaining settings.MIDDLEWARE, as Django's
 * BaseHandler.load_middleware does (django/core/handlers/base.py): a
 * middleware is a factory called once with the next handler, and every layer
 * turns its exceptions into responses (django/core/handlers/exception.py)
 * before the outer layers see them.
 */
import { settings } from './conf';
import { ImproperlyConfigured } from './errors';
import { require_module } from './module_loading';
import type { HttpRequest } from './http/request';
import type { HttpResponse } from './http/response';
import { response_for_exception } from './http/exception_response';

/** Django's middleware shape: a factory called once with the next handler. */
export type GetResponse = (request: HttpRequest) => Promise<HttpResponse>;
export type MiddlewareFactory = (get_response: GetResponse) => GetResponse;

type Spec = string | ((...args: never[]) => unknown);

/** Django's dotted names for the middleware Tango ships, so a settings.py's MIDDLEWARE ports over. */
export const DJANGO_MIDDLEWARE_NAMES: Record<string, string> = {
  'django.middleware.csrf.CsrfViewMiddleware': '@tango/core/middleware/csrf',
  'django.contrib.auth.middleware.AuthenticationMiddleware': '@tango/auth/middleware',
  'django.contrib.messages.middleware.MessageMiddleware': '@tango/messages/middleware',
};

/**
 * Resolves a MIDDLEWARE entry: a function, a module path whose default export
 * (or single `*Middleware` export) is the factory, or `module:Export` / the
 * Django-style `module.Export`.
 */
export function import_middleware(spec: Spec, base_dir = settings.BASE_DIR): MiddlewareFactory {
  if (typeof spec === 'function') return spec as unknown as MiddlewareFactory;
  spec = DJANGO_MIDDLEWARE_NAMES[spec] ?? spec;
  const attempts: Array<[string, string | undefined]> = [[spec, undefined]];
  const sep = Math.max(spec.lastIndexOf(':'), spec.lastIndexOf('#'), spec.lastIndexOf('.'));
  if (sep > 0) attempts.push([spec.slice(0, sep), spec.slice(sep + 1)]);
  for (const [mod, name] of attempts) {
    const loaded = require_module(mod, base_dir);
    if (loaded === undefined) continue;
    const candidates = name ? [loaded[name]] : [loaded.default, ...Object.entries(loaded).filter(([k]) => k.endsWith('Middleware')).map(([, v]) => v)];
    const found = candidates.find((c) => typeof c === 'function');
    if (found) return found as MiddlewareFactory;
  }
  throw new ImproperlyConfigured(`Invalid setting MIDDLEWARE entry '${spec}': expected a module exporting a middleware factory.`);
}

/**
 * Chains middleware as Django's BaseHandler.load_middleware does: the first
 * listed sees the request first and the response last. Each layer is wrapped
 * so an exception becomes a response before the outer layers see it
 * (django.core.handlers.exception.convert_exception_to_response).
 */
export function build_handler(inner: GetResponse, middleware: MiddlewareFactory[]): GetResponse {
  return chain_middleware(convert_exception_to_response(inner), middleware);
}

/** build_handler for an inner handler that already turns its exceptions into responses. */
export function chain_middleware(inner: GetResponse, middleware: MiddlewareFactory[]): GetResponse {
  let handler = inner;
  for (let i = middleware.length - 1; i >= 0; i--) {
    handler = convert_exception_to_response(middleware[i](handler));
  }
  return handler;
}

export function convert_exception_to_response(get_response: GetResponse): GetResponse {
  return async (request) => {
    try {
      return await get_response(request);
    } catch (err) {
      return response_for_exception(request, err);
    }
  };
}

export function load_middleware(list: readonly Spec[] = settings.MIDDLEWARE as Spec[]): MiddlewareFactory[] {
  return list.map((m) => import_middleware(m));
}
