/** @tango/messages: django.contrib.messages for Tango. */
export * from './messages';
export * as messages from './messages';
export * as constants from './constants';
export { Message, BaseStorage } from './storage/base';
export type { MessageText, StorageClass, GetResult } from './storage/base';
export { CookieStorage } from './storage/cookie';
export { SessionStorage } from './storage/session';
export { FallbackStorage } from './storage/fallback';
export { default_storage, get_storage_class } from './storage';
export { get_level_tags } from './utils';
export { MessageMiddleware } from './middleware';
