/**
 * django/core/handlers/base.py for Tango: get_handler() is the whole pipeline
 * one request runs through, the Host check, then settings.MIDDLEWARE, then
 * view_runner(), which calls the view and turns its exceptions into responses.
 * server.ts calls it for every request; the in-process test client too.
 */
import { settings } from './conf';
import { Http404 } from './errors';
import { check_host } from './http/hosts';
import { response_for_exception } from './http/exception_response';
import type { HttpRequest } from './http/request';
import { HttpResponse } from './http/response';
import { chain_middleware, load_middleware, type GetResponse, type MiddlewareFactory } from './middleware';
import { resolve, Resolver404, type CompiledRoute } from './urls/resolvers';

/**
 * Calls the view the router matched (or resolves the path when the request
 * did not come through Fastify's router, as with the in-process test client).
 * It converts its own exceptions to responses (the innermost layer of
 * convert_exception_to_response), so the view costs one async layer, and a
 * view that returns its response directly is not awaited at all.
 */
export function view_runner(routes: () => CompiledRoute[]): GetResponse {
  return async (request: HttpRequest) => {
    try {
      let match = request.resolver_match;
      if (!match) {
        try {
          const { route, args } = resolve(request.path_info, routes());
          match = request.resolver_match = { func: route.view, route: route.route, url_name: route.name, args };
        } catch (err) {
          if (err instanceof Resolver404) throw new Http404(err.message);
          throw err;
        }
      }
      const view = match.func as (r: HttpRequest, ...a: unknown[]) => unknown;
      let response: unknown = match.args.length === 0 ? view(request) : view(request, ...match.args);
      if (response instanceof Promise) response = await response;
      if (!(response instanceof HttpResponse)) {
        const name = match.func.name || 'anonymous';
        throw new TypeError(`The view ${name} didn't return an HttpResponse object. It returned ${response === undefined ? 'undefined' : typeof response} instead.`);
      }
      return response;
    } catch (err) {
      return response_for_exception(request, err);
    }
  };
}

/** The whole request pipeline: settings.MIDDLEWARE around the view runner (Django's BaseHandler). */
export function get_handler(routes: () => CompiledRoute[], middleware: MiddlewareFactory[] = load_middleware()): GetResponse {
  const chain = chain_middleware(view_runner(routes), middleware);
  // Not async: the chain's own promise is returned as it is, one layer of promise turns fewer per request.
  return (request) => {
    try {
      // Django's CommonMiddleware calls get_host() first; a bad Host never reaches a view or a store.
      check_host(request.headers.host, settings.ALLOWED_HOSTS);
    } catch (err) {
      return Promise.resolve(response_for_exception(request, err));
    }
    return chain(request);
  };
}
