/**
 * The DEBUG error page (django/views/debug.py's technical_500_response): the
 * exception, the source lines around each frame of its stack, the request
 * and the settings, with secrets masked as SafeExceptionReporterFilter masks
 * them. Also serves runserver while the project cannot start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { html, mark_safe, type SafeString } from '../html';
import { parse_cookie } from '../http/cookies';

/** SafeExceptionReporterFilter.cleansed_substitute */
export const CLEANSED_SUBSTITUTE = '********************';

/** SafeExceptionReporterFilter.hidden_settings: names whose values are never shown. */
const HIDDEN = /API|TOKEN|KEY|SECRET|PASS|SIGNATURE/i;

/** Headers that carry credentials whatever they are called. */
const HIDDEN_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** Lines shown on each side of a frame's line (Django shows 7). */
const CONTEXT_LINES = 7;
const MAX_FRAMES = 12;

/** What the page shows of the request; runserver's error server builds it from a bare Node request. */
export interface RequestSummary {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** Form fields of a POST, when they were parsed. */
  post?: Array<[string, string]>;
}

/** A URL's password (postgres://user:pw@host) never shows either. */
function mask_url_password(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^@/\s]*@/i, `$1${CLEANSED_SUBSTITUTE}@`);
}

/** SafeExceptionReporterFilter.cleanse_setting: hidden names are masked, dicts and lists are walked. */
export function cleanse_setting(key: string, value: unknown): unknown {
  if (is_hidden_setting(key)) return CLEANSED_SUBSTITUTE;
  if (typeof value === 'string') return mask_url_password(value);
  if (Array.isArray(value)) return value.map((v) => cleanse_setting('', v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, cleanse_setting(k, v)]));
  }
  return value;
}

/** Whether a setting's value is hidden (SafeExceptionReporterFilter.hidden_settings). */
export function is_hidden_setting(name: string): boolean {
  return HIDDEN.test(name);
}

/** A cookie, header or field name whose value is masked (the session and CSRF cookies among them). */
function is_sensitive_name(name: string): boolean {
  return is_hidden_setting(name) || /session|csrf|auth|messages/i.test(name);
}

function show(value: unknown): string {
  if (typeof value === 'function') return `<function ${value.name || 'anonymous'}>`;
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

interface Frame {
  fn: string;
  file: string;
  line: number;
  column: number;
}

/** Frames of a V8 stack ("at fn (file:line:col)" or "at file:line:col"), files on disk only. */
export function parse_stack(stack: string | undefined): Frame[] {
  const frames: Frame[] = [];
  for (const raw of (stack ?? '').split('\n')) {
    const line = raw.trim();
    const m = /^at (?:(.*?) \()?((?:[A-Za-z]:)?[^()]*?):(\d+):(\d+)\)?$/.exec(line);
    if (!m) continue;
    const file = m[2].startsWith('file://') ? m[2].slice('file://'.length) : m[2];
    if (!path.isAbsolute(file)) continue;
    frames.push({ fn: m[1] ?? '(anonymous)', file, line: Number(m[3]), column: Number(m[4]) });
  }
  return frames;
}

/** A TypeScript compile error names its place as `file.ts(line,col)` or `file.ts:line:col` in the message, not in the stack. */
function frames_from_message(message: string, base_dir: string | undefined): Frame[] {
  const frames: Frame[] = [];
  for (const m of message.matchAll(/((?:[A-Za-z]:)?[^\s():'"[\],]+\.[cm]?[jt]sx?)(?:\((\d+),(\d+)\)|:(\d+):(\d+))/g)) {
    const file = path.resolve(base_dir ?? process.cwd(), m[1]);
    if (!fs.existsSync(file)) continue;
    frames.push({ fn: '(compiling)', file, line: Number(m[2] ?? m[4]), column: Number(m[3] ?? m[5]) });
  }
  return frames;
}

/**
 * A compile error from ts-node's swc mode carries swc's report and a native
 * backtrace in its message; this keeps the report (what, where, the line)
 * as a SyntaxError, so consoles and the page show what a person needs.
 */
export function readable_error(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const m = /^\s*x (.+)\n\s*,-\[(.+?):(\d+):(\d+)\]\n([\s\S]*?)`----/.exec(e.message);
  if (!m) return e;
  const out = new SyntaxError(`${m[1]} (${m[2]}:${m[3]}:${m[4]})\n${m[5].replace(/\s+$/, '')}`);
  out.stack = `SyntaxError: ${out.message}\n    at ${m[2]}:${m[3]}:${m[4]}`;
  return out;
}

function source_context(frame: Frame): SafeString {
  let lines: string[];
  try {
    lines = fs.readFileSync(frame.file, 'utf8').split('\n');
  } catch {
    return html``;
  }
  const first = Math.max(1, frame.line - CONTEXT_LINES);
  const last = Math.min(lines.length, frame.line + CONTEXT_LINES);
  const rows: SafeString[] = [];
  for (let n = first; n <= last; n++) {
    rows.push(html`<li value="${n}"${mark_safe(n === frame.line ? ' class="here"' : '')}><code>${lines[n - 1]}</code></li>`);
  }
  return html`<ol class="context">${rows}</ol>`;
}

function frames_html(error: Error, base_dir: string | undefined): SafeString {
  const frames = [...frames_from_message(error.message, base_dir), ...parse_stack(error.stack)].slice(0, MAX_FRAMES);
  if (frames.length === 0) return html``;
  const shown = (file: string) => (base_dir && file.startsWith(base_dir + path.sep) ? path.relative(base_dir, file) : file);
  return html`<h2>Traceback</h2>${frames.map((f) => {
    // Library frames are listed without their source, as Django collapses them.
    const library = f.file.includes(`${path.sep}node_modules${path.sep}`);
    return html`<div class="frame"><p><code>${shown(f.file)}</code>, line ${f.line}, in <code>${f.fn}</code></p>${library ? html`` : source_context(f)}</div>`;
  })}`;
}

function table(rows: Array<[string, string]>): SafeString {
  if (rows.length === 0) return html`<p>No data.</p>`;
  return html`<table>${rows.map(([k, v]) => html`<tr><td><code>${k}</code></td><td><pre>${v}</pre></td></tr>`)}</table>`;
}

function request_rows(request: RequestSummary): { headers: Array<[string, string]>; cookies: Array<[string, string]>; get: Array<[string, string]>; post: Array<[string, string]> } {
  const headers: Array<[string, string]> = [];
  let cookie_header = '';
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (name.toLowerCase() === 'cookie') cookie_header = text;
    headers.push([name, HIDDEN_HEADERS.has(name.toLowerCase()) || is_sensitive_name(name) ? CLEANSED_SUBSTITUTE : text]);
  }
  const cookies = [...parse_cookie(cookie_header)].map(([k, v]): [string, string] => [k, is_sensitive_name(k) ? CLEANSED_SUBSTITUTE : v]);
  const get = [...new URLSearchParams(request.query)].map(([k, v]): [string, string] => [k, is_sensitive_name(k) ? CLEANSED_SUBSTITUTE : v]);
  const post = (request.post ?? []).map(([k, v]): [string, string] => [k, is_sensitive_name(k) ? CLEANSED_SUBSTITUTE : v]);
  return { headers, cookies, get, post };
}

export interface TechnicalPageOptions {
  /** The active settings, when they loaded; shown masked. */
  settings?: Readonly<Record<string, unknown>>;
  /** Paths under it are shown relative to it. */
  base_dir?: string;
  /** A line under the title, e.g. what runserver is waiting for. */
  note?: string;
}

/** The HTML of the DEBUG 500 page for `error` raised while answering `request`. */
export function technical_500_html(error: Error, request: RequestSummary | undefined, options: TechnicalPageOptions = {}): string {
  const title = request ? `${error.name} at ${request.path}` : error.name;
  const req = request ? request_rows(request) : undefined;
  const settings_rows = options.settings
    ? Object.keys(options.settings).sort().map((k): [string, string] => [k, show(cleanse_setting(k, options.settings![k]))])
    : [];
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="NONE,NOARCHIVE">
<title>${title}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; }
  header { background: #ffc; padding: 1rem 2rem; border-bottom: 1px solid #ddd; }
  header h1 { margin: 0 0 .5rem; font-size: 1.4rem; }
  header .message { font: 1rem/1.4 ui-monospace, monospace; white-space: pre-wrap; margin: 0; }
  main { padding: 0 2rem 2rem; }
  .frame p { margin: 1rem 0 .25rem; }
  ol.context { background: #f6f6f6; margin: 0; padding: .25rem 0 .25rem 4rem; font: 12px/1.4 ui-monospace, monospace; }
  ol.context li { white-space: pre; }
  ol.context li.here { background: #fcc; font-weight: bold; }
  table { border-collapse: collapse; } td { border-bottom: 1px solid #eee; padding: .15rem .5rem; vertical-align: top; }
  td pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
</style>
</head>
<body>
<header>
<h1>${title}</h1>
<pre class="message">${error.message}</pre>
${options.note ? html`<p class="note">${options.note}</p>` : html``}
${request && req ? html`<p>Request: <code>${request.method} ${request.path}${req.get.length ? `?${new URLSearchParams(req.get).toString()}` : ''}</code></p>` : html``}
</header>
<main>
${frames_html(error, options.base_dir)}
${req ? html`<h2>Request information</h2>
<h3>GET</h3>${table(req.get)}
<h3>POST</h3>${table(req.post)}
<h3>COOKIES</h3>${table(req.cookies)}
<h3>Headers</h3>${table(req.headers)}` : html``}
${options.settings ? html`<h2>Settings</h2>${table(settings_rows)}` : html``}
<p>You are seeing this page because DEBUG is true (or runserver cannot start the project). Set DEBUG to false for the standard 500 page.</p>
</main>
</body>
</html>
`;
  return page.toString();
}
