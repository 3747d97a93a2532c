import { naive_string, naive_wall_ms, parse_naive, utc_offset_ms } from '../timezone';

/** The offset read straight from Intl, as a reference the cached one must equal. */
const formats = new Map<string, Intl.DateTimeFormat>();

function reference_offset(t: number, tz: string): number {
  const parts: Record<string, number> = {};
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formats.set(tz, f);
  }
  for (const p of f.formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const d = new Date(t);
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - (t - d.getUTCMilliseconds());
}

describe('utc_offset_ms', () => {
  const zones = ['America/Chicago', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Asia/Shanghai', 'Pacific/Chatham', 'America/St_Johns'];

  it.each(zones)('%s: equals Intl every hour and 13 seconds around the 2026 transitions, and on second steps across them', (tz) => {
    const start = Date.UTC(2026, 0, 1);
    const end = Date.UTC(2027, 0, 1);
    let transitions = 0;
    const wrong: string[] = [];
    const check = (t: number) => {
      const got = utc_offset_ms(new Date(t), tz);
      const want = reference_offset(t, tz);
      if (got !== want) wrong.push(`${new Date(t).toISOString()}: ${got} instead of ${want}`);
      return want;
    };
    let previous = reference_offset(start, tz);
    for (let t = start; t < end; t += 3_613_000) {
      const want = check(t);
      if (want !== previous) {
        transitions++;
        // Second by second across the span that held the change.
        for (let u = t - 3_613_000; u <= t; u += 1000) check(u);
      }
      previous = want;
    }
    expect(wrong).toEqual([]);
    expect(transitions).toBe(['Asia/Kathmandu', 'Asia/Shanghai'].includes(tz) ? 0 : 2);
  });

  it('historical offsets with seconds (local mean time) still match', () => {
    for (const t of [Date.UTC(1890, 5, 1, 12), Date.UTC(1900, 0, 1, 0, 3), Date.UTC(1927, 11, 31, 16, 5, 43)]) {
      expect(utc_offset_ms(new Date(t), 'Asia/Shanghai')).toBe(reference_offset(t, 'Asia/Shanghai'));
    }
  });

  it('naive_string and parse_naive round-trip through the cached offsets, the repeated hour reading as its first occurrence', () => {
    const t = Date.UTC(2026, 10, 1, 6, 30); // 01:30 CDT, the first of two 01:30s in Chicago
    expect(naive_string(new Date(t), 'America/Chicago')).toBe('2026-11-01 01:30:00');
    expect(parse_naive('2026-11-01 01:30:00', 'America/Chicago').getTime()).toBe(t);
    expect(naive_string(new Date(t + 3_600_000), 'America/Chicago')).toBe('2026-11-01 01:30:00');
  });
});

describe('naive_wall_ms', () => {
  /** The reading by fields, written independently of the digit-by-digit fast path. */
  function by_fields(s: string): number {
    const [date, time] = s.trim().split(/[T ]/);
    const [y, mo, d] = date.split('-').map(Number);
    const [h, mi, sec = '0'] = time.split(':');
    const [whole, frac = ''] = sec.split('.');
    return Date.UTC(y, mo - 1, d, Number(h), Number(mi), Number(whole), Math.floor(Number(frac.padEnd(6, '0')) / 1000));
  }

  it('reads the text Django and Tango write, with and without microseconds, as the fields say', () => {
    for (let i = 0; i < 2000; i++) {
      const t = Date.UTC(1971, 0, 1) + Math.floor(Math.random() * 2_000_000_000_000);
      const text = naive_string(new Date(t), 'UTC');
      expect(naive_wall_ms(text)).toBe(t);
      const micro = `${text.slice(0, 19)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
      expect(naive_wall_ms(micro)).toBe(by_fields(micro));
    }
  });

  it.each(['2023-11-14 22:13:20.5', '2023-11-14 22:13:20.12', '2023-11-14 22:13:20.999', '2023-11-14 22:13:20.0001', '2023-11-14 22:13:20.12345'])(
    'a fraction of fewer than six digits (%s) counts from the left, as Python reads it', (text) => {
      expect(naive_wall_ms(text)).toBe(by_fields(text));
    });

  it.each(['2023-11-14T22:13:20', ' 2023-11-14 22:13:20 ', '2023-11-14 22:13', '2023-11-14T22:13:20.123456'])(
    'other forms the column may hold (%j) are still read', (text) => {
      expect(naive_wall_ms(text)).toBe(by_fields(text));
    });

  it.each(['2023-11-14 22:1x:20', '2023-11-14 22:13:20.', '2023-11-14 22:13:20.1234567', 'not a date', '2023-1a-14 22:13:20'])(
    'text that is not a naive datetime (%j) is refused', (text) => {
      expect(() => naive_wall_ms(text)).toThrow(/Invalid naive datetime/);
    });
});
