/**
 * django.middleware.csrf.CsrfViewMiddleware (5.2), in Tango's middleware shape.
 *
 * An unsafe request (not GET, HEAD, OPTIONS, TRACE) to a view that is not
 * csrf_exempt must pass, in Django's order: the Origin header when sent
 * (the request's own origin or CSRF_TRUSTED_ORIGINS), else over HTTPS the
 * Referer; then a cookie (or session) secret, and a token in the
 * `csrfmiddlewaretoken` POST field or the CSRF_HEADER_NAME header that
 * matches it. A refusal is CSRF_FAILURE_VIEW's 403 with Django's reason,
 * logged on 'tango.security.csrf'; nothing a client sends makes it a 500.
 *
 * Cost: a safe request does no check and reads no store; the cookie is
 * written only when a view called get_token() or rotate_token().
 */
import { settings } from '../conf';
import { is_same_domain } from '../http/hosts';
import { meta_to_header, type HttpRequest } from '../http/request';
import { HttpResponse } from '../http/response';
import { geturl, urlsplit, type SplitResult } from '../http/urlsplit';
import { patch_vary_headers } from '../http/vary';
import { get_logger } from '../log';
import { register_memo } from '../memos';
import { middleware_mixin, type MiddlewareFactory } from '../middleware';
import { get_callable } from '../module_loading';
import { resolve, Resolver404 } from '../urls/resolvers';
import { is_csrf_exempt } from '../views/decorators/csrf_exempt';
import {
  REASON_BAD_ORIGIN, REASON_BAD_REFERER, REASON_CSRF_TOKEN_MISSING, REASON_INSECURE_REFERER,
  REASON_MALFORMED_REFERER, REASON_NO_CSRF_COOKIE, REASON_NO_REFERER, format_reason,
} from './csrf_reasons';
import {
  CSRF_SESSION_KEY, InvalidTokenFormat, check_token_format, csrf_state, current_secret, does_token_match, read_secret,
} from './csrf_tokens';

export * from './csrf_reasons';
export { get_token, rotate_token, CSRF_SESSION_KEY, mask_cipher_secret, unmask_cipher_token } from './csrf_tokens';
export { csrf_exempt } from '../views/decorators/csrf_exempt';

const log = get_logger('tango.security.csrf');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export type CsrfFailureView = (request: HttpRequest, reason: string) => HttpResponse | Promise<HttpResponse>;

class RejectRequest extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** CSRF_TRUSTED_ORIGINS, split once per settings object (Django's cached_properties). */
interface TrustedOrigins {
  list: readonly string[];
  /** Netlocs for the Referer check, a leading '*' dropped ('.example.com'). */
  hosts: string[];
  exact: Set<string>;
  /** scheme → netloc patterns from wildcard origins. */
  subdomains: Map<string, string[]>;
}

let trusted: TrustedOrigins | undefined;
register_memo('middleware.csrf.trusted_origins', () => {
  trusted = undefined;
});

function trusted_origins(): TrustedOrigins {
  const list = settings.CSRF_TRUSTED_ORIGINS;
  if (trusted?.list === list) return trusted;
  const t: TrustedOrigins = { list, hosts: [], exact: new Set(), subdomains: new Map() };
  for (const origin of list) {
    const parsed = urlsplit(origin);
    const netloc = parsed.netloc.replace(/^\*+/, '');
    t.hosts.push(netloc);
    if (!origin.includes('*')) {
      t.exact.add(origin);
    } else {
      const l = t.subdomains.get(parsed.scheme) ?? [];
      l.push(netloc);
      t.subdomains.set(parsed.scheme, l);
    }
  }
  return (trusted = t);
}

let failure: { spec: unknown; view: CsrfFailureView } | undefined;
register_memo('middleware.csrf.failure_view', () => {
  failure = undefined;
});

/** settings.CSRF_FAILURE_VIEW as a function (resolved again only when the setting changes). */
function failure_view(): CsrfFailureView {
  const spec = settings.CSRF_FAILURE_VIEW;
  if (failure?.spec !== spec) {
    failure = { spec, view: get_callable('CSRF_FAILURE_VIEW', spec, settings.BASE_DIR) as unknown as CsrfFailureView };
  }
  return failure.view;
}

/** The view this request will reach, undefined when none matches (a 404 follows, as in Django, unchecked). */
function view_of(request: HttpRequest): { view: unknown } | undefined {
  if (request.resolver_match) return { view: request.resolver_match.func };
  try {
    return { view: resolve(request.path_info).route.view };
  } catch (err) {
    if (err instanceof Resolver404) return undefined;
    // No URLconf to ask: check the request rather than let it through.
    return { view: null };
  }
}

function origin_verified(request: HttpRequest, origin: string): boolean {
  const good_origin = `${request.is_secure() ? 'https' : 'http'}://${request.get_host()}`;
  if (origin === good_origin) return true;
  const t = trusted_origins();
  if (t.exact.has(origin)) return true;
  let parsed: SplitResult;
  try {
    parsed = urlsplit(origin);
  } catch {
    return false;
  }
  return (t.subdomains.get(parsed.scheme) ?? []).some((host) => is_same_domain(parsed.netloc, host));
}

function check_referer(request: HttpRequest): void {
  const raw = request.header('referer');
  if (raw === undefined) throw new RejectRequest(REASON_NO_REFERER);
  let referer: SplitResult;
  try {
    referer = urlsplit(raw);
  } catch {
    throw new RejectRequest(REASON_MALFORMED_REFERER);
  }
  if (referer.scheme === '' || referer.netloc === '') throw new RejectRequest(REASON_MALFORMED_REFERER);
  if (referer.scheme !== 'https') throw new RejectRequest(REASON_INSECURE_REFERER);
  if (trusted_origins().hosts.some((host) => is_same_domain(referer.netloc, host))) return;
  // The configured cookie domain, else the request's own host:port (already checked against ALLOWED_HOSTS).
  let good_referer = settings.CSRF_USE_SESSIONS ? settings.SESSION_COOKIE_DOMAIN : settings.CSRF_COOKIE_DOMAIN;
  if (good_referer === null) {
    good_referer = request.get_host();
  } else {
    const port = request.get_port();
    if (port !== '443' && port !== '80') good_referer = `${good_referer}:${port}`;
  }
  if (!is_same_domain(referer.netloc, good_referer)) throw new RejectRequest(format_reason(REASON_BAD_REFERER, geturl(referer)));
}

/** Python's str.title() on a header name: 'X-CSRFTOKEN' → 'X-Csrftoken' (django.http.request.HttpHeaders). */
function header_title(meta: string): string {
  const name = meta.startsWith('HTTP_') ? meta.slice(5) : meta;
  return name.replace(/_/g, '-').toLowerCase().replace(/(^|[^a-z])([a-z])/g, (_m, before: string, c: string) => before + c.toUpperCase());
}

function bad_token_message(reason: string, source: 'POST' | 'header'): string {
  const where = source === 'POST' ? 'POST' : `the '${header_title(settings.CSRF_HEADER_NAME)}' HTTP header`;
  return `CSRF token from ${where} ${reason}.`;
}

function check_token(request: HttpRequest): void {
  // Read again, not the state's secret: rotate_token() must not let a request through (Django's _check_token).
  let secret: string | null;
  try {
    secret = read_secret(request);
  } catch (err) {
    if (err instanceof InvalidTokenFormat) throw new RejectRequest(`CSRF cookie ${err.reason}.`);
    throw err;
  }
  if (secret === null) throw new RejectRequest(REASON_NO_CSRF_COOKIE);

  let token = request.method === 'POST' ? request.POST.get('csrfmiddlewaretoken', '') : '';
  let source: 'POST' | 'header' = 'POST';
  if (token === '') {
    const sent = request.header(meta_to_header(settings.CSRF_HEADER_NAME));
    if (sent === undefined) throw new RejectRequest(REASON_CSRF_TOKEN_MISSING);
    token = sent;
    source = 'header';
  }
  try {
    check_token_format(token);
  } catch (err) {
    throw new RejectRequest(bad_token_message((err as InvalidTokenFormat).reason, source));
  }
  if (!does_token_match(token, secret)) throw new RejectRequest(bad_token_message('incorrect', source));
}

async function reject(request: HttpRequest, reason: string): Promise<HttpResponse> {
  const response = await failure_view()(request, reason);
  // django.utils.log.log_response: 'Forbidden (%s): %s', at warning level for a 4xx.
  log.warn(`Forbidden (${reason}): ${request.path}`, { reason, path: request.path, method: request.method, status_code: response.status_code });
  return response;
}

/**
 * process_view: null to go on to the view, or the refusal. `find_target`
 * gives the view (undefined when no URL matches), asked only for an unsafe
 * method; with `enforce` false (Django's _EnsureCsrfToken, whose _reject
 * returns None) a failed check is neither refused nor logged.
 */
export function csrf_process_view(request: HttpRequest, find_target: (request: HttpRequest) => { view: unknown } | undefined, enforce = true): Promise<HttpResponse> | null {
  const state = csrf_state(request);
  if (state.processing_done) return null;
  // Django tests csrf_exempt first, but both outcomes let the request through; the method is cheaper.
  if (SAFE_METHODS.has(request.method)) {
    state.processing_done = true;
    return null;
  }
  const target = find_target(request);
  if (target === undefined || is_csrf_exempt(target.view)) return null;
  try {
    const origin = request.header('origin');
    if (origin !== undefined) {
      if (!origin_verified(request, origin)) throw new RejectRequest(format_reason(REASON_BAD_ORIGIN, origin));
    } else if (request.is_secure()) {
      check_referer(request);
    }
    check_token(request);
  } catch (err) {
    if (err instanceof RejectRequest) return enforce ? reject(request, err.reason) : null;
    throw err;
  }
  state.processing_done = true;
  return null;
}

/**
 * process_request: with the cookie, its secret is read now (a malformed one
 * is replaced, as Django does); with CSRF_USE_SESSIONS the session is read
 * only if something needs it.
 */
export function csrf_process_request(request: HttpRequest): void {
  if (!settings.CSRF_USE_SESSIONS) current_secret(request);
}

/** process_response: send the secret when get_token() or rotate_token() asked for it. */
export function csrf_process_response(request: HttpRequest, response: HttpResponse): HttpResponse {
  const state = request.csrf;
  if (!state?.needs_update || typeof state.secret !== 'string') return response;
  if (settings.CSRF_USE_SESSIONS) {
    if (request.session.get(CSRF_SESSION_KEY) !== state.secret) request.session.set(CSRF_SESSION_KEY, state.secret);
  } else {
    response.set_cookie(settings.CSRF_COOKIE_NAME, state.secret, {
      max_age: settings.CSRF_COOKIE_AGE,
      domain: settings.CSRF_COOKIE_DOMAIN,
      path: settings.CSRF_COOKIE_PATH,
      secure: settings.CSRF_COOKIE_SECURE || null,
      httponly: settings.CSRF_COOKIE_HTTPONLY || null,
      samesite: settings.CSRF_COOKIE_SAMESITE,
    });
    // The page holds a token made from the cookie: caches must key on it.
    patch_vary_headers(response, ['Cookie']);
  }
  // Another CsrfViewMiddleware further out need not send it again.
  state.needs_update = false;
  return response;
}

export const CsrfViewMiddleware: MiddlewareFactory = middleware_mixin(() => {
  // A CSRF_FAILURE_VIEW that names nothing stops start-up, not the first refused request.
  failure_view();
  return {
    process_request(request) {
      csrf_process_request(request);
      return csrf_process_view(request, view_of);
    },
    process_response: csrf_process_response,
  };
});

export default CsrfViewMiddleware;
