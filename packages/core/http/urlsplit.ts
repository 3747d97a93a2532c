/**
 * Python's urllib.parse.urlsplit / SplitResult.geturl, as far as Django's
 * CSRF Origin and Referer checks use them: the scheme (lower-cased), the raw
 * netloc (port and case kept) and the rest. A bracket without its partner in
 * the netloc is Python's ValueError("Invalid IPv6 URL").
 */
export interface SplitResult {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  fragment: string;
}

// urllib.parse: leading C0 controls and spaces are stripped, tabs and newlines removed anywhere.
// eslint-disable-next-line no-control-regex
const LEADING = /^[\u0000-\u0020]+/;
const UNSAFE = /[\t\r\n]/g;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

export function urlsplit(input: string): SplitResult {
  let url = input.replace(LEADING, '').replace(UNSAFE, '');
  let scheme = '';
  const colon = url.indexOf(':');
  if (colon > 0 && SCHEME.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    url = url.slice(colon + 1);
  }
  let netloc = '';
  if (url.startsWith('//')) {
    let end = url.length;
    for (const c of '/?#') {
      const i = url.indexOf(c, 2);
      if (i >= 0 && i < end) end = i;
    }
    netloc = url.slice(2, end);
    url = url.slice(end);
    if (netloc.includes('[') !== netloc.includes(']')) throw new RangeError('Invalid IPv6 URL');
  }
  let fragment = '';
  const hash = url.indexOf('#');
  if (hash >= 0) {
    fragment = url.slice(hash + 1);
    url = url.slice(0, hash);
  }
  let query = '';
  const q = url.indexOf('?');
  if (q >= 0) {
    query = url.slice(q + 1);
    url = url.slice(0, q);
  }
  return { scheme, netloc, path: url, query, fragment };
}

/** SplitResult.geturl() (urlunsplit) for a URL with a scheme and a netloc. */
export function geturl(u: SplitResult): string {
  let out = u.path;
  if (u.netloc) out = `//${u.netloc}${out && !out.startsWith('/') ? '/' : ''}${out}`;
  if (u.scheme) out = `${u.scheme}:${out}`;
  if (u.query) out += `?${u.query}`;
  if (u.fragment) out += `#${u.fragment}`;
  return out;
}
