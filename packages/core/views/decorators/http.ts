/**
 * django.views.decorators.http: views that accept only some HTTP methods.
 * Anything else is answered 405 with `Allow`, and logged on tango.request as
 * Django logs it on django.request ("Method Not Allowed (GET): /path/").
 */
import { get_logger } from '../../log';
import type { HttpRequest } from '../../http/request';
import { HttpResponseNotAllowed, type HttpResponse } from '../../http/response';

const log = get_logger('tango.request');

type AnyView<A extends unknown[]> = (request: HttpRequest, ...args: A) => HttpResponse | Promise<HttpResponse>;

/** require_http_methods(['GET', 'POST'])(view); method names are upper case, as request.method is. */
export function require_http_methods(methods: readonly string[]) {
  const allowed = methods.map((m) => m.toUpperCase());
  return <A extends unknown[]>(view: AnyView<A>): AnyView<A> => {
    const wrapped = (request: HttpRequest, ...args: A): HttpResponse | Promise<HttpResponse> => {
      if (!allowed.includes(request.method)) {
        log.warn(`Method Not Allowed (${request.method}): ${request.path}`);
        return new HttpResponseNotAllowed(allowed);
      }
      return view(request, ...args);
    };
    Object.defineProperty(wrapped, 'name', { value: view.name });
    return wrapped;
  };
}

/** Only GET. */
export const require_GET = require_http_methods(['GET']);
/** Only POST: for views that change state, so a link or an <img> on another site cannot trigger them. */
export const require_POST = require_http_methods(['POST']);
/** GET and HEAD, the methods that must not change anything (RFC 9110 §9.2.1). */
export const require_safe = require_http_methods(['GET', 'HEAD']);
