/**
 * django/contrib/messages/api.py: add a message to the request, read them,
 * get or set the recording level.
 */
import { TangoError } from '@tango/core/errors';
import type { HttpRequest } from '@tango/core/http/request';
import { DEBUG, ERROR, INFO, SUCCESS, WARNING } from './constants';
import type { BaseStorage, Message, MessageText } from './storage/base';
import { default_storage } from './storage';

/** add_message() without MessageMiddleware (and without fail_silently). */
export class MessageFailure extends TangoError {
  override readonly code = 'TANGO_MESSAGE_FAILURE';
}

export interface MessageOptions {
  /** Extra classes for the message (message.tags puts them before the level's tag). */
  extra_tags?: string;
  /** Do nothing, instead of throwing MessageFailure, when MessageMiddleware is not installed. */
  fail_silently?: boolean;
}

/** Django's positional extra_tags, or the keyword arguments as an object. */
export type MessageArgs = string | MessageOptions | undefined;

function options(args: MessageArgs): MessageOptions {
  return typeof args === 'string' ? { extra_tags: args } : (args ?? {});
}

function is_request(value: unknown): value is HttpRequest {
  return typeof value === 'object' && value !== null && 'COOKIES' in value && 'method' in value;
}

/** Queues a message at `level` for this request's next page (or this page, if it reads them). */
export function add_message(request: HttpRequest, level: number, message: MessageText, args?: MessageArgs): void {
  const { extra_tags = '', fail_silently = false } = options(args);
  const storage = is_request(request) ? request._messages : undefined;
  if (storage === undefined) {
    if (!is_request(request)) {
      const name = (request as object | null)?.constructor?.name ?? typeof request;
      throw new TypeError(`add_message() argument must be an HttpRequest object, not '${name}'.`);
    }
    if (!fail_silently) {
      throw new MessageFailure('You cannot add messages without installing @tango/messages/middleware (MessageMiddleware)');
    }
    return;
  }
  storage.add(level, message, extra_tags);
}

/** The request's messages: iterate them (for...of) to show them, which marks them read. Empty without the middleware. */
export function get_messages(request: HttpRequest): BaseStorage | readonly Message[] {
  return request._messages ?? [];
}

/** The lowest level recorded for this request (MESSAGE_LEVEL unless set_level changed it). */
export function get_level(request: HttpRequest): number {
  return (request._messages ?? default_storage(request)).level;
}

/** Sets this request's lowest recorded level (null: back to MESSAGE_LEVEL); false without the middleware. */
export function set_level(request: HttpRequest, level: number | null): boolean {
  if (request._messages === undefined) return false;
  request._messages.level = level;
  return true;
}

export function debug(request: HttpRequest, message: MessageText, args?: MessageArgs): void {
  add_message(request, DEBUG, message, args);
}

export function info(request: HttpRequest, message: MessageText, args?: MessageArgs): void {
  add_message(request, INFO, message, args);
}

export function success(request: HttpRequest, message: MessageText, args?: MessageArgs): void {
  add_message(request, SUCCESS, message, args);
}

export function warning(request: HttpRequest, message: MessageText, args?: MessageArgs): void {
  add_message(request, WARNING, message, args);
}

export function error(request: HttpRequest, message: MessageText, args?: MessageArgs): void {
  add_message(request, ERROR, message, args);
}
