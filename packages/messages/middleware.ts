/**
 * django/contrib/messages/middleware.py: each request gets a storage
 * (request._messages); after the view, the unread messages are stored into
 * the response or the session. Put it after SessionMiddleware, so that the
 * session is saved after the messages are written to it.
 */
import { settings } from '@tango/core/conf';
import type { HttpRequest } from '@tango/core/http/request';
import type { HttpResponse } from '@tango/core/http/response';
import { middleware_mixin, type MiddlewareFactory } from '@tango/core/middleware';
import { get_storage_class } from './storage';

export const MessageMiddleware: MiddlewareFactory = middleware_mixin(() => {
  // Resolved when the middleware is built: a bad MESSAGE_STORAGE stops start-up.
  get_storage_class();
  return {
    process_request(request) {
      // Looked up per request (it is cached), so override_settings(MESSAGE_STORAGE) applies.
      request._messages = new (get_storage_class())(request);
    },
    process_response: store_messages,
  };
});

/** process_response: the unread messages go into the response or the session. */
function store_messages(request: HttpRequest, response: HttpResponse): HttpResponse {
  // A view (or an inner middleware) may have removed it.
  const storage = request._messages;
  if (storage !== undefined) {
    const unstored = storage.update(response);
    // Django raises in DEBUG so a developer notices messages being lost.
    if (unstored !== undefined && unstored.length > 0 && settings.DEBUG) {
      throw new Error('Not all temporary messages could be stored.');
    }
  }
  return response;
}

export default MessageMiddleware;
