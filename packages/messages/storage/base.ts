/**
 * django/contrib/messages/storage/base.py: a Message, and BaseStorage, which
 * owns what every storage shares (the queue of new messages, the `used` and
 * `added_new` flags, the recording level, what update() stores). A storage
 * only reads (_get) and writes (_store) its bytes.
 *
 * Messages are read lazily: a request whose view neither adds nor reads a
 * message never looks at the cookie or the session, and update() then does
 * nothing.
 */
import { settings } from '@tango/core/conf';
import { SafeString } from '@tango/core/html';
import type { HttpRequest } from '@tango/core/http/request';
import type { HttpResponse } from '@tango/core/http/response';
import { get_level_tags } from '../utils';

/** A message's text: plain text (escaped when rendered with `html`) or trusted HTML (`mark_safe`). */
export type MessageText = string | SafeString;

declare module '@tango/core/http/request' {
  interface HttpRequest {
    /** The message storage MessageMiddleware gives each request (Django's request._messages). */
    _messages?: BaseStorage;
  }
}

export class Message {
  level: number;
  message: MessageText;
  extra_tags: string | null;

  constructor(level: number, message: MessageText, extra_tags: string | null = null) {
    this.level = to_level(level);
    this.message = message;
    this.extra_tags = extra_tags;
  }

  /** Before storing, Django forces lazy translations to str; here anything that is not text is made text. */
  _prepare(): void {
    if (!(this.message instanceof SafeString) && typeof this.message !== 'string') this.message = String(this.message);
    if (this.extra_tags !== null && typeof this.extra_tags !== 'string') this.extra_tags = String(this.extra_tags);
  }

  /** Django's __eq__: the same level and text (extra_tags are not compared). */
  equals(other: unknown): boolean {
    return other instanceof Message && other.level === this.level && String(other.message) === String(this.message);
  }

  toString(): string {
    return String(this.message);
  }

  /** extra_tags then level_tag, the empty ones left out: what a template puts in `class="..."`. */
  get tags(): string {
    return [this.extra_tags, this.level_tag].filter((tag) => tag).join(' ');
  }

  /** The level's tag from DEFAULT_TAGS and MESSAGE_TAGS, '' for a level that has none. */
  get level_tag(): string {
    return get_level_tags().get(this.level) ?? '';
  }
}

/** Python's int(level) for what a caller may pass: a whole number, or a finite number truncated. */
export function to_level(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  throw new TypeError(`A message level must be a whole number such as 20 (INFO), got ${JSON.stringify(value) ?? typeof value}`);
}

/** What a storage's _get() returns: the messages (null when this storage was not used at all) and whether that was all of them. */
export type GetResult = [messages: Message[] | null, all_retrieved: boolean];

export interface StorageClass {
  new (request: HttpRequest): BaseStorage;
}

export abstract class BaseStorage implements Iterable<Message> {
  readonly request: HttpRequest;
  /** Messages added during this request and not read yet. */
  protected _queued_messages: Message[] = [];
  /** The messages were read (iterated): what was loaded is not stored again. */
  used = false;
  added_new = false;
  #loaded_data: Message[] | undefined;
  #level: number | undefined;

  constructor(request: HttpRequest) {
    this.request = request;
  }

  /** Django's len(storage): the stored messages (read now if need be) plus the new ones. */
  get length(): number {
    return this._loaded_messages.length + this._queued_messages.length;
  }

  /** Iterating marks the messages read: they are gone on the next request. */
  [Symbol.iterator](): Iterator<Message> {
    this.used = true;
    if (this._queued_messages.length > 0) {
      this._loaded_messages.push(...this._queued_messages);
      this._queued_messages = [];
    }
    return this._loaded_messages[Symbol.iterator]();
  }

  /** Django's `message in storage` (compared as Message.equals does). */
  includes(item: Message): boolean {
    return this._loaded_messages.some((m) => m.equals(item)) || this._queued_messages.some((m) => m.equals(item));
  }

  protected get _loaded_messages(): Message[] {
    if (this.#loaded_data === undefined) {
      const [messages] = this._get();
      this.#loaded_data = messages ?? [];
    }
    return this.#loaded_data;
  }

  /** Reads the stored messages; null (not []) when it can tell this storage held nothing at all. */
  abstract _get(): GetResult;

  /** Writes `messages` into the response (or the session) and returns those that did not fit. */
  abstract _store(messages: Message[], response: HttpResponse, remove_oldest?: boolean): Message[];

  protected _prepare_messages(messages: Message[]): void {
    for (const message of messages) message._prepare();
  }

  /**
   * Stores the unread messages: after the messages were read, only those
   * added since; otherwise, when one was added, the stored ones again with
   * the new ones. Untouched, it stores nothing. Returns what did not fit.
   */
  update(response: HttpResponse): Message[] | undefined {
    this._prepare_messages(this._queued_messages);
    if (this.used) return this._store(this._queued_messages, response);
    if (this.added_new) return this._store([...this._loaded_messages, ...this._queued_messages], response);
    return undefined;
  }

  /** Queues a message, unless its text is empty or its level is below this storage's level. */
  add(level: number, message: MessageText, extra_tags: string | null = ''): void {
    if (!String(message ?? '')) return;
    const lvl = to_level(level);
    if (lvl < this.level) return;
    this.added_new = true;
    this._queued_messages.push(new Message(lvl, message, extra_tags));
  }

  /** The lowest level recorded: set for this request, else MESSAGE_LEVEL. */
  get level(): number {
    return this.#level ?? settings.MESSAGE_LEVEL;
  }

  /** A level for this request; null goes back to MESSAGE_LEVEL. */
  set level(value: number | null) {
    this.#level = value === null ? undefined : to_level(value);
  }
}
