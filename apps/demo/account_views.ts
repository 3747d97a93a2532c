/**
 * Log in and log out with @tango/auth: real users from auth_user (create one
 * with `npx ts-node manage.ts createsuperuser`), Django's authenticate(),
 * login() and logout(). Both are POST forms answered with a redirect
 * (Post/Redirect/Get), as Django's LoginView and LogoutView.
 */
import { HttpResponseNotAllowed, HttpResponseRedirect, csrf_input, html, settings, type HttpRequest, type HttpResponse } from '@tango/core';
import { authenticate, login as auth_login, login_required, logout as auth_logout, resolve_url, type User } from '@tango/auth';
import { messages } from '@tango/messages';
import { page } from './layout';
import { format_local } from './local_time';

/** Django's User.username max_length. */
const MAX_USERNAME = 150;

/** django.contrib.auth.forms.AuthenticationForm's invalid_login message. */
const INVALID_LOGIN = 'Please enter a correct username and password. Note that both fields may be case-sensitive.';

/** A `next` that stays on this site (a path, not '//host' or '/\\host'), as url_has_allowed_host_and_scheme requires. */
function safe_next(next: string | undefined): string | undefined {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : undefined;
}

function login_form(request: HttpRequest, username = '', error?: string): HttpResponse {
  const next = safe_next(request.POST.get('next') ?? request.GET.get('next'));
  return page(request, 'Log in', html`
${error === undefined ? '' : html`<p class="error" role="alert">${error}</p>`}
<form method="post" action="/login/">
  ${csrf_input(request)}
  ${next === undefined ? '' : html`<input type="hidden" name="next" value="${next}">`}
  <p><label>Username <input name="username" value="${username}" autofocus required maxlength="${MAX_USERNAME}" autocomplete="username"></label></p>
  <p><label>Password <input name="password" type="password" required autocomplete="current-password"></label></p>
  <p><label><input type="checkbox" name="remember" value="1" checked> Remember me (otherwise the session ends when the browser closes)</label></p>
  <p><button type="submit">Log in</button></p>
</form>
<p>No account yet? Create one with <code>npx ts-node manage.ts createsuperuser</code>.</p>`);
}

export async function login(request: HttpRequest): Promise<HttpResponse> {
  if (request.method !== 'POST') return login_form(request);
  const username = (request.POST.get('username') ?? '').trim();
  const password = request.POST.get('password') ?? '';
  if (!username || !password) return login_form(request, username, INVALID_LOGIN);
  const user = await authenticate(request, { username, password });
  if (user === null) return login_form(request, username, INVALID_LOGIN);
  // Flushes another user's session or cycles the key (session fixation), stores
  // Django's three session keys and rotates the CSRF token.
  await auth_login(request, user);
  // The usual "remember me": without it, the cookie lasts until the browser closes.
  request.session.set_expiry(request.POST.get('remember') ? null : 0);
  messages.success(request, `Welcome, ${user.get_username()}. You are signed in.`);
  return new HttpResponseRedirect(safe_next(request.POST.get('next')) ?? resolve_url(settings.LOGIN_REDIRECT_URL));
}

/** django.contrib.auth.logout: flush() empties the session, deletes its record and drops the key. POST only, as Django 5's LogoutView. */
export async function logout(request: HttpRequest): Promise<HttpResponse> {
  if (request.method !== 'POST') return new HttpResponseNotAllowed(['POST']);
  await auth_logout(request);
  messages.info(request, 'You have been logged out.');
  return new HttpResponseRedirect(resolve_url(settings.LOGOUT_REDIRECT_URL ?? '/'));
}

/** A page for signed-in users only: login_required sends everyone else to LOGIN_URL?next=/account/. */
export const account = login_required((request: HttpRequest): HttpResponse => {
  const user = request.user as User;
  const when = (d: Date | null) => (d === null ? 'never' : format_local(d, settings.TIME_ZONE));
  return page(request, 'Your account', html`
<dl id="account">
  <dt>Username</dt><dd>${user.username}</dd>
  <dt>Email</dt><dd>${user.email || '(none)'}</dd>
  <dt>Staff / superuser</dt><dd>${user.is_staff ? 'yes' : 'no'} / ${user.is_superuser ? 'yes' : 'no'}</dd>
  <dt>Last login</dt><dd>${when(user.last_login)}</dd>
  <dt>Joined</dt><dd>${when(user.date_joined)}</dd>
</dl>`);
});
