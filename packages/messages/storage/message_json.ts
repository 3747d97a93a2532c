/**
 * The JSON form of messages, as django/contrib/messages/storage/cookie.py's
 * MessageEncoder and MessageDecoder write and read it, shared by the cookie
 * and the session storage: a message is the list
 * `["__json_message", is_safe (0/1), level, text]`, plus `extra_tags` when
 * it is not null (Django 5.2; Django 3.2 leaves an empty one out too).
 * Text is Python's json.dumps output (ASCII, `\uXXXX` escapes).
 */
import { SafeString, mark_safe } from '@tango/core/html';
import { py_json_dumps, py_json_loads } from '@tango/core/py_json';
import { Message, to_level } from './base';

export const MESSAGE_KEY = '__json_message';

function message_parts(message: Message): unknown[] {
  const safe = message.message instanceof SafeString ? 1 : 0;
  const parts: unknown[] = [MESSAGE_KEY, safe, message.level, String(message.message)];
  if (message.extra_tags !== null) parts.push(message.extra_tags);
  return parts;
}

/** One message (or a plain value such as the not-finished sentinel) as compact JSON: separators (',', ':'). */
export function encode_compact(item: Message | string): string {
  return py_json_dumps(item instanceof Message ? message_parts(item) : item);
}

/** A list as Python's json.dumps writes it with its default separators (', ', ': '): SessionStorage's format. */
export function encode_spaced(items: Message[]): string {
  return `[${items.map((m) => `[${message_parts(m).map((p) => py_json_dumps(p)).join(', ')}]`).join(', ')}]`;
}

/** Stored data that is not what a storage writes. */
export class MessageDecodeError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MessageDecodeError';
  }
}

/**
 * Django's MessageDecoder.process_messages: every list that starts with the
 * marker becomes a Message, through lists and objects at any depth.
 */
function process(value: unknown): unknown {
  if (Array.isArray(value) && value.length > 0) {
    if (value[0] === MESSAGE_KEY) return to_message(value);
    return value.map(process);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, process(v)]));
  }
  return value;
}

function to_message(parts: unknown[]): Message {
  // Message(*obj[2:]): a level and a text, and maybe extra_tags.
  if (parts.length < 4 || parts.length > 5) throw new MessageDecodeError(`a message has ${parts.length - 2} fields, not 2 or 3`);
  const [, safe, level, text, extra_tags] = parts;
  if (typeof text !== 'string') throw new MessageDecodeError('a message text is not a string');
  if (extra_tags !== undefined && extra_tags !== null && typeof extra_tags !== 'string') {
    throw new MessageDecodeError('extra_tags is not a string');
  }
  let lvl: number;
  try {
    lvl = to_level(level);
  } catch {
    throw new MessageDecodeError('a message level is not a whole number');
  }
  return new Message(lvl, safe ? mark_safe(text) : text, extra_tags ?? null);
}

/**
 * JSON text to the stored list of messages. `sentinel`, the cookie's
 * not-finished marker, may end the list: it is removed and reported as
 * `all_retrieved: false`. Anything else, a message that does not decode or
 * a top level that is not a list, is a MessageDecodeError; Django would
 * carry such values along (or fail with a 500), Tango drops the data.
 */
export function decode_messages(text: string, sentinel?: string): { messages: Message[]; all_retrieved: boolean } {
  let decoded: unknown;
  try {
    decoded = process(py_json_loads(text));
  } catch (err) {
    if (err instanceof MessageDecodeError) throw err;
    throw new MessageDecodeError(`not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(decoded)) throw new MessageDecodeError('not a list of messages');
  const all_retrieved = !(sentinel !== undefined && decoded.length > 0 && decoded[decoded.length - 1] === sentinel);
  if (!all_retrieved) decoded.pop();
  for (const item of decoded) {
    if (!(item instanceof Message)) throw new MessageDecodeError('a list item is not a message');
  }
  return { messages: decoded as Message[], all_retrieved };
}
