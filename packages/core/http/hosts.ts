import { SuspiciousOperation } from '../errors';

export class DisallowedHost extends SuspiciousOperation {
  override readonly code = 'TANGO_DISALLOWED_HOST';
}

interface HostPatterns {
  allowed: readonly string[];
  any: boolean;
  exact: Set<string>;
  /** '.example.com' kept as-is: a host matches it by suffix, or by equalling it without the dot. */
  domains: string[];
  /** The Host header last accepted: nearly every request repeats it. */
  last_ok: string | undefined;
}

// ALLOWED_HOSTS is frozen with the settings, so its lower-cased form is
// computed once per list rather than on every request.
const compiled = new WeakMap<readonly string[], HostPatterns>();
let latest: HostPatterns | undefined;

function compile(allowed: readonly string[]): HostPatterns {
  if (latest?.allowed === allowed) return latest;
  let c = compiled.get(allowed);
  if (!c) {
    c = { allowed, any: false, exact: new Set(), domains: [], last_ok: undefined };
    for (const pattern of allowed) {
      const p = pattern.toLowerCase();
      if (p === '*') c.any = true;
      else if (p.startsWith('.')) c.domains.push(p);
      else c.exact.add(p);
    }
    compiled.set(allowed, c);
  }
  latest = c;
  return c;
}

/** The host without its port and trailing dot, lower-cased (Django's split_domain_port). */
function host_name(host: string): string {
  let end = host.length;
  // A port is the digits after the last ':' ('[::1]:8000', 'example.com:80').
  let i = end - 1;
  while (i >= 0 && host.charCodeAt(i) >= 48 && host.charCodeAt(i) <= 57) i--;
  if (i >= 0 && i < end - 1 && host.charCodeAt(i) === 58) end = i;
  if (end > 0 && host.charCodeAt(end - 1) === 46) end--;
  const name = end === host.length ? host : host.slice(0, end);
  return name.toLowerCase();
}

/**
 * django.http.request.validate_host: `*` allows all, `.example.com` a domain
 * and its subdomains, anything else an exact (case-insensitive) host.
 */
export function validate_host(host: string, allowed: readonly string[]): boolean {
  const c = compile(allowed);
  if (c.any || host === c.last_ok) return true;
  const name = host_name(host);
  let ok = c.exact.has(name);
  for (let i = 0; !ok && i < c.domains.length; i++) ok = name === c.domains[i].slice(1) || name.endsWith(c.domains[i]);
  if (ok) c.last_ok = host;
  return ok;
}

/**
 * Checks the Host header against ALLOWED_HOSTS. An empty list allows every
 * host (unlike Django, which then allows only localhost under DEBUG and
 * nothing otherwise): set ALLOWED_HOSTS in production.
 */
export function check_host(host: string | undefined, allowed: readonly string[]): void {
  if (!allowed.length) return;
  if (!host || !validate_host(host, allowed)) {
    throw new DisallowedHost(`Invalid HTTP_HOST header: '${host ?? ''}'. You may need to add '${(host ?? '').replace(/:\d+$/, '')}' to ALLOWED_HOSTS.`);
  }
}

/**
 * django.utils.http.is_same_domain: `.example.com` matches example.com and
 * its subdomains, anything else only itself (the pattern is lower-cased, the
 * host is compared as given).
 */
export function is_same_domain(host: string, pattern: string): boolean {
  if (!pattern) return false;
  const p = pattern.toLowerCase();
  return (p[0] === '.' && (host.endsWith(p) || host === p.slice(1))) || p === host;
}
