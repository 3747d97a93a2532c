/**
 * django/views/decorators/csrf.py: CSRF protection per view, for views
 * served without CsrfViewMiddleware in MIDDLEWARE (or, for
 * ensure_csrf_cookie, to send the cookie on a page that renders no form).
 * Each runs the middleware's steps around the one view, as Django's
 * decorator_from_middleware does: process_request, process_view, the view,
 * process_response.
 */
import type { HttpRequest } from '../../http/request';
import type { HttpResponse } from '../../http/response';
import { csrf_process_request, csrf_process_response, csrf_process_view } from '../../middleware/csrf';
import { get_token } from '../../middleware/csrf_tokens';

export { csrf_exempt, is_csrf_exempt } from './csrf_exempt';

type View<A extends unknown[]> = (request: HttpRequest, ...args: A) => HttpResponse | Promise<HttpResponse>;
type Wrapped<A extends unknown[]> = (request: HttpRequest, ...args: A) => Promise<HttpResponse>;

function from_middleware(enforce: boolean, ensure_cookie: boolean) {
  return <A extends unknown[]>(view: View<A>): Wrapped<A> => {
    const wrapped = async function (this: unknown, request: HttpRequest, ...args: A): Promise<HttpResponse> {
      csrf_process_request(request);
      const refused = csrf_process_view(request, () => ({ view }), enforce);
      // _EnsureCsrfCookie.process_view: the cookie is sent whatever the check said.
      if (ensure_cookie) get_token(request);
      const response = refused === null ? await view.apply(this, [request, ...args]) : await refused;
      return csrf_process_response(request, response);
    };
    Object.defineProperty(wrapped, 'name', { value: view.name });
    return wrapped;
  };
}

/**
 * CsrfViewMiddleware for one view: an unsafe request without a valid token
 * gets CSRF_FAILURE_VIEW's 403, and a token the view renders sends the cookie.
 */
export const csrf_protect = from_middleware(true, false);

/**
 * The view can render a token (get_token, csrf_input) and the cookie is
 * sent, but no request is refused: for views such as a custom 403 page that
 * must render a form whatever happened.
 */
export const requires_csrf_token = from_middleware(false, false);

/** Always sends the CSRF cookie, for pages that post with JavaScript and render no form; refuses nothing. */
export const ensure_csrf_cookie = from_middleware(false, true);
