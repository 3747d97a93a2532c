/**
 * django/core/handlers/exception.py's response_for_exception: what a request
 * gets when a view or a middleware throws (Http404 → 404, a coded error → its
 * status, anything else → a logged 500; a suspicious request is logged to
 * tango.security.*), with the error's detail only under DEBUG.
 */
import { settings } from '../conf';
import { TangoError, SuspiciousOperation, Http404 } from '../errors';
import { get_logger } from '../log';
import type { HttpRequest } from './request';
import { HttpResponse } from './response';
import { technical_500_html, type RequestSummary } from '../views/debug';
import { missing_table } from '../db_errors';

const request_log = get_logger('tango.request');

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 500: 'Server Error', 503: 'Service Unavailable' };

/**
 * django.core.handlers.exception.response_for_exception: coded errors become
 * their status; anything else is a logged 500 (a debug page under DEBUG).
 */
export function response_for_exception(request: HttpRequest, err: unknown): HttpResponse {
  const error = err instanceof Error ? err : new Error(String(err));
  const status = err instanceof TangoError ? err.status : 500;
  if (err instanceof Http404) {
    const detail = settings.DEBUG ? `<p>${escape(request.path)}: ${escape(error.message)}</p>` : `<p>The requested resource was not found on this server.</p>`;
    return new HttpResponse(page('Not Found', detail), { status: 404 });
  }
  const table = missing_table(err);
  if (err instanceof SuspiciousOperation) {
    get_logger(`tango.security.${error.name}`).warn(error.message, { path: request.path });
  } else if (status >= 500) {
    const hint = table ? ` (the table ${table} does not exist: run manage.ts migrate)` : '';
    request_log.error(`${status === 500 ? 'Internal Server Error' : REASONS[status] ?? 'Error'}: ${request.path}: ${error.message}${hint}`, error);
  } else {
    request_log.warn(`${REASONS[status] ?? 'Error'}: ${request.path}: ${error.message}`);
  }
  const title = REASONS[status] ?? `Error ${status}`;
  if (!settings.DEBUG) return new HttpResponse(page(title, `<p>${escape(title)} (${status})</p>`), { status });
  const note = table
    ? `The table ${table} does not exist: the database has not been migrated. Run \`npx ts-node manage.ts migrate\`, then reload this page.`
    : undefined;
  return new HttpResponse(technical_500_html(error, summarize(request), { settings, base_dir: settings.BASE_DIR, note }), { status });
}

/** What the DEBUG page shows of a request. */
function summarize(request: HttpRequest): RequestSummary {
  const full = request.get_full_path();
  const q = full.indexOf('?');
  let post: Array<[string, string]> | undefined;
  try {
    post = request.method === 'POST' ? [...request.POST.items()] : undefined;
  } catch {
    post = undefined;
  }
  return { method: request.method, path: request.path, query: q < 0 ? '' : full.slice(q + 1), headers: request.headers, post };
}
