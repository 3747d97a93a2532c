/**
 * `request._messages`, installed on core's HttpRequest: the storage
 * MessageMiddleware gives each request, built when first read. Django builds
 * it in process_request; building it on first use gives the same answers,
 * because a storage nobody added to or read stores nothing in update(), and
 * a request that never touches its messages then costs one slot write.
 */
import { HttpRequest } from '@tango/core/http/request';
import type { BaseStorage } from './base';
import { get_storage_class } from './index';

/** The mark MessageMiddleware leaves in request.messages_state: a storage is due, not built yet. */
const DUE: unique symbol = Symbol('messages storage due');

Object.defineProperty(HttpRequest.prototype, '_messages', {
  configurable: true,
  get(this: HttpRequest): BaseStorage | undefined {
    const state = this.messages_state;
    if (state !== DUE) return state as BaseStorage | undefined;
    // Looked up now (it is cached), so override_settings(MESSAGE_STORAGE) applies.
    return (this.messages_state = new (get_storage_class())(this));
  },
  set(this: HttpRequest, storage: BaseStorage | undefined) {
    this.messages_state = storage;
  },
});

/** process_request's part: this request gets a storage when something reads request._messages. */
export function storage_due(request: HttpRequest): void {
  request.messages_state = DUE;
}

/** The storage, if the request's code built one; update() of one never built would store nothing. */
export function built_storage(request: HttpRequest): BaseStorage | undefined {
  const state = request.messages_state;
  return state === DUE ? undefined : (state as BaseStorage | undefined);
}
