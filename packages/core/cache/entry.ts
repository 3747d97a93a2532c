/**
 * Reading one settings.CACHES entry the way every store does: its OPTIONS,
 * its LOCATION as a list, and the defaults Django's backends use.
 */
import type { CacheSettings } from '../conf';

export const DEFAULT_TIMEOUT_S = 300; // Django's default cache TIMEOUT
export const DEFAULT_IO_TIMEOUT_MS = 2000;

export function options(entry: CacheSettings): Record<string, unknown> {
  const o = (entry as Record<string, unknown>).OPTIONS;
  return o && typeof o === 'object' ? (o as Record<string, unknown>) : {};
}

export function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
}

export function locations(entry: CacheSettings): string[] {
  const loc = entry.LOCATION;
  return loc === undefined ? [] : Array.isArray(loc) ? loc : [loc];
}

