/**
 * django.contrib.sessions.backends.signed_cookies: the cookie value *is* the
 * session, signing.dumps(data, salt=…signed_cookies, compress=True) signed
 * with SECRET_KEY. Nothing is stored server-side, so set_expiry() is not
 * enforced here beyond the cookie's own Max-Age (Django ticket #19201): only
 * the signature's age against SESSION_COOKIE_AGE is checked.
 */
import { settings } from '@tango/core/conf';
import { dumps_with_data, loads } from '@tango/core/signing';
import { SessionBase } from '../base';
import { is_plain_object, new_dict, type SessionDict } from '../session_dict';
import { serialize_session } from '../store_io';
import { SessionCookieTooLarge } from '../exceptions';

const SALT = 'django.contrib.sessions.backends.signed_cookies';

/**
 * Browsers keep at most 4096 bytes of name=value plus attributes; a longer
 * cookie is dropped silently. 4093 leaves room for the name and '='.
 */
export const MAX_COOKIE_VALUE_BYTES = 4093;

export class SessionStore extends SessionBase {
  /** The key is the signed data itself (any characters), checked by its signature: Django's rule, `len(key) >= 8`. */
  protected override _validate_session_key(key: string): boolean {
    // 16 UTF-16 units hold at least 8 code points: only short keys need counting.
    return key.length >= 16 || [...key].length >= 8;
  }

  /** Any failure (bad signature, expired, bad payload) resets to an empty session that will be re-issued. */
  async load(): Promise<SessionDict> {
    const data = this.#cookie_data();
    if (data !== undefined) return data;
    await this.create();
    return new_dict();
  }

  /** The data in the cookie, or undefined when its signature, age or payload is bad. */
  #cookie_data(): SessionDict | undefined {
    try {
      const data = loads(this.session_key ?? '', { salt: SALT, max_age: this.get_session_cookie_age() });
      if (is_plain_object(data)) return new_dict(data);
    } catch {
      // Django catches every exception here
    }
    return undefined;
  }

  /** Nothing to reserve: the next save() makes the cookie. */
  override async create(): Promise<void> {
    this.modified = true;
  }

  /** The key becomes the freshly signed data (a new timestamp every time). */
  override async save(_must_create = false): Promise<void> {
    await this.preload();
    const session = this._get_session();
    const { value, data } = serialize_session(() => dumps_with_data(session, { salt: SALT, compress: true }));
    // load() refuses a cookie that inflates past SIGNING_MAX_DECOMPRESSED_SIZE: such a
    // cookie would be lost on the next request, so it is never issued.
    const inflate_limit = settings.SIGNING_MAX_DECOMPRESSED_SIZE;
    if (inflate_limit !== null && data.length > inflate_limit) {
      throw new SessionCookieTooLarge(data.length, inflate_limit,
        `The session data is ${data.length} bytes of JSON, over SIGNING_MAX_DECOMPRESSED_SIZE (${inflate_limit})`);
    }
    const size = Buffer.byteLength(value);
    if (size > MAX_COOKIE_VALUE_BYTES) throw new SessionCookieTooLarge(size, MAX_COOKIE_VALUE_BYTES);
    this._session_key = value;
    this.modified = true;
  }

  /** Keys never collide: every key is its own data. */
  async exists(_session_key: string): Promise<boolean> {
    return false;
  }

  async delete_session(_session_key?: string | null): Promise<void> {
    this._session_key = '';
    this._session_cache = new_dict();
    this.modified = true;
  }

  override async cycle_key(): Promise<void> {
    await this.save();
  }

  /** The browser discards expired cookies; there is nothing to clear. */
  static override async clear_expired(): Promise<number> {
    return 0;
  }
}
