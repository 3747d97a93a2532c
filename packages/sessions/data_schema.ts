/**
 * settings.SESSION_DATA_SCHEMA: an optional zod schema the loaded session
 * data must satisfy. The compiler checks what views write (the SessionData
 * interface); this checks what comes back from the store, which another
 * deploy, a Django site sharing the store, or an old release may have
 * written. Data that fails is treated as Django treats corrupt data: an empty
 * session and a logged warning, never an error for the user.
 */
import { settings } from '@tango/core/conf';
import { ImproperlyConfigured } from '@tango/core/errors';
import { get_logger } from '@tango/core/log';
import { register_memo } from '@tango/core/memos';
import { require_module } from '@tango/core/module_loading';
import { new_dict, type SessionDict } from './session_dict';

/** What Tango needs of a schema: zod's safeParse (any zod version, or a library with the same method). */
export interface SessionDataSchema {
  safeParse(data: unknown): { success: boolean; error?: unknown };
}

const log = get_logger('tango.sessions');

/** The resolved setting: undefined until first asked, null when no schema is configured. */
let resolved: SessionDataSchema | null | undefined;
register_memo('sessions.data_schema', () => {
  resolved = undefined;
}, { settings: true });

function is_schema(v: unknown): v is SessionDataSchema {
  return v !== null && typeof v === 'object' && typeof (v as SessionDataSchema).safeParse === 'function';
}

/** The configured schema, or null; a module that does not export one stops start-up with one line naming the setting. */
export function get_session_data_schema(): SessionDataSchema | null {
  if (resolved !== undefined) return resolved;
  const spec = settings.SESSION_DATA_SCHEMA;
  if (spec === null) return (resolved = null);
  const mod = require_module(spec, settings.BASE_DIR);
  const schema = mod?.schema ?? mod?.default;
  if (!is_schema(schema)) {
    throw new ImproperlyConfigured(
      `Invalid setting SESSION_DATA_SCHEMA = '${spec}': expected a module exporting \`schema\`, a zod schema of the session data.`);
  }
  return (resolved = schema);
}

/** `data` when it satisfies the configured schema (or there is none); otherwise an empty session, with a warning. */
export function checked_session_data(data: SessionDict): SessionDict {
  const schema = get_session_data_schema();
  if (schema === null) return data;
  const result = schema.safeParse(data);
  if (result.success) return data;
  const issues = (result.error as { issues?: Array<{ path?: unknown[]; message?: string }> } | undefined)?.issues ?? [];
  const where = issues.slice(0, 3).map((i) => `${(i.path ?? []).join('.') || '(root)'}: ${i.message ?? 'invalid'}`).join('; ');
  log.warn(`Session data does not match SESSION_DATA_SCHEMA; the session loads empty (${where})`);
  return new_dict();
}
