/**
 * What Django's `from django.contrib import messages` gives: the API and the
 * level constants, so `messages.info(request, '...')` and `messages.ERROR`
 * read as in Django.
 */
export { add_message, get_messages, get_level, set_level, debug, info, success, warning, error, MessageFailure } from './api';
export type { MessageOptions, MessageArgs } from './api';
export { DEBUG, INFO, SUCCESS, WARNING, ERROR, DEFAULT_TAGS, DEFAULT_LEVELS } from './constants';
