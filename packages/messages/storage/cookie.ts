/**
 * django/contrib/messages/storage/cookie.py (5.2): messages in the signed
 * `messages` cookie, readable by Django.
 *
 * The value is get_cookie_signer(salt='django.contrib.messages')
 * .sign_object(messages, compress=True): a TimestampSigner keyed by
 * 'django.http.cookies' + SECRET_KEY (SECRET_KEY_FALLBACKS verify too), over
 * the compact JSON list of messages, zlib-compressed with the '.' marker when
 * that is shorter. Django 3.2 writes and reads the same format.
 *
 * A cookie whose signature does not match (another SECRET_KEY, or altered)
 * or whose content does not decode is ignored, logged on
 * 'tango.security.messages', and deleted once the messages are read.
 */
import { settings } from '@tango/core/conf';
import { BadSignature } from '@tango/core/errors';
import { cookie_quote } from '@tango/core/http/cookies';
import { get_cookie_signer } from '@tango/core/http/signed_cookies';
import type { HttpResponse } from '@tango/core/http/response';
import { get_logger } from '@tango/core/log';
import { json_text, type Serializer, type TimestampSigner } from '@tango/core/signing';
import { BaseStorage, type GetResult, type Message } from './base';
import { decode_messages, encode_compact } from './message_json';

const log = get_logger('tango.security.messages');

/**
 * Django's sentinel that ends a cookie holding only part of the messages. A
 * module constant because tsc (the build) compiles a class with #private
 * accessors so that its static fields reach the class through an alias
 * assigned after them: CookieStorage.not_finished there fails in dist/.
 */
const NOT_FINISHED = '__messagesnotfinished__';

/** Django's MessagePartGatherSerializer: messages already serialized one by one, joined into the JSON list. */
const PartsSerializer: Serializer = {
  dumps: (parts) => Buffer.from(`[${(parts as string[]).join(',')}]`, 'latin1'),
  loads: (data) => json_text(data),
};

export class CookieStorage extends BaseStorage {
  static cookie_name = 'messages';
  /**
   * Django's limit: uwsgi allows 4 KB of headers in all by default, so the
   * messages cookie keeps to half of that (Django ticket #18781).
   */
  static max_cookie_size = 2048;
  static not_finished = NOT_FINISHED;
  static key_salt = 'django.contrib.messages';
  static #not_finished_json = encode_compact(NOT_FINISHED);
  #signer: TimestampSigner | undefined;

  get #cls(): typeof CookieStorage {
    return this.constructor as typeof CookieStorage;
  }

  get #cookie_signer(): TimestampSigner {
    return (this.#signer ??= get_cookie_signer(this.#cls.key_salt));
  }

  /** The cookie's messages; null without a cookie (or with a bad one); not all retrieved when it ends with the sentinel. */
  _get(): GetResult {
    const data = this.request.COOKIES.get(this.#cls.cookie_name);
    const decoded = this._decode(data);
    if (decoded === null) return [null, true];
    return [decoded.messages, decoded.all_retrieved];
  }

  protected _update_cookie(encoded: string | null, response: HttpResponse): void {
    const name = this.#cls.cookie_name;
    if (encoded) {
      // No max_age: the cookie ends with the browser session, as in Django.
      response.set_cookie(name, encoded, {
        domain: settings.SESSION_COOKIE_DOMAIN,
        secure: settings.SESSION_COOKIE_SECURE || null,
        httponly: settings.SESSION_COOKIE_HTTPONLY || null,
        samesite: settings.SESSION_COOKIE_SAMESITE,
      });
    } else {
      // Even when the request had no cookie, as Django does.
      response.delete_cookie(name, { domain: settings.SESSION_COOKIE_DOMAIN, samesite: settings.SESSION_COOKIE_SAMESITE });
    }
  }

  /**
   * Stores the messages and returns those that did not fit in
   * max_cookie_size (as the cookie header quotes the value): the oldest
   * (or, with remove_oldest false, the newest) are left out, and the
   * not-finished sentinel ends the list so the reader knows there are more.
   */
  _store(messages: Message[], response: HttpResponse, remove_oldest = true): Message[] {
    let unstored: Message[] = [];
    const serialized = messages.map(encode_compact);
    let encoded = this.#encode_parts(serialized);
    const max = this.#cls.max_cookie_size;
    if (max) {
      const too_large = (data: string | null): boolean => data !== null && cookie_quote(data).length > max;
      const with_sentinel = (parts: string[]): string => this.#encode_parts([...parts, CookieStorage.#not_finished_json], true) as string;
      if (too_large(encoded)) {
        // Django 5.2 finds the cut by bisection (bisect_keep_right / bisect_keep_left).
        if (remove_oldest) {
          const idx = bisect_keep_right(serialized, (part) => too_large(with_sentinel(part)));
          unstored = messages.slice(0, idx);
          encoded = with_sentinel(serialized.slice(idx));
        } else {
          const idx = bisect_keep_left(serialized, (part) => too_large(with_sentinel(part)));
          unstored = messages.slice(idx);
          encoded = with_sentinel(serialized.slice(0, idx));
        }
      }
    }
    this._update_cookie(encoded, response);
    return unstored;
  }

  #encode_parts(parts: string[], encode_empty = false): string | null {
    if (parts.length === 0 && !encode_empty) return null;
    return this.#cookie_signer.sign_object(parts, { serializer: PartsSerializer, compress: true });
  }

  /** The signed cookie value for `messages` (Django's _encode); null for none. */
  _encode(messages: Array<Message | string>, encode_empty = false): string | null {
    return this.#encode_parts(messages.map(encode_compact), encode_empty);
  }

  /**
   * The messages in a cookie value, or null when there is none or it is bad;
   * a bad one marks the storage used, so the cookie is deleted once the
   * response is written (Django does the same).
   */
  _decode(data: string | undefined): { messages: Message[]; all_retrieved: boolean } | null {
    if (!data) return null;
    try {
      const text = this.#cookie_signer.unsign_object(data, { serializer: PartsSerializer }) as string;
      return decode_messages(text, this.#cls.not_finished);
    } catch (err) {
      const reason = err instanceof BadSignature
        ? 'its signature does not match (signed with another SECRET_KEY, or altered)'
        : `its content does not decode (${(err as Error).message})`;
      log.warn(`Ignored the ${this.#cls.cookie_name} cookie: ${reason}.`, { path: this.request.path, length: data.length });
    }
    this.used = true;
    return null;
  }
}

/** The index of the first element from the start for which fn(a[0..i]) holds (Django's bisect_keep_left). */
export function bisect_keep_left<T>(a: T[], fn: (part: T[]) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fn(a.slice(0, mid + 1))) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The index of the first element from the end for which fn(a[i..]) does not hold (Django's bisect_keep_right). */
export function bisect_keep_right<T>(a: T[], fn: (part: T[]) => boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fn(a.slice(mid))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
