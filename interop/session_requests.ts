/**
 * One request through Tango's SessionMiddleware, shaped like the driver's
 * `middleware` op (the same request through Django's), so the two can be
 * compared: what the view saw in request.session, and the Set-Cookie and
 * Vary headers of the response.
 */
import { freeze_time } from '../packages/core/clock';
import { HttpRequest } from '../packages/core/http/request';
import { HttpResponse } from '../packages/core/http/response';
import { py_json_dumps } from '../packages/core/py_json';
import { SessionMiddleware } from '../packages/sessions/middleware';

export interface SessionActions {
  cookie_header?: string;
  set?: Record<string, unknown>;
  delete?: string[];
  expiry?: number;
  flush?: boolean;
}

export interface SessionRequestResult {
  /** The session as the view saw it after its changes, as Python JSON text. */
  seen_json: string;
  set_cookie: Record<string, string>;
  vary: string | null;
}

export async function tango_session_request(actions: SessionActions, now: number): Promise<SessionRequestResult> {
  const restore = freeze_time(now * 1000);
  try {
    let seen = '';
    const handler = SessionMiddleware(async (request) => {
      const session = request.session;
      for (const k of actions.delete ?? []) session.delete(k);
      for (const [k, v] of Object.entries(actions.set ?? {})) session.set(k, v as never);
      if (actions.expiry !== undefined) session.set_expiry(actions.expiry);
      if (actions.flush) await session.flush();
      seen = py_json_dumps(Object.fromEntries(session.items()));
      return new HttpResponse('ok');
    });
    const request = new HttpRequest({ url: '/', headers: actions.cookie_header ? { cookie: actions.cookie_header } : {} });
    const response = await handler(request);
    return {
      seen_json: seen,
      set_cookie: Object.fromEntries([...response.cookies].map(([name, m]) => [name, m.output()])),
      vary: response.headers.get('Vary') ?? null,
    };
  } finally {
    restore();
  }
}

/** `name=value` of a Set-Cookie line, ready to send back in a Cookie header. */
export function cookie_pair(set_cookie: string): string {
  return set_cookie.split(';')[0];
}
