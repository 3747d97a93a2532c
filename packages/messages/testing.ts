/**
 * Helpers for tests of views that add messages (in the spirit of Django
 * 5.0's MessagesTestMixin.assertMessages): the messages a response put in
 * the `messages` cookie, decoded and verified as CookieStorage reads them.
 * With FallbackStorage, messages that did not fit are in the session
 * instead (`_messages`); a list ending unfinished says so.
 */
import { cookie_unquote } from '@tango/core/http/cookies';
import { HttpRequest } from '@tango/core/http/request';
import type { Message } from './storage/base';
import { CookieStorage } from './storage/cookie';

export interface CookieMessages {
  messages: Message[];
  /** False when the cookie ended with the not-finished marker: the rest is in the session. */
  all_retrieved: boolean;
}

/** The messages in a `messages` cookie value; throws when it is not one this site signed. */
export function messages_in_cookie(value: string): CookieMessages {
  const decoded = new CookieStorage(new HttpRequest())._decode(value);
  if (decoded === null) throw new Error('Not a messages cookie signed with SECRET_KEY (or SECRET_KEY_FALLBACKS).');
  return decoded;
}

/**
 * The messages a response set, from its Set-Cookie lines (the test
 * Client's `set_cookies`): an empty list when it set no messages cookie or
 * deleted it.
 */
export function messages_set_by(response: { set_cookies: readonly string[] }): Message[] {
  const line = response.set_cookies.find((l) => l.startsWith(`${CookieStorage.cookie_name}=`));
  if (line === undefined) return [];
  const raw = line.slice(CookieStorage.cookie_name.length + 1).split(';', 1)[0].trim();
  const value = cookie_unquote(raw);
  return value === '' ? [] : messages_in_cookie(value).messages;
}
