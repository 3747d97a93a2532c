/**
 * django/contrib/messages/storage/session.py: messages in the session under
 * `_messages`, as the JSON text Django's MessageEncoder writes with its
 * default separators (', ', ': '), so a session shared with Django carries
 * them both ways. Only the public session API is used: get, set and pop.
 */
import { ImproperlyConfigured } from '@tango/core/errors';
import type { HttpRequest } from '@tango/core/http/request';
import type { HttpResponse } from '@tango/core/http/response';
import { get_logger } from '@tango/core/log';
import { BaseStorage, type GetResult, type Message } from './base';
import { decode_messages, encode_spaced } from './message_json';

const log = get_logger('tango.security.messages');

/** Whether SessionMiddleware ran for this request, without building a deferred session. */
export function has_session(request: HttpRequest): boolean {
  return !request.session_built || (request.session !== undefined && request.session !== null);
}

export const SESSION_REQUIRED = 'The session-based temporary message storage requires session middleware to be installed, '
  + 'and come before the message middleware in the MIDDLEWARE list.';

export class SessionStorage extends BaseStorage {
  static session_key = '_messages';

  constructor(request: HttpRequest) {
    if (!has_session(request)) {
      throw new ImproperlyConfigured(SESSION_REQUIRED);
    }
    super(request);
  }

  get #key(): string {
    return (this.constructor as typeof SessionStorage).session_key;
  }

  /** The session's messages (null when it holds none); a session stores everything, so all are retrieved. */
  _get(): GetResult {
    return [this.deserialize_messages(this.request.session.get(this.#key)), true];
  }

  _store(messages: Message[], _response: HttpResponse): Message[] {
    if (messages.length > 0) this.request.session.set(this.#key, this.serialize_messages(messages));
    else this.request.session.pop(this.#key, null);
    return [];
  }

  serialize_messages(messages: Message[]): string {
    return encode_spaced(messages);
  }

  /**
   * Stored JSON text to messages; anything else in the key is logged, read
   * as no messages, and marks the storage used so the key is removed once
   * messages are read (as CookieStorage does with a bad cookie).
   */
  deserialize_messages(data: unknown): Message[] | null {
    if (data === undefined || data === null || data === '') return null;
    let reason = 'it is not the JSON text of a message list';
    if (typeof data === 'string') {
      try {
        return decode_messages(data).messages;
      } catch (err) {
        reason = (err as Error).message;
      }
    }
    log.warn(`Ignored the session's ${this.#key}: ${reason}.`, { path: this.request.path });
    this.used = true;
    return null;
  }
}
