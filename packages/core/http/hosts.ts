import { SuspiciousOperation } from '../errors';

export class DisallowedHost extends SuspiciousOperation {
  override readonly code = 'TANGO_DISALLOWED_HOST';
}

interface HostPatterns {
  any: boolean;
  exact: Set<string>;
  /** '.example.com' kept as-is: a host matches it by suffix, or by equalling it without the dot. */
  domains: string[];
}

// ALLOWED_HOSTS is frozen with the settings, so its lower-cased form is
// computed once per list rather than on every request.
const compiled = new WeakMap<readonly string[], HostPatterns>();

function compile(allowed: readonly string[]): HostPatterns {
  let c = compiled.get(allowed);
  if (!c) {
    c = { any: false, exact: new Set(), domains: [] };
    for (const pattern of allowed) {
      const p = pattern.toLowerCase();
      if (p === '*') c.any = true;
      else if (p.startsWith('.')) c.domains.push(p);
      else c.exact.add(p);
    }
    compiled.set(allowed, c);
  }
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
  if (c.any) return true;
  const name = host_name(host);
  if (c.exact.has(name)) return true;
  for (const d of c.domains) if (name === d.slice(1) || name.endsWith(d)) return true;
  return false;
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
