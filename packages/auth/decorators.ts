/**
 * django.contrib.auth.decorators (login_required, user_passes_test) and
 * django.contrib.auth.views.redirect_to_login: a visitor who fails the test
 * is redirected to LOGIN_URL with the page they asked for in `?next=`,
 * encoded as Django encodes it, so `next` round-trips through either side's
 * login view.
 */
import { settings } from '@tango/core/conf';
import type { HttpRequest } from '@tango/core/http/request';
import { HttpResponseRedirect, type HttpResponse } from '@tango/core/http/response';
import { NoReverseMatch, reverse } from '@tango/core/urls';
import type { AnyUser } from './models';

export const REDIRECT_FIELD_NAME = 'next';

type AnyView<A extends unknown[]> = (request: HttpRequest, ...args: A) => HttpResponse | Promise<HttpResponse>;

export interface LoginRedirectOptions {
  /** Default: settings.LOGIN_URL. */
  login_url?: string;
  /** The query parameter carrying the original page; '' or null: none. Default 'next'. */
  redirect_field_name?: string | null;
}

/** Python's urllib.parse.quote: UTF-8, with A-Z a-z 0-9 _ . - ~ and `safe` left as they are. */
export function py_quote(s: string, safe = '/'): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(c) || (byte < 128 && safe.includes(c)) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * django.shortcuts.resolve_url for a string: a relative './' or '../' URL as
 * it is; else a URL pattern name when one reverses; else the string itself
 * when it looks like a URL (has a '/' or a '.').
 */
export function resolve_url(to: string): string {
  // A pattern name never holds a '/', so a path or URL skips the reverse() attempt.
  if (to.startsWith('./') || to.startsWith('../') || to.includes('/')) return to;
  try {
    return reverse(to);
  } catch (err) {
    if (err instanceof NoReverseMatch && to.includes('.')) return to;
    throw err;
  }
}

/** The scheme and host of a URL ('' and '' for a path), as urlparse splits them. */
function scheme_netloc(url: string): [string, string] {
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?/.exec(url);
  return [m?.[1]?.toLowerCase() ?? '', m?.[2] ?? ''];
}

/** django.contrib.auth.views.redirect_to_login: LOGIN_URL with `next` added to its query string. */
export function redirect_to_login(next: string, login_url?: string, redirect_field_name: string | null = REDIRECT_FIELD_NAME): HttpResponseRedirect {
  const resolved = resolve_url(login_url ?? settings.LOGIN_URL);
  if (!redirect_field_name) return new HttpResponseRedirect(resolved);
  const hash = resolved.indexOf('#');
  const fragment = hash >= 0 ? resolved.slice(hash) : '';
  const before = hash >= 0 ? resolved.slice(0, hash) : resolved;
  const q = before.indexOf('?');
  const base = q >= 0 ? before.slice(0, q) : before;
  // QueryDict(query).urlencode(safe='/') after setting the field: other parameters stay, the field is replaced.
  const params = (q >= 0 ? before.slice(q + 1) : '').split('&').filter(Boolean)
    .map((pair) => pair.split('=', 2).map((p) => decodeURIComponent(p.replace(/\+/g, ' '))) as [string, string?])
    .filter(([k]) => k !== redirect_field_name);
  params.push([redirect_field_name, next]);
  const query = params.map(([k, v]) => `${py_quote(k)}=${py_quote(v ?? '')}`).join('&');
  return new HttpResponseRedirect(`${base}?${query}${fragment}`);
}

/** django.utils.encoding.escape_uri_path: what get_full_path() puts in a URL. */
function escape_uri_path(path: string): string {
  return py_quote(path, "/:@&+$,-_.!~*'()");
}

/**
 * django.contrib.auth.decorators.user_passes_test: the view runs when
 * `test(request.user)` is true; otherwise the visitor goes to the login page.
 */
export function user_passes_test(test: (user: AnyUser) => boolean | Promise<boolean>, options: LoginRedirectOptions = {}) {
  return <A extends unknown[]>(view: AnyView<A>): AnyView<A> => {
    const wrapped = async (request: HttpRequest, ...args: A): Promise<HttpResponse> => {
      if (await test(request.user)) return view(request, ...args);
      const resolved = resolve_url(options.login_url ?? settings.LOGIN_URL);
      const [login_scheme, login_netloc] = scheme_netloc(resolved);
      const full_path = escape_uri_path(request.path) + (request.query_string ? `?${request.query_string}` : '');
      // A login page on this site gets only the path; one elsewhere gets the full URL.
      let path = full_path;
      if ((login_scheme && login_scheme !== request.scheme) || (login_netloc && login_netloc !== request.get_host())) {
        path = `${request.scheme}://${request.get_host()}${full_path}`;
      }
      return redirect_to_login(path, resolved, options.redirect_field_name === undefined ? REDIRECT_FIELD_NAME : options.redirect_field_name);
    };
    Object.defineProperty(wrapped, 'name', { value: view.name });
    return wrapped;
  };
}

/** django.contrib.auth.decorators.login_required: signed-in users only; others go to LOGIN_URL?next=<this page>. */
export function login_required<A extends unknown[]>(view: AnyView<A>, options: LoginRedirectOptions = {}): AnyView<A> {
  return user_passes_test((u) => u.is_authenticated, options)(view);
}
