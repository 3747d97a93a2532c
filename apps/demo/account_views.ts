/**
 * Log in (username only, no password: this is a sessions demo, not auth) and
 * log out, with the session handling of django.contrib.auth's login() and
 * logout(). Both are POST forms answered with a redirect (Post/Redirect/Get).
 */
import { HttpResponseNotAllowed, HttpResponseRedirect, csrf_input, html, rotate_token, type HttpRequest, type HttpResponse } from '@tango/core';
import { messages } from '@tango/messages';
import { page, signed_in_user, USER_KEY } from './layout';

/** Django's User.username max_length. */
const MAX_USERNAME = 150;

function login_form(request: HttpRequest, username = '', error?: string): HttpResponse {
  return page(request, 'Log in', html`
${error === undefined ? '' : html`<p class="error" role="alert">${error}</p>`}
<form method="post" action="/login/">
  ${csrf_input(request)}
  <p><label>Username <input name="username" value="${username}" autofocus required maxlength="${MAX_USERNAME}"></label></p>
  <p><label><input type="checkbox" name="remember" value="1" checked> Remember me (otherwise the session ends when the browser closes)</label></p>
  <p><button type="submit">Log in</button></p>
</form>`);
}

export async function login(request: HttpRequest): Promise<HttpResponse> {
  if (request.method !== 'POST') return login_form(request);
  const username = (request.POST.get('username') ?? '').trim();
  if (!username) return login_form(request, username, 'Enter a username.');
  if ([...username].length > MAX_USERNAME) return login_form(request, username, `A username has at most ${MAX_USERNAME} characters.`);
  // django.contrib.auth.login: another user's session is flushed (nothing of theirs carries
  // over); otherwise the key is cycled, so a key planted before login (session fixation) dies.
  const current = signed_in_user(request);
  if (current !== undefined && current !== username) await request.session.flush();
  else await request.session.cycle_key();
  request.session.set(USER_KEY, username);
  // As django.contrib.auth.login: a CSRF token seen before login is no use after it.
  rotate_token(request);
  // The usual "remember me": without it, the cookie lasts until the browser closes.
  request.session.set_expiry(request.POST.get('remember') ? null : 0);
  messages.success(request, `Welcome, ${username}. You are signed in.`);
  return new HttpResponseRedirect('/whoami/');
}

/** django.contrib.auth.logout: flush() empties the session, deletes its record and drops the key. POST only, as Django 5's LogoutView. */
export async function logout(request: HttpRequest): Promise<HttpResponse> {
  if (request.method !== 'POST') return new HttpResponseNotAllowed(['POST']);
  await request.session.flush();
  messages.info(request, 'You have been logged out.');
  return new HttpResponseRedirect('/');
}
