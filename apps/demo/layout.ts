/**
 * The demo site's page shell: every page is server-rendered HTML built with
 * core's escaping `html` tag, so nothing a visitor typed (a username, a cookie
 * value) reaches the page except as text.
 */
import { HttpResponse, csrf_input, html, type HttpRequest, type SafeString } from '@tango/core';
import { has_request_user } from '@tango/auth';
import { get_messages } from '@tango/messages';

/**
 * The signed-in user's name, or undefined. AuthenticationMiddleware loaded
 * request.user before the view; without it (the cookie tutorial runs
 * without any middleware) nobody is signed in.
 */
export function signed_in_user(request: HttpRequest): string | undefined {
  if (!has_request_user(request)) return undefined;
  return request.user.is_authenticated ? request.user.get_username() : undefined;
}

/** The messages waiting for this visitor (django.contrib.messages), shown once: reading them marks them read. */
function message_list(request: HttpRequest): SafeString | string {
  const items = [...get_messages(request)].map((m) => html`<li class="${m.tags}" role="status">${m.message}</li>`);
  return items.length === 0 ? '' : html`<ul class="messages">${items}</ul>`;
}

/** A page in the site's shell, whose navigation shows who is signed in (as Django's base templates read request.user). */
export function page(request: HttpRequest, title: string, body: SafeString, init: { status?: number } = {}): HttpResponse {
  const user = signed_in_user(request);
  const who = user === undefined
    ? html`<a href="/login/">Log in</a>`
    : html`Signed in as <strong class="user">${user}</strong>
      <form method="post" action="/logout/" class="inline">${csrf_input(request)}<button type="submit">Log out</button></form>`;
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} · Tango demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; padding: 0 1rem; }
  nav { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid #ccc; padding-bottom: .5rem; }
  nav .who { margin-left: auto; }
  form.inline { display: inline; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; }
  code, td { font-family: ui-monospace, monospace; word-break: break-all; }
  .error { color: #b00; }
  ul.messages { list-style: none; padding: 0; } ul.messages li { padding: .4rem .8rem; border-radius: .3rem; background: #eef; }
  ul.messages li.success { background: #e6f4e6; } ul.messages li.error { background: #fbe9e9; }
</style>
</head>
<body>
<nav><a href="/">Home</a> <a href="/whoami/">Who am I</a> <span class="who">${who}</span></nav>
${message_list(request)}
<h1>${title}</h1>
${body}
</body>
</html>
`;
  return new HttpResponse(doc.toString(), { status: init.status });
}
