/**
 * Named loggers, as Django's `logging.getLogger('django.security.SuspiciousSession')`.
 * Lines go to stderr as JSON (pino's shape, so Fastify's logs and ours read alike),
 * or as readable text under runserver (set_log_format); tests and operators can
 * attach handlers.
 */
import { paint, supports_color, type Colour } from './management/color';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 20, info: 30, warn: 40, error: 50 };

export interface LogRecord {
  name: string;
  level: Level;
  msg: string;
  err?: Error;
  extra?: Record<string, unknown>;
}

export interface Logger {
  debug(msg: string, extra?: Record<string, unknown> | Error): void;
  info(msg: string, extra?: Record<string, unknown> | Error): void;
  warn(msg: string, extra?: Record<string, unknown> | Error): void;
  error(msg: string, extra?: Record<string, unknown> | Error): void;
}

type Handler = (r: LogRecord) => void;
const handlers = new Set<Handler>();
let threshold = LEVELS[(process.env.TANGO_LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;
let write_stderr = process.env.TANGO_LOG_SILENT !== '1';

let format: 'json' | 'text' = 'json';
/** Whether text lines are coloured: asked once, when the format is set, as Django's color_style() is at start-up. */
let coloured = false;

/** 'text' (runserver): one readable line per record, coloured on a terminal; 'json' (serve, the default): pino's shape. */
export function set_log_format(f: 'json' | 'text'): void {
  format = f;
  coloured = f === 'text' && supports_color(process.stderr);
}

const LEVEL_COLOURS: Record<Level, Colour | undefined> = { debug: 'dim', info: undefined, warn: 'yellow', error: 'red' };

/** runserver's time stamp, `06/Dec/2026 21:00:00` (Django's log_date_time_string, in UTC). */
export function log_time(now = new Date()): string {
  return now.toUTCString().slice(5, 25).replace(/ /, '/').replace(/ /, '/');
}

/** `[06/Dec/2026 21:00:00] ERROR tango.request: message`, the stack indented below, as Django's console handler shows it. */
export function text_line(r: LogRecord, colour: boolean, now = new Date()): string {
  const stamp = log_time(now);
  const extra = r.extra && Object.keys(r.extra).length ? ` ${JSON.stringify(r.extra)}` : '';
  const head = `[${stamp}] ${r.level.toUpperCase()} ${r.name}: ${r.msg}${extra}`;
  const colour_of = LEVEL_COLOURS[r.level];
  const stack = r.err?.stack ? `\n${r.err.stack.split('\n').map((l) => `    ${l}`).join('\n')}` : '';
  return `${colour_of ? paint(head, colour_of, colour) : head}${stack}\n`;
}

function stderr_handler(r: LogRecord): void {
  if (!write_stderr || LEVELS[r.level] < threshold) return;
  if (format === 'text') {
    process.stderr.write(text_line(r, coloured));
    return;
  }
  const line: Record<string, unknown> = { level: LEVELS[r.level], time: Date.now(), name: r.name, msg: r.msg, ...r.extra };
  if (r.err) line.err = { type: r.err.name, message: r.err.message, stack: r.err.stack };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

export function set_log_level(level: Level): void {
  threshold = LEVELS[level];
}

/** Turns the stderr output on or off (handlers still receive every record). */
export function set_stderr_logging(on: boolean): void {
  write_stderr = on;
}

export function add_log_handler(h: Handler): () => void {
  handlers.add(h);
  return () => handlers.delete(h);
}

/** Collects log records until `stop()`: for tests that assert a reason was logged. */
export function capture_logs(): { records: LogRecord[]; stop: () => void } {
  const records: LogRecord[] = [];
  const stop = add_log_handler((r) => records.push(r));
  return { records, stop };
}

// Errors from another realm (node's net errors under jest's vm) fail `instanceof Error`.
function is_error(v: unknown): v is Error {
  return v instanceof Error || (typeof v === 'object' && v !== null && typeof (v as Error).message === 'string' && typeof (v as Error).stack === 'string');
}

const cache = new Map<string, Logger>();

export function get_logger(name: string): Logger {
  let l = cache.get(name);
  if (l) return l;
  const emit = (level: Level) => (msg: string, extra?: Record<string, unknown> | Error) => {
    const r: LogRecord = is_error(extra) ? { name, level, msg, err: extra } : { name, level, msg, extra };
    stderr_handler(r);
    for (const h of handlers) h(r);
  };
  l = { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
  cache.set(name, l);
  return l;
}
