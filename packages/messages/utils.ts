/** django/contrib/messages/utils.py: the level → tag map, DEFAULT_TAGS overlaid with MESSAGE_TAGS. */
import { settings, type Settings } from '@tango/core/conf';
import { register_memo } from '@tango/core/memos';
import { DEFAULT_TAGS } from './constants';

let cached: { from: Settings; tags: ReadonlyMap<number, string> } | undefined;
register_memo('messages.level_tags', () => {
  cached = undefined;
}, { settings: true });

/**
 * Django computes LEVEL_TAGS lazily and recomputes it on setting_changed;
 * here it is recomputed whenever the settings object is another one
 * (configure(), override_settings), so a test that overrides MESSAGE_TAGS
 * sees its tags.
 */
export function get_level_tags(): ReadonlyMap<number, string> {
  if (cached?.from === settings) return cached.tags;
  const tags = new Map<number, string>();
  for (const [level, tag] of Object.entries(DEFAULT_TAGS)) tags.set(Number(level), tag);
  for (const [level, tag] of Object.entries(settings.MESSAGE_TAGS)) tags.set(Number(level), tag);
  cached = { from: settings, tags };
  return tags;
}
