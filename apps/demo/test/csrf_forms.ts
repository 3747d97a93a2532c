/**
 * Posting the demo's forms from tests as a browser does: the site runs
 * CsrfViewMiddleware, so every POST carries the token of a page it was
 * served (here the csrftoken cookie's value, which Django also accepts as a
 * token, after one GET of a page with a form when the jar has no cookie yet).
 */
import type { Client, ClientResponse, RequestOptions } from '@tango/core/testing';

/** The client's CSRF token, fetching the login form first when it holds no csrftoken cookie. */
export async function csrf_token(client: Client): Promise<string> {
  if (client.cookies.get('csrftoken') === undefined) await client.get('/login/');
  const cookie = client.cookies.get('csrftoken');
  if (cookie === undefined) throw new Error('GET /login/ set no csrftoken cookie: is CsrfViewMiddleware in MIDDLEWARE?');
  return cookie.value;
}

/** client.post with the form's csrfmiddlewaretoken field added. */
export async function post_form(client: Client, path: string, fields: Record<string, string> = {}, options: RequestOptions = {}): Promise<ClientResponse> {
  return client.post(path, { ...fields, csrfmiddlewaretoken: await csrf_token(client) }, options);
}
