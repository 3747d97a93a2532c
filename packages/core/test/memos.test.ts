/**
 * The registry of process-wide memos (packages/core/memos.ts): every module
 * that keeps something between requests registers it, forget_all() forgets
 * them all, and configuring settings forgets those derived from settings.
 */
import { configure, override_settings } from '../conf';
import { forget_all, memo_names, register_memo } from '../memos';
import { get_cache } from '../cache';
import { signing } from '..';
import '../http/hosts';
import '../http/headers';
import '../http/signed_cookies';
import '../middleware/csrf';
import '../db_statements';
import '../timezone';
import '../crypto';
import '../urls/resolvers';

describe('memos', () => {
  beforeEach(() => {
    configure({ SECRET_KEY: 'memos-test-secret' });
  });

  it('lists the memos of the core modules', () => {
    expect(memo_names()).toEqual(expect.arrayContaining([
      'cache.locmem', 'crypto.known_hashes', 'db_statements.sqlite_prepared',
      'http.hosts.allowed_hosts', 'http.signed_cookies.prefixed_keys', 'middleware.csrf.failure_view',
      'middleware.csrf.trusted_origins', 'signing.derived_keys', 'timezone.formatters', 'timezone.http_date',
      'timezone.offsets', 'urls.resolver',
    ]));
  });

  it('forget_all() forgets every memo; configure() only those derived from settings', async () => {
    const forgotten: string[] = [];
    register_memo('test.plain', () => forgotten.push('plain'));
    register_memo('test.from_settings', () => forgotten.push('from_settings'), { settings: true });

    configure({ SECRET_KEY: 'another-secret' });
    expect(forgotten).toEqual(['from_settings']);
    await override_settings({ DEBUG: true }, () => undefined);
    // Once on entry, once on restoring the old settings.
    expect(forgotten).toEqual(['from_settings', 'from_settings', 'from_settings']);

    forgotten.length = 0;
    forget_all();
    expect(forgotten.sort()).toEqual(['from_settings', 'plain']);
  });

  it('a module evaluated again registers its memo in place of the old one', () => {
    const calls: string[] = [];
    register_memo('test.again', () => calls.push('old'));
    register_memo('test.again', () => calls.push('new'));
    forget_all();
    expect(calls).toEqual(['new']);
    expect(memo_names().filter((n) => n === 'test.again')).toHaveLength(1);
  });

  it('forget_all() empties the locmem caches, as a restart would', async () => {
    const cache = get_cache();
    await cache.set('k', 'v');
    expect(await cache.get('k')).toBe('v');
    forget_all();
    expect(await cache.get('k')).toBeUndefined();
  });

  it('signing still works after forget_all() (memos are only recomputed)', () => {
    const signed = signing.dumps({ a: 1 });
    forget_all();
    expect(signing.loads(signed)).toEqual({ a: 1 });
  });
});
