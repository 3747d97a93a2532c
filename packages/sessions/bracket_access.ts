/**
 * `request.session['user_id'] = 'zhiliao'`: bracket access to the session's
 * data, as views get it from SessionMiddleware. The session object itself is
 * a plain class instance (its state in #private fields, its methods running
 * on it); this wraps it in a Proxy whose traps turn a key the session does not
 * have into get/set/delete of the data. Methods read through the proxy come
 * back bound to the session, so they never run with the proxy as `this`. The
 * framework never needs the session back from the proxy: everything it does
 * goes through the public API, which the proxy passes on. Which keys compile
 * is up to the SessionData interface (@tango/core/http/session_api).
 */
import type { Session } from '@tango/core/http/session_api';
import type { SessionBase } from './base';

// Names that runtimes and test tools probe on any object (thenables, JSON,
// jest's matchers and printers). They must not read as session keys, or
// `await request.session` or a failing expect() would touch the session.
const PROBED = new Set(['then', 'toJSON', 'asymmetricMatch', 'nodeType', 'tagName', 'inspect', '_isMockFunction', 'getMockName']);

type Method = (...args: never[]) => unknown;

/** `session` with bracket access to its data. */
export function with_bracket_access(session: SessionBase): Session {
  // Per proxy, so that `request.session.get === request.session.get` holds; a replaced method (a test's spy) is seen.
  const bound = new Map<string | symbol, { fn: Method; bound: Method }>();
  const handler: ProxyHandler<SessionBase> = {
    get(target, prop) {
      if (typeof prop === 'string' && !(prop in target) && !PROBED.has(prop) && !prop.startsWith('@@') && !prop.startsWith('$$')) {
        return target.get(prop);
      }
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      let entry = bound.get(prop);
      if (entry === undefined || entry.fn !== value) {
        entry = { fn: value as Method, bound: (value as Method).bind(target) };
        bound.set(prop, entry);
      }
      return entry.bound;
    },
    set(target, prop, value) {
      if (typeof prop === 'symbol') return Reflect.set(target, prop, value, target);
      if (prop in target) {
        // `session['items'] = x` would silently replace a method and store nothing
        // (replacing a method with another function, as tests and mocks do, is fine).
        if (typeof Reflect.get(target, prop, target) === 'function' && typeof value !== 'function') {
          throw new TypeError(`'${prop}' is a session method, not a key: use session.set('${prop}', value).`);
        }
        return Reflect.set(target, prop, value, target);
      }
      target.set(prop, value as never);
      return true;
    },
    deleteProperty(target, prop) {
      if (typeof prop === 'symbol' || prop in target) return Reflect.deleteProperty(target, prop);
      target.delete(prop);
      return true;
    },
  };
  return new Proxy(session, handler) as unknown as Session;
}
