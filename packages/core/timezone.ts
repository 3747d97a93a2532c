/**
 * Time-zone arithmetic for TIME_ZONE / USE_TZ (django.utils.timezone).
 * Node has no tz database API beyond Intl, so offsets are read from Intl.
 */
import { register_memo } from './memos';

const formatters = new Map<string, Intl.DateTimeFormat>();
register_memo('timezone.formatters', () => formatters.clear());

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

export function is_valid_timezone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

// Offsets change only at a zone's transitions, never twice within 15 minutes:
// an offset is read from Intl once per 15-minute span, and kept only when both
// ends of the span agree (a span holding a transition is read instant by
// instant). Formatting through Intl costs ~10 µs a call, several per save.
const SPAN_MS = 15 * 60_000;
const MAX_SPANS = 20_000;
const offsets = new Map<string, Map<number, number>>();
register_memo('timezone.offsets', () => offsets.clear());

/** Offset of `tz` from UTC at instant `d`, in milliseconds (positive east of Greenwich). */
export function utc_offset_ms(d: Date, tz: string): number {
  return utc_offset_at(d.getTime(), tz);
}

/** utc_offset_ms for an instant in epoch milliseconds. */
export function utc_offset_at(t: number, tz: string): number {
  if (tz === 'UTC') return 0;
  if (!Number.isFinite(t)) return intl_offset_ms(new Date(t), tz);
  const span = Math.floor(t / SPAN_MS);
  let spans = offsets.get(tz);
  if (!spans) offsets.set(tz, (spans = new Map()));
  const known = spans.get(span);
  if (known !== undefined) return known;
  const start = intl_offset_ms(new Date(span * SPAN_MS), tz);
  const end = intl_offset_ms(new Date((span + 1) * SPAN_MS - 1000), tz);
  if (start !== end) return intl_offset_ms(new Date(t), tz);
  if (spans.size >= MAX_SPANS) spans.clear();
  spans.set(span, start);
  return start;
}

function intl_offset_ms(d: Date, tz: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(d)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const as_utc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return as_utc - (d.getTime() - d.getUTCMilliseconds());
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/**
 * A naive wall-clock datetime string `YYYY-MM-DD HH:MM:SS[.ffffff]`, the text
 * Django's SQLite backend stores for a datetime (microseconds only when non-zero).
 */
export function naive_string(d: Date, tz: string): string {
  const local = new Date(d.getTime() + utc_offset_ms(d, tz));
  const base = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const ms = local.getUTCMilliseconds();
  return ms ? `${base}.${pad(ms, 3)}000` : base;
}

const NAIVE_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;

/**
 * The instant a naive wall-clock time in `tz` denotes. Ambiguous times (a DST
 * fold) resolve to the first occurrence, as Python's fold=0 does.
 */
export function parse_naive(s: string, tz: string): Date {
  return new Date(naive_instant(naive_wall_ms(s), tz));
}

/** The instant (epoch ms) of wall time `wall` (naive_wall_ms) in `tz`; in a DST fold, the first occurrence. */
export function naive_instant(wall: number, tz: string): number {
  if (tz === 'UTC') return wall;
  // Two passes converge on the right offset, including just after a DST change.
  const guess = wall - utc_offset_at(wall, tz);
  return wall - utc_offset_at(guess, tz);
}

/**
 * The wall-clock time in naive datetime text, in milliseconds as if it were
 * UTC. The text Django and Tango write (`YYYY-MM-DD HH:MM:SS[.ffffff]`) is
 * read digit by digit: the regular expression, its seven substrings and their
 * conversions cost more than the rest of reading a session row.
 */
export function naive_wall_ms(s: string): number {
  const n = s.length;
  if ((n === 19 || (n >= 21 && n <= 26 && s.charCodeAt(19) === 46)) &&
      s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && s.charCodeAt(10) === 32 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58) {
    const year = digits(s, 0, 4);
    const month = digits(s, 5, 2);
    const day = digits(s, 8, 2);
    const hour = digits(s, 11, 2);
    const minute = digits(s, 14, 2);
    const second = digits(s, 17, 2);
    const fraction = n === 19 ? 0 : digits(s, 20, n - 20);
    if ((year | month | day | hour | minute | second | fraction) >= 0) {
      const ms = n === 19 ? 0 : Math.floor((fraction * 10 ** (26 - n)) / 1000);
      return Date.UTC(year, month - 1, day, hour, minute, second, ms);
    }
  }
  const m = NAIVE_RE.exec(s.trim());
  if (!m) throw new RangeError(`Invalid naive datetime: '${s}'`);
  const ms = m[7] ? Math.floor(Number(m[7].padEnd(6, '0')) / 1000) : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, ms);
}

/** The decimal number in s[from, from + count), or -1 if any of it is not an ASCII digit. */
function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Python's datetime.isoformat(): aware values keep their offset (`+00:00`),
 * microseconds only when non-zero.
 */
export function isoformat(d: Date, opts: { use_tz: boolean; tz: string }): string {
  if (!opts.use_tz) return naive_string(d, opts.tz).replace(' ', 'T');
  return `${naive_string(d, 'UTC').replace(' ', 'T')}+00:00`;
}

const ISO_OFFSET_RE = /^(.*?)(Z|[+-]\d{2}:?\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * datetime.fromisoformat for the strings Django stores under `_session_expiry`.
 * A naive string is read in `tz`; `aware` tells whether the string had an offset.
 */
export function fromisoformat(s: string, tz: string): { date: Date; aware: boolean } {
  const m = ISO_OFFSET_RE.exec(s.trim());
  const body = m?.[1] ?? s;
  const off = m?.[2];
  if (!off) return { date: parse_naive(body, tz), aware: false };
  const base = parse_naive(body, 'UTC').getTime();
  if (off === 'Z') return { date: new Date(base), aware: true };
  const sign = off[0] === '-' ? -1 : 1;
  const digits = off.slice(1).replace(/:/g, '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
  return { date: new Date(base - sign * minutes * 60_000), aware: true };
}

/** RFC 7231 IMF-fixdate (django.utils.http.http_date). */
export function http_date(epoch_seconds: number): string {
  const s = Math.floor(epoch_seconds);
  // Responses in the same second ask for the same string (cookie expiries, mostly).
  if (s !== last_http_date.s) last_http_date = { s, text: new Date(s * 1000).toUTCString() };
  return last_http_date.text;
}

let last_http_date = { s: NaN, text: '' };
register_memo('timezone.http_date', () => {
  last_http_date = { s: NaN, text: '' };
});
