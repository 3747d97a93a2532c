/**
 * Session records (the signed session_data the db and file engines store)
 * that this process has already verified or written itself, with the
 * serialized text each one carries (kept as strings: a small Buffer would pin
 * the whole pool slab it was cut from). A record is read many times for each
 * time it is written, and one record always decodes to the same text under the
 * same keys, so the HMAC check, base64 and inflate run once per record
 * instead of once per request. Where the data is flat (see
 * @tango/core/json_snapshot) it is kept parsed too, and a read copies it
 * instead of parsing the JSON again; each request still gets data of its own
 * to change.
 *
 * Only text read from the session store, or written to it by this process,
 * belongs here, never a value a client sent (a signed cookie): a hit is found
 * by plain string comparison, which must not stand in for the constant-time
 * signature check on input an attacker chooses.
 *
 * Bounded (oldest entries go first) so that many sessions, or one huge one,
 * cannot grow memory without limit; emptied when settings change, so a
 * SECRET_KEY rotation that drops an old key also drops what it verified.
 */
import { get_or_set_bounded, set_bounded } from '@tango/core/bounded_map';
import { register_memo } from '@tango/core/memos';
import { flat_snapshot, type FlatObject } from '@tango/core/json_snapshot';

/** Entries kept per key salt (one per engine class, so a process has one or two). */
export const MAX_RECORDS = 4096;
/** Longer records are verified on every read rather than kept. */
export const MAX_RECORD_LENGTH = 16 * 1024;
const MAX_SALTS = 16;

export interface Verified {
  readonly record: string;
  readonly text: string;
  /** The data the text parses to, when it is a flat object. */
  readonly parsed: FlatObject | undefined;
}

/** Keyed by the whole record, per key salt. */
const by_salt = new Map<string, Map<string, Verified>>();

/** What is known of `record` (stored under key salt `salt`), or undefined. */
export function recall_record(salt: string, record: string): Verified | undefined {
  return by_salt.get(salt)?.get(record);
}

/** The serialized text `record` (stored under key salt `salt`) was verified to carry, or undefined. */
export function recall(salt: string, record: string): string | undefined {
  return recall_record(salt, record)?.text;
}

/** Notes that `record` verifies under `salt` and carries `text`, which parses to `data` when that is given. */
export function remember(salt: string, record: string, text: string, data?: unknown): void {
  if (record.length > MAX_RECORD_LENGTH) return;
  const snapshot = data === undefined ? undefined : flat_snapshot(data);
  const parsed = snapshot !== null && typeof snapshot === 'object' ? snapshot : undefined;
  const records = get_or_set_bounded(by_salt, salt, MAX_SALTS, () => new Map<string, Verified>());
  set_bounded(records, record, { record, text, parsed }, MAX_RECORDS);
}

/** Forgets every record (settings changed, or a test wants a cold start). */
export function forget_all(): void {
  by_salt.clear();
}

/** How many records are kept, over all salts. */
export function remembered(): number {
  let n = 0;
  for (const records of by_salt.values()) n += records.size;
  return n;
}

register_memo('sessions.verified_records', forget_all, { settings: true });
