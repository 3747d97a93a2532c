/**
 * `client.session()`: django.test.Client.session for Tango. The store of the
 * client's session cookie (or a new, saved one whose cookie is put in the
 * jar), so a test can read what views stored and pre-set data before a
 * request. @tango/sessions is required only when this is called: core does
 * not depend on it, and an app without sessions never loads it.
 */
import type { SessionBase } from '@tango/sessions';
import { settings } from '../conf';
import { cookie_quote } from '../http/cookies';
import type { CookieJar } from './cookie_jar';

type EngineModule = typeof import('@tango/sessions/engine');

/** Writes the store's current key to the jar (or removes the cookie when it has none), as the middleware's response would. */
function sync_cookie(jar: CookieJar, store: SessionBase): void {
  const name = settings.SESSION_COOKIE_NAME;
  jar.delete(name);
  if (store.session_key) jar.set(name, cookie_quote(store.session_key), settings.SESSION_COOKIE_PATH);
}

/**
 * Django's test client hands back a store whose later save() changes nothing
 * in the client when the key changes (always, with signed cookies). Here the
 * methods that can change the key also update the jar, so the next request
 * carries what the test saved.
 */
function follow_key_changes(jar: CookieJar, store: SessionBase): void {
  for (const method of ['save', 'flush', 'cycle_key'] as const) {
    const original = store[method].bind(store) as (...args: unknown[]) => Promise<void>;
    Object.defineProperty(store, method, {
      configurable: true,
      value: async (...args: unknown[]) => {
        await original(...args);
        sync_cookie(jar, store);
      },
    });
  }
}

export async function session_for(jar: CookieJar): Promise<SessionBase> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { get_session_store_class } = require('@tango/sessions/engine') as EngineModule;
  const SessionStore = get_session_store_class();
  const cookie = jar.get(settings.SESSION_COOKIE_NAME);
  let store: SessionBase;
  if (cookie) {
    store = new SessionStore(cookie.value);
    // Reads are synchronous; load the data now, as SessionMiddleware does before a view.
    await store.preload();
  } else {
    // As Django's Client.session: a new session is saved at once, so its key is real.
    store = new SessionStore();
    await store.save();
    sync_cookie(jar, store);
  }
  follow_key_changes(jar, store);
  return store;
}
