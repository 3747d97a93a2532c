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
import { HttpResponse } from './http/response';
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

/**
 * build_handler for an inner handler that already turns its exceptions into
 * responses. Neighbouring middleware_mixin layers run as one (run_hooks): the
 * same hooks in the same order, with one promise for all their
 * process_response hooks instead of one per layer.
 */
export function chain_middleware(inner: GetResponse, middleware: MiddlewareFactory[]): GetResponse {
  let handler = inner;
  for (let i = middleware.length - 1; i >= 0; ) {
    if (!mixin_setups.has(middleware[i])) {
      handler = convert_exception_to_response(middleware[i](handler));
      i--;
      continue;
    }
    const hooks: MiddlewareHooks[] = [];
    for (; i >= 0 && mixin_setups.has(middleware[i]); i--) hooks.unshift(mixin_setups.get(middleware[i])!());
    handler = run_hooks(hooks, handler, response_for_exception);
  }
  return handler;
}

type MaybePromise<T> = T | Promise<T>;

/** Django's MiddlewareMixin hooks (django/utils/deprecation.py). */
export interface MiddlewareHooks {
  /**
   * Before the inner handler. A response (or a promise of one) answers the
   * request without it; null or undefined (or a promise of either) goes on.
   */
  process_request?(request: HttpRequest): MaybePromise<HttpResponse | null | undefined | void>;
  /** After the inner handler (or process_request's response): the response to send. */
  process_response?(request: HttpRequest, response: HttpResponse): MaybePromise<HttpResponse>;
}

function rethrow(_request: HttpRequest, err: unknown): never {
  throw err;
}

const mixin_setups = new WeakMap<MiddlewareFactory, () => MiddlewareHooks>();

/**
 * A middleware factory from Django's MiddlewareMixin hooks. `setup` runs once
 * per chain, as a middleware's __init__ does: a bad setting found there stops
 * start-up. In a chain, exceptions are turned into responses per hook, as
 * convert_exception_to_response does per layer.
 */
export function middleware_mixin(setup: () => MiddlewareHooks): MiddlewareFactory {
  // Called on its own (not by chain_middleware), a layer's exceptions reach the caller, as in Django.
  const factory: MiddlewareFactory = (get_response) => {
    const handler = run_hooks([setup()], get_response, rethrow);
    return (request) => {
      try {
        return handler(request);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
  };
  mixin_setups.set(factory, setup);
  return factory;
}

/**
 * The layers `hooks` (outermost first) around `inner`, step for step as
 * Django's chain of MiddlewareMixin layers: process_request in order until
 * one answers or fails, the inner handler, then process_response back
 * outwards, from the layer that answered (a layer whose process_request
 * failed skips its own). Synchronous hooks cost no promise; the
 * process_response hooks share one (bench/NOTES.md, "the contrib stack").
 */
function run_hooks(hooks: MiddlewareHooks[], inner: GetResponse, convert: (request: HttpRequest, err: unknown) => HttpResponse): GetResponse {
  const n = hooks.length;
  const any_response_hook = hooks.some((h) => h.process_response !== undefined);

  /** process_response of layers `from` down to 0. */
  const unwind = (request: HttpRequest, response: HttpResponse, from: number): MaybePromise<HttpResponse> => {
    for (let j = from; j >= 0; j--) {
      const hook = hooks[j].process_response;
      if (hook === undefined) continue;
      try {
        const out = hook(request, response);
        if (!(out instanceof HttpResponse)) {
          return out.then(
            (r) => unwind(request, r, j - 1),
            (err: unknown) => unwind(request, convert(request, err), j - 1),
          );
        }
        response = out;
      } catch (err) {
        response = convert(request, err);
      }
    }
    return response;
  };

  const answer = (request: HttpRequest, response: HttpResponse, from: number): Promise<HttpResponse> =>
    Promise.resolve(unwind(request, response, from));

  /** process_request of layers `from` onwards, then the inner handler. */
  const enter = (request: HttpRequest, from: number): Promise<HttpResponse> => {
    for (let i = from; i < n; i++) {
      const hook = hooks[i].process_request;
      if (hook === undefined) continue;
      let early: ReturnType<NonNullable<MiddlewareHooks['process_request']>>;
      try {
        early = hook(request);
      } catch (err) {
        return answer(request, convert(request, err), i - 1);
      }
      if (early === null || early === undefined) continue;
      if (early instanceof HttpResponse) return answer(request, early, i);
      return early.then(
        (r) => (r ? unwind(request, r, i) : enter(request, i + 1)),
        (err: unknown) => unwind(request, convert(request, err), i - 1),
      );
    }
    const pending = inner(request);
    return any_response_hook ? pending.then((r) => unwind(request, r, n - 1)) : pending;
  };

  return (request) => enter(request, 0);
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
