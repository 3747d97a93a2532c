/**
 * django/contrib/messages/storage/fallback.py: the cookie first, and what
 * does not fit in it into the session. Reading stops at the first storage
 * that holds all the messages, so a request without a `messages` cookie
 * never reads the session.
 */
import type { HttpRequest } from '@tango/core/http/request';
import type { HttpResponse } from '@tango/core/http/response';
import { BaseStorage, type GetResult, type Message, type StorageClass } from './base';
import { CookieStorage } from './cookie';
import { SessionStorage } from './session';

export class FallbackStorage extends BaseStorage {
  static storage_classes: readonly StorageClass[] = [CookieStorage, SessionStorage];
  readonly storages: BaseStorage[];
  /** The storages that held messages on this request: emptied when the messages are gone. */
  #used_storages = new Set<BaseStorage>();

  constructor(request: HttpRequest) {
    super(request);
    // As Django, built here; SessionStorage's constructor refuses a request without a session.
    const classes = (this.constructor as typeof FallbackStorage).storage_classes;
    this.storages = classes.map((storage_class) => new storage_class(request));
  }

  _get(): GetResult {
    const all: Message[] = [];
    let all_retrieved = true;
    for (const storage of this.storages) {
      const [messages, complete] = storage._get();
      all_retrieved = complete;
      if (messages === null) {
        // Bad data (the storage marked itself used): empty it with the rest. Django's
        // FallbackStorage leaves a bad messages cookie in place until the browser closes.
        if (storage.used) this.#used_storages.add(storage);
        // This storage was not used: the later ones were not either.
        break;
      }
      if (messages.length > 0) this.#used_storages.add(storage);
      all.push(...messages);
      if (complete) break;
    }
    return [all, all_retrieved];
  }

  _store(messages: Message[], response: HttpResponse): Message[] {
    let rest = messages;
    for (const storage of this.storages) {
      if (rest.length > 0) {
        rest = storage._store(rest, response, false);
      } else if (this.#used_storages.has(storage)) {
        // Nothing left to store, but this one held messages: empty it.
        storage._store([], response);
        this.#used_storages.delete(storage);
      }
    }
    return rest;
  }
}
