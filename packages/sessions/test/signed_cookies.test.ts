/**
 * The signed_cookies engine: the contract, then what only it does
 * (django/contrib/sessions/backends/signed_cookies.py; CookieSessionTests).
 */
import { configure } from '../../core/conf';
import { freeze_time } from '../../core/clock';
import { dumps } from '../../core/signing';
import { SessionStore, MAX_COOKIE_VALUE_BYTES } from '../backends/signed_cookies';
import { SessionCookieTooLarge } from '../exceptions';
import { describe_session_engine, TEST_SECRET_KEY } from './contract';

describe_session_engine('signed_cookies', { settings: { SESSION_ENGINE: 'signed_cookies' } }, { server_side: false });

describe('signed_cookies specifics', () => {
  let unfreeze: () => void;
  beforeAll(() => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
  });
  beforeEach(() => {
    unfreeze = freeze_time(1700000000 * 1000);
  });
  afterEach(() => unfreeze());

  it("the cookie value is Django's (69)", async () => {
    const s = new SessionStore();
    s.set('foo', 'bar');
    await s.save();
    expect(s.session_key).toBe('eyJmb28iOiJiYXIifQ:1r31eq:G3nF-6A7umrTwVW9UaDse_hl3e5_malOOkXed7pMs4g');
  });

  it('reads a cookie Django wrote, compressed included', async () => {
    const django = '.eJyrVopPLC3JiC8tTi2Kz0xRslIyVNJBFktKTM5OzQNJpGQl5qXn6yXn55UUZSbpgZToQWWL9XzzU1JznKBqUQzISCzOAOo2oBAo1QIAIvYyTQ:1r31eq:P111lGRLswbkO3-6PVGqLoonxdnlFAZ7tdfbaGm7Tg4';
    const s = new SessionStore(django);
    await s.preload();
    expect(s.get('_auth_user_id')).toBe('1');
    expect(s.get('_auth_user_hash')).toBe('0'.repeat(64));
    expect(s.modified).toBe(false);
  });

  it('preload reads a good cookie; a tampered one is re-issued', async () => {
    const good = dumps({ foo: 'bar' }, { salt: 'django.contrib.sessions.backends.signed_cookies', compress: true });
    const s = new SessionStore(good);
    await s.preload();
    expect(s.get('foo')).toBe('bar');
    expect(s.modified).toBe(false);

    const tampered = new SessionStore(`${good.slice(0, -2)}$$`);
    await tampered.preload();
    expect(tampered.get('foo')).toBeUndefined();
    expect(tampered.modified).toBe(true);
  });

  it('exists() is always false and clear_expired() is a no-op (68)', async () => {
    const s = new SessionStore();
    await s.save();
    expect(await s.exists(s.session_key as string)).toBe(false);
    await expect(SessionStore.clear_expired()).resolves.toBe(0);
  });

  it('a tampered cookie reads as an empty session that will be re-issued (70)', async () => {
    const good = dumps({ foo: 'bar' }, { salt: 'django.contrib.sessions.backends.signed_cookies', compress: true });
    const tampered = `${good.slice(0, -2)}$$`;
    const s = new SessionStore(tampered);
    await s.preload();
    // Nothing happens until the view reads the session (Django loads lazily).
    expect(s.modified).toBe(false);
    expect(s.get('foo')).toBeUndefined();
    expect(s.modified).toBe(true);
    expect(s.session_key).toBe(tampered);
    expect(s.is_empty()).toBe(false);
    await s.save();
    expect(s.session_key).toBe('e30:1r31eq:VMwq3uKQkm83gHB6Vayw68powzmqz4sf75l_yKJlC-I');
  });

  it('an expired cookie reads as empty', async () => {
    const old = dumps({ foo: 'bar' }, { salt: 'django.contrib.sessions.backends.signed_cookies', compress: true });
    unfreeze();
    unfreeze = freeze_time((1700000000 + 1209601) * 1000);
    const s = new SessionStore(old);
    await s.preload();
    expect(s.get('foo')).toBeUndefined();
    expect(s.modified).toBe(true);
  });

  it('a cookie at the age limit still reads', async () => {
    const old = dumps({ foo: 'bar' }, { salt: 'django.contrib.sessions.backends.signed_cookies', compress: true });
    unfreeze();
    unfreeze = freeze_time((1700000000 + 1209600) * 1000);
    const s = new SessionStore(old);
    await s.preload();
    expect(s.get('foo')).toBe('bar');
  });

  it('a value signed for another purpose (salt) is refused', async () => {
    const other = dumps({ foo: 'bar' }, { salt: 'django.contrib.sessions.SessionStore', compress: true });
    const s = new SessionStore(other);
    await s.preload();
    expect(s.get('foo')).toBeUndefined();
  });

  it('a signed non-object payload reads as empty', async () => {
    const list = dumps([1, 2], { salt: 'django.contrib.sessions.backends.signed_cookies' });
    const s = new SessionStore(list);
    await s.preload();
    expect(s.items()).toEqual([]);
  });

  it('save() refuses a cookie over the size limit and keeps the old key', async () => {
    const s = new SessionStore();
    s.set('small', 1);
    await s.save();
    const key = s.session_key;
    // Random data does not compress.
    s.set('big', require('node:crypto').randomBytes(4000).toString('base64'));
    const err = await s.save().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionCookieTooLarge);
    expect((err as SessionCookieTooLarge).code).toBe('TANGO_SESSION_COOKIE_TOO_LARGE');
    expect((err as SessionCookieTooLarge).size).toBeGreaterThan(MAX_COOKIE_VALUE_BYTES);
    expect(s.session_key).toBe(key);
  });

  it('a session that compresses under the limit is accepted', async () => {
    const s = new SessionStore();
    s.set('big', 'a'.repeat(20000));
    await s.save();
    expect(Buffer.byteLength(s.session_key as string)).toBeLessThanOrEqual(MAX_COOKIE_VALUE_BYTES);
    const again = new SessionStore(s.session_key);
    await again.preload();
    expect(again.get('big')).toBe('a'.repeat(20000));
  });

  it('delete_session() empties the session and clears the key', async () => {
    const s = new SessionStore();
    s.set('x', 1);
    await s.save();
    await s.delete_session();
    expect(s.session_key).toBeNull();
    expect(s.items()).toEqual([]);
    expect(s.modified).toBe(true);
  });
});
