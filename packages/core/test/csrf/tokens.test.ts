/**
 * CSRF masking against vectors from Django's own _mask_cipher_secret (the
 * mask pinned; Django 3.2 and 5.2 share the function), and the format and
 * match rules of django/middleware/csrf.py.
 */
import {
  check_token_format, does_token_match, get_new_csrf_string, mask_cipher_secret, unmask_cipher_token,
  CSRF_ALLOWED_CHARS, InvalidTokenFormat,
} from '../../middleware/csrf_tokens';
import { urlsplit, geturl } from '../../http/urlsplit';
import { is_same_domain } from '../../http/hosts';

// [secret, mask, Django's token]
const DJANGO_VECTORS: Array<[string, string, string]> = [
  ['abcdefghijklmnopqrstuvwxyzABCDEF', '0123456789ZYXWVUTSRQPONMLKJIHGFE', '0123456789ZYXWVUTSRQPONMLKJIHGFE02468acegi9999999999999999999999'],
  ['zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz', '99999999999999999999999999999999', '99999999999999999999999999999999yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'],
  ['Xq3vT9pL2mN8kR4sW7yB1cD6fG0hJ5aZ', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaXq3vT9pL2mN8kR4sW7yB1cD6fG0hJ5aZ'],
];

describe('CSRF token masking (Django vectors)', () => {
  it.each(DJANGO_VECTORS)('masks %s with mask %s as Django does', (secret, mask, token) => {
    expect(mask_cipher_secret(secret, mask)).toBe(token);
    expect(unmask_cipher_token(token)).toBe(secret);
  });

  it('unmasks with wrap-around as Python negative indexes do', () => {
    expect(unmask_cipher_token('9'.repeat(64))).toBe('a'.repeat(32));
  });

  it('a fresh token is 64 allowed characters, differs every time and unmasks to the secret', () => {
    const secret = get_new_csrf_string();
    expect(secret).toMatch(/^[a-zA-Z0-9]{32}$/);
    const a = mask_cipher_secret(secret);
    const b = mask_cipher_secret(secret);
    expect(a).toMatch(/^[a-zA-Z0-9]{64}$/);
    expect(a).not.toBe(b);
    expect(unmask_cipher_token(a)).toBe(secret);
    expect(unmask_cipher_token(b)).toBe(secret);
  });

  it('every character of the alphabet round-trips', () => {
    const secret = CSRF_ALLOWED_CHARS.slice(0, 32);
    const secret2 = CSRF_ALLOWED_CHARS.slice(30);
    for (const s of [secret, secret2]) expect(unmask_cipher_token(mask_cipher_secret(s))).toBe(s);
  });
});

describe('token format and match', () => {
  it('accepts 32 or 64 alphanumerics only, with Django\'s reasons', () => {
    expect(() => check_token_format('a'.repeat(32))).not.toThrow();
    expect(() => check_token_format('a'.repeat(64))).not.toThrow();
    for (const bad of ['', 'a'.repeat(31), 'a'.repeat(33), 'a'.repeat(65)]) {
      expect(() => check_token_format(bad)).toThrow(new InvalidTokenFormat('has incorrect length'));
    }
    expect(() => check_token_format(`${'a'.repeat(63)}!`)).toThrow(new InvalidTokenFormat('has invalid characters'));
    expect(() => check_token_format(`${'a'.repeat(31)}é`)).toThrow(new InvalidTokenFormat('has invalid characters'));
  });

  it('a masked token or the bare secret matches; another secret does not', () => {
    const [secret, , token] = DJANGO_VECTORS[0];
    expect(does_token_match(token, secret)).toBe(true);
    expect(does_token_match(secret, secret)).toBe(true);
    expect(does_token_match(mask_cipher_secret(DJANGO_VECTORS[1][0]), secret)).toBe(false);
    expect(does_token_match(DJANGO_VECTORS[1][0], secret)).toBe(false);
  });
});

describe('urlsplit and is_same_domain (Python\'s, as the Origin and Referer checks use them)', () => {
  it('splits like urllib.parse.urlsplit', () => {
    expect(urlsplit('HTTPS://Example.com:8443/a/b?x=1#f')).toEqual({ scheme: 'https', netloc: 'Example.com:8443', path: '/a/b', query: 'x=1', fragment: 'f' });
    expect(urlsplit('null')).toEqual({ scheme: '', netloc: '', path: 'null', query: '', fragment: '' });
    expect(urlsplit('//host/p').netloc).toBe('host');
    expect(() => urlsplit('https://[::1/')).toThrow('Invalid IPv6 URL');
    expect(geturl(urlsplit('HTTPS://evil.com/page?q=1'))).toBe('https://evil.com/page?q=1');
  });

  it('matches a domain pattern and its subdomains, or an exact host', () => {
    expect(is_same_domain('example.com', '.example.com')).toBe(true);
    expect(is_same_domain('a.example.com', '.Example.com')).toBe(true);
    expect(is_same_domain('badexample.com', '.example.com')).toBe(false);
    expect(is_same_domain('example.com:8000', 'example.com:8000')).toBe(true);
    expect(is_same_domain('example.com', '')).toBe(false);
  });
});
