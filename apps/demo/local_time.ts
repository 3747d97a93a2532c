/**
 * Instants shown in settings.TIME_ZONE, as Django's templates localise
 * datetimes to the current time zone. Intl does the zone arithmetic (DST and
 * historical offsets included) from the ICU data bundled with Node.
 */
const formats = new Map<string, Intl.DateTimeFormat>();

function formatter(time_zone: string): Intl.DateTimeFormat {
  let f = formats.get(time_zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: time_zone, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'shortOffset',
    });
    formats.set(time_zone, f);
  }
  return f;
}

/** `2025-01-31 18:04:05 GMT+8 (Asia/Shanghai)`: the wall-clock time in `time_zone`, with its offset and name. */
export function format_local(date: Date, time_zone: string): string {
  const p: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of formatter(time_zone).formatToParts(date)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName} (${time_zone})`;
}
