/** One request through SessionMiddleware and MessageMiddleware, as a project with both installed runs it. */
import * as path from 'node:path';
import { freeze_time } from '@tango/core/clock';
import { HttpRequest } from '@tango/core/http/request';
import { HttpResponse } from '@tango/core/http/response';
import { SessionMiddleware } from '@tango/sessions/middleware';
import { MessageMiddleware } from '../middleware';

export const SECRET_KEY = 'messages-test-secret';
export const T = 1700000000;
export const COUNTING_ENGINE = path.join(__dirname, 'fixtures', 'counting_engine.ts');

export type View = (request: HttpRequest) => HttpResponse | Promise<HttpResponse> | void | Promise<void>;

export interface Exchange {
  request: HttpRequest;
  response: HttpResponse;
  /** name → the value each Set-Cookie line gives (for a deletion, ''). */
  cookies: Record<string, string>;
  /** name → the whole Set-Cookie line. */
  lines: Record<string, string>;
}

export async function exchange(view: View, cookie_header = '', now = T): Promise<Exchange> {
  const restore = freeze_time(now * 1000);
  try {
    const handler = SessionMiddleware(MessageMiddleware(async (r) => (await view(r)) ?? new HttpResponse('ok')));
    const request = new HttpRequest({ url: '/page/', headers: cookie_header ? { cookie: cookie_header } : {} });
    const response = await handler(request);
    const cookies: Record<string, string> = {};
    const lines: Record<string, string> = {};
    for (const [name, morsel] of response.cookies) {
      cookies[name] = morsel.value;
      lines[name] = morsel.output();
    }
    return { request, response, cookies, lines };
  } finally {
    restore();
  }
}

/** A browser's cookie jar over several exchanges: what each response set, sent with the next request. */
export class Browser {
  readonly jar = new Map<string, string>();

  header(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(view: View, now = T): Promise<Exchange> {
    const ex = await exchange(view, this.header(), now);
    for (const [name, morsel] of ex.response.cookies) {
      if (morsel.max_age === 0) this.jar.delete(name);
      else this.jar.set(name, morsel.coded_value);
    }
    return ex;
  }
}
