/**
 * The Host header against settings.ALLOWED_HOSTS, as HttpRequest.get_host()
 * and validate_host() check it (django/http/request.py): a request for a host
 * the site does not serve is refused with DisallowedHost (a 400) before any
 * middleware or view runs.
 */
import { SuspiciousOperation } from '../errors';
import { register_memo } from '../memos';

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
let compiled = new WeakMap<readonly string[], HostPatterns>();
let latest: HostPatterns | undefined;
/** With an empty ALLOWED_HOSTS, the Host last found well-formed (the same header repeats). */
let last_well_formed: string | undefined;
register_memo('http.hosts.allowed_hosts', () => {
  compiled = new WeakMap();
  latest = undefined;
  last_well_formed = undefined;
});

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

/**
 * django.http.request.host_validation_re, applied to the lower-cased Host:
 * a DNS name (letters, digits, dots, hyphens) or a bracketed IPv6 literal,
 * then an optional port. Anything else ('evil.com/.example.com',
 * 'a@evil.com:80', a backslash, a space) is not a host at all, so it can never
 * match an ALLOWED_HOSTS suffix nor reach get_host()'s caller.
 */
const HOST_VALIDATION_RE = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$/;

/**
 * django.http.request.split_domain_port: the domain (lower-cased, without a
 * trailing dot) and the port, or ['', ''] when the Host is ill-formed.
 */
export function split_domain_port(host: string): [domain: string, port: string] {
  const m = HOST_VALIDATION_RE.exec(host.toLowerCase());
  if (!m) return ['', ''];
  const domain = m[1].endsWith('.') ? m[1].slice(0, -1) : m[1];
  return [domain, m[2] ? m[2].slice(1) : ''];
}

/**
 * django.http.request.validate_host, given the whole Host header: an
 * ill-formed Host never matches; then `*` allows all, `.example.com` a domain
 * and its subdomains, anything else an exact (case-insensitive) host.
 */
export function validate_host(host: string, allowed: readonly string[]): boolean {
  const c = compile(allowed);
  if (host === c.last_ok) return true;
  const [name] = split_domain_port(host);
  if (!name) return false;
  let ok = c.any || c.exact.has(name);
  for (let i = 0; !ok && i < c.domains.length; i++) ok = name === c.domains[i].slice(1) || name.endsWith(c.domains[i]);
  if (ok) c.last_ok = host;
  return ok;
}

/**
 * Checks the Host header as django.http.HttpRequest.get_host does. An
 * ill-formed Host, or more than one Host header (Node keeps only the first,
 * so the server passes them all), is refused whatever ALLOWED_HOSTS says. An
 * empty list allows every well-formed host (unlike Django, which then allows
 * only localhost under DEBUG and nothing otherwise): set ALLOWED_HOSTS in
 * production.
 */
export function check_host(host: string | readonly string[] | undefined, allowed: readonly string[]): void {
  if (typeof host === 'object') {
    throw new DisallowedHost(`Multiple Host headers: ${host.map((h) => `'${h}'`).join(', ')}. A request names one host.`);
  }
  if (!host) {
    if (!allowed.length) return;
    throw new DisallowedHost("Invalid HTTP_HOST header: ''. You may need to add the site's domain to ALLOWED_HOSTS.");
  }
  if (allowed.length ? host === compile(allowed).last_ok : host === last_well_formed) return;
  const [domain] = split_domain_port(host);
  if (!domain) {
    throw new DisallowedHost(`Invalid HTTP_HOST header: ${JSON.stringify(host)}. The domain name provided is not valid according to RFC 1034/1035.`);
  }
  if (allowed.length && !validate_host(host, allowed)) {
    throw new DisallowedHost(`Invalid HTTP_HOST header: '${host}'. You may need to add '${domain}' to ALLOWED_HOSTS.`);
  }
  if (!allowed.length) last_well_formed = host;
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
