/**
 * Redirects Tango builds itself must stay on the site that was asked
 * (Django's CVE-2018-14574: APPEND_SLASH turned `//evil.com` into
 * `Location: //evil.com/`, a scheme-relative URL browsers follow off-site).
 */

/**
 * django.utils.http.escape_leading_slashes: a path starting with '//' would
 * be read as a scheme-relative URL naming another host; '/%2F' keeps it a path.
 */
export function escape_leading_slashes(url: string): string {
  return url.startsWith('//') ? `/%2F${url.slice(2)}` : url;
}

// What django.utils.encoding.escape_uri_path leaves alone (its `safe` set),
// plus '%' because the path here is the raw, still-encoded request-target.
const UNSAFE_IN_PATH = /[^A-Za-z0-9/:@&+$,\-_.!~*'()%;=]/g;

/**
 * The raw request path made safe to send back in a Location header:
 * characters a browser might reinterpret ('\' reads as '/' in http URLs)
 * are percent-encoded. Node gives the request-target one character per
 * byte, so each character below 256 is its byte.
 */
export function escape_raw_path(path: string): string {
  return path.replace(UNSAFE_IN_PATH, (c) => {
    const code = c.charCodeAt(0);
    return code < 256 ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c);
  });
}

const PROBE = 'http://tango.invalid';

/**
 * Whether a browser resolving `url` against this site's address stays on
 * it: a path-absolute URL whose resolution keeps the origin (no scheme, no
 * '//' or '/\' authority). The last check after escaping, not the only one.
 */
export function is_same_site_path(url: string): boolean {
  if (url[0] !== '/' || url[1] === '/' || url[1] === '\\') return false;
  try {
    return new URL(url, `${PROBE}/`).origin === PROBE;
  } catch {
    return false;
  }
}

/** A same-site Location for `path` (raw) and `query` ('' or '?...'), or undefined when none can be made. */
export function same_site_location(path: string, query: string): string | undefined {
  const location = escape_leading_slashes(escape_raw_path(path)) + query;
  return is_same_site_path(location) ? location : undefined;
}
