import { SuspiciousOperation } from '../errors';

export class DisallowedHost extends SuspiciousOperation {
  override readonly code = 'TANGO_DISALLOWED_HOST';
}

/**
 * django.http.request.validate_host: `*` allows all, `.example.com` a domain
 * and its subdomains, anything else an exact (case-insensitive) host.
 */
export function validate_host(host: string, allowed: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*') return true;
    if (p.startsWith('.')) return name === p.slice(1) || name.endsWith(p);
    return name === p;
  });
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
