/**
 * django/utils/cache.py's patch_vary_headers, for middleware that makes a
 * response depend on a request header (SessionMiddleware adds Cookie).
 */
import type { HttpResponse } from './response';

/**
 * django.utils.cache.patch_vary_headers: add header names to Vary,
 * case-insensitively and without duplicates; `*` absorbs everything.
 */
export function patch_vary_headers(response: HttpResponse, newheaders: string[]): void {
  const current = response.headers.get('Vary');
  // The common case (SessionMiddleware on a response without Vary): nothing to merge.
  if (current === undefined && newheaders.length === 1) {
    response.headers.set('Vary', newheaders[0]);
    return;
  }
  const existing = (current ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const seen = new Set(existing.map((h) => h.toLowerCase()));
  const all = [...existing];
  for (const h of newheaders) {
    if (!seen.has(h.toLowerCase())) {
      seen.add(h.toLowerCase());
      all.push(h);
    }
  }
  response.headers.set('Vary', all.includes('*') ? '*' : all.join(', '));
}
