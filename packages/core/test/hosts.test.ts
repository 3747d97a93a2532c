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
