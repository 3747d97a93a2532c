/**
 * django/http/response.py: HttpResponse and its subclasses (JSON, redirects,
 * 4xx/5xx), with the headers and the cookies to send. Views and middleware
 * return them; server.ts writes them to the socket.
 */
import { ResponseHeaders } from './headers';
import { SimpleCookie, set_cookie, delete_cookie, type SetCookieOptions } from './cookies';
import { sign_cookie_value } from './signed_cookies';

export interface ResponseInit {
  status?: number;
  content_type?: string;
  headers?: Record<string, string>;
}

export type Content = string | Buffer | Uint8Array;

/** django.http.HttpResponse: content, status, headers and the cookies to send. */
export class HttpResponse {
  status_code: number;
  readonly headers: ResponseHeaders;
  content: Content;
  #cookies: SimpleCookie | undefined = undefined;

  constructor(content: Content = '', init: ResponseInit = {}) {
    this.content = content;
    this.status_code = init.status ?? (new.target as typeof HttpResponse).default_status;
    this.headers = new ResponseHeaders(init.headers);
    if (!this.headers.has('Content-Type')) {
      this.headers.set('Content-Type', init.content_type ?? 'text/html; charset=utf-8');
    }
  }

  static default_status = 200;

  /** The cookies this response will send (Django's response.cookies), made on first use: most responses set none. */
  get cookies(): SimpleCookie {
    return (this.#cookies ??= new SimpleCookie());
  }

  /** Whether any cookie will be sent, without making the jar. */
  get has_cookies(): boolean {
    return this.#cookies !== undefined && this.#cookies.size !== 0;
  }

  /** The body as text, for tests and middleware that inspect it. */
  get text(): string {
    return typeof this.content === 'string' ? this.content : Buffer.from(this.content).toString('utf8');
  }

  set_cookie(key: string, value = '', options: SetCookieOptions = {}): void {
    set_cookie(this.cookies, key, value, options);
  }

  delete_cookie(key: string, options: Pick<SetCookieOptions, 'path' | 'domain' | 'samesite'> = {}): void {
    delete_cookie(this.cookies, key, options);
  }

  /** django.http.HttpResponse.set_signed_cookie: Django's current salt form (django/http/response.py, django/http/request.py get_signed_cookie). */
  set_signed_cookie(key: string, value: string, options: SetCookieOptions & { salt?: string } = {}): void {
    const { salt = '', ...rest } = options;
    set_cookie(this.cookies, key, sign_cookie_value(key, value, salt), rest);
  }
}

export class HttpResponseNotFound extends HttpResponse {
  static override default_status = 404;
}

export class HttpResponseBadRequest extends HttpResponse {
  static override default_status = 400;
}

export class HttpResponseForbidden extends HttpResponse {
  static override default_status = 403;
}

export class HttpResponseNotAllowed extends HttpResponse {
  static override default_status = 405;
  constructor(permitted: string[], content: Content = '', init: ResponseInit = {}) {
    super(content, init);
    this.headers.set('Allow', permitted.join(', '));
  }
}

export class HttpResponseServerError extends HttpResponse {
  static override default_status = 500;
}

/** django.http.HttpResponseRedirect (302) with Location. */
export class HttpResponseRedirect extends HttpResponse {
  static override default_status = 302;
  constructor(redirect_to: string, init: ResponseInit = {}) {
    super('', init);
    this.headers.set('Location', redirect_to);
  }

  get url(): string {
    return this.headers.get('Location') ?? '';
  }
}

export class HttpResponsePermanentRedirect extends HttpResponseRedirect {
  static override default_status = 301;
}

/** django.http.JsonResponse: non-objects need `safe: false`, as in Django. */
export class JsonResponse extends HttpResponse {
  constructor(data: unknown, init: ResponseInit & { safe?: boolean } = {}) {
    const { safe = true, ...rest } = init;
    if (safe && (data === null || typeof data !== 'object' || Array.isArray(data))) {
      throw new TypeError('In order to allow non-dict objects to be serialized set the safe parameter to false.');
    }
    super(JSON.stringify(data), { content_type: 'application/json', ...rest });
  }
}
