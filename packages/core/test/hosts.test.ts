import { check_host, DisallowedHost, validate_host } from '../http/hosts';

describe('validate_host (django.http.request.validate_host)', () => {
  const allowed = ['Example.COM', '.Sub.Example.org', '127.0.0.1', '[::1]'];

  it.each([
    ['example.com', true],
    ['EXAMPLE.com:8000', true],
    ['example.com.', true],
    ['example.com.:80', true],
    ['example.com:', false],
    ['www.example.com', false],
    ['sub.example.org', true],
    ['a.b.sub.example.org:443', true],
    ['xsub.example.org', false],
    ['127.0.0.1:8000', true],
    ['[::1]:8000', true],
    ['[::1]', true],
    ['evil.com', false],
    ['', false],
  ])('%s → %s', (host, ok) => {
    expect(validate_host(host, allowed)).toBe(ok);
  });

  it("'*' allows any host", () => {
    expect(validate_host('anything.test:1', ['localhost', '*'])).toBe(true);
  });

  it('reads a changed list, not a stale compiled one', () => {
    expect(validate_host('a.test', ['a.test'])).toBe(true);
    expect(validate_host('a.test', ['b.test'])).toBe(false);
  });

  it('check_host throws DisallowedHost naming the host, and allows all when the list is empty', () => {
    expect(() => check_host('evil.com:81', ['example.com'])).toThrow(DisallowedHost);
    expect(() => check_host('evil.com:81', ['example.com'])).toThrow(/'evil\.com:81'.*add 'evil\.com' to ALLOWED_HOSTS/);
    expect(() => check_host(undefined, ['example.com'])).toThrow(DisallowedHost);
    expect(() => check_host('whatever', [])).not.toThrow();
  });
});

describe('the Host is checked as django.http.request.host_validation_re before matching (issue 19, item 5)', () => {
  const allowed = ['.example.com'];

  // Each ends in '.example.com', so a plain suffix match let it through.
  it.each([
    'evil.com/.example.com',
    'evil.com?.example.com',
    'evil.com#.example.com',
    'a@evil.com:80',
    'evil.com\\.example.com',
    'evil.com .example.com',
    'evil.com:80 .example.com',
    'a.example.com:80:80',
    'a.example.com:',
    'a.example.com\t',
    'a.example.com\n',
    '[::1',
    '[evil.com]:80',
  ])('%j is refused', (host) => {
    expect(validate_host(host, allowed)).toBe(false);
    expect(() => check_host(host, allowed)).toThrow(DisallowedHost);
  });

  it("an ill-formed Host is refused even by '*' and by an empty list, as Django refuses it", () => {
    expect(validate_host('evil.com/.example.com', ['*'])).toBe(false);
    expect(() => check_host('evil.com/.example.com', [])).toThrow(/not valid according to RFC 1034\/1035/);
    expect(() => check_host('a@evil.com:80', ['*'])).toThrow(DisallowedHost);
  });

  it('two Host headers are refused whatever the list says', () => {
    expect(() => check_host(['a.example.com', 'evil.com'], allowed)).toThrow(/Multiple Host headers/);
    expect(() => check_host(['a.example.com', 'a.example.com'], [])).toThrow(DisallowedHost);
  });

  it('well-formed hosts still pass: subdomains, ports, a trailing dot, IPv4 and IPv6 literals', () => {
    for (const host of ['a.example.com', 'A.Example.COM:8080', 'example.com', 'a.example.com.']) expect(validate_host(host, allowed)).toBe(true);
    expect(validate_host('[2001:db8::1]:443', ['[2001:db8::1]'])).toBe(true);
    expect(validate_host('10.0.0.1:80', ['*'])).toBe(true);
  });
});
