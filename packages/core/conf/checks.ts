/**
 * A setting name that is not one of Tango's but is close to one is most
 * likely a typo (SESSION_COOKIE_SECURED for SESSION_COOKIE_SECURE), which
 * would otherwise be kept silently as a user setting while the real one
 * keeps its default. Django has no such check; its id is Tango's own.
 */
import { settings } from './index';
import { settings_schema } from './schema';
import { close_matches } from '../close_matches';
import type { CheckMessage } from '../checks';

/** Other packages may add settings to the schema; these are the names Tango itself reads. */
function known_setting_names(): Set<string> {
  return new Set([...Object.keys(settings_schema.shape), 'BASE_DIR']);
}

export function check_setting_names(): CheckMessage[] {
  const known = known_setting_names();
  const out: CheckMessage[] = [];
  for (const name of Object.keys(settings)) {
    if (known.has(name) || name !== name.toUpperCase()) continue;
    const [guess] = close_matches(name, known, 1, 0.85);
    if (guess) {
      out.push({
        level: 'WARNING', id: 'settings.W100',
        msg: `${name} is not a Tango setting: did you mean ${guess}?`,
        hint: `Rename it to ${guess}; as written, ${guess} keeps its default and ${name} is kept only as a user setting.`,
      });
    }
  }
  return out;
}
