/**
 * `request.session['user_id'] = 'zhiliao'`: bracket access to the session's
 * data, as views get it from SessionMiddleware. The session object itself is
 * a plain class instance (its state in #private fields, its methods running
 * on it); this wraps it in a Proxy whose traps turn a key the session does not
 * have into get/set/delete of the data. Methods read through the proxy come
 * back bound to the session, so they never run with the proxy as `this`.
 * Nothing unwraps a proxy: SessionMiddleware keeps the session it wrapped and
 * works on that, and other code uses the public API, which the proxy passes
 * on. Which keys compile
 * is up to the SessionData interface (@tango/core/http/session_api).
 */
import type { Session } from '@tango/core/http/session_api';
import type { SessionBase } from './base';

// Names that runtimes and test tools probe on any object (thenables, JSON,
// jest's matchers and printers). They must not read as session keys, or
// `await request.session` or a failing expect() would touch the session.
const PROBED = new Set(['then', 'toJSON', 'asymmetricMatch', 'nodeType', 'tagName', 'inspect', '_isMockFunction', 'getMockName']);

type Method = (...args: never[]) => unknown;
type Slots = Record<string | symbol, unknown>;

/**
 * The names a session's class chain defines (methods, accessors, and
 * Object.prototype's), per prototype: what `prop in target` answers for them,
 * found without a has-lookup per access (bench/NOTES.md, "the contrib stack"). Names
 * the instance itself holds are still asked with `in`.
 */
const class_names = new WeakMap<object, Set<string>>();

function names_of(target: object): Set<string> {
  const proto = Object.getPrototypeOf(target) as object;
  let names = class_names.get(proto);
  if (names === undefined) {
    names = new Set();
    for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
      for (const name of Object.getOwnPropertyNames(p)) names.add(name);
    }
    class_names.set(proto, names);
  }
  return names;
}

/** `session` with bracket access to its data. */
export function with_bracket_access(session: SessionBase): Session {
  const api = names_of(session);
  const is_api = (target: SessionBase, prop: string | symbol): boolean =>
    typeof prop === 'symbol' || api.has(prop) || prop in target;
  // Per proxy, so that `request.session.get === request.session.get` holds; a replaced method (a test's spy) is seen.
  let bound: Map<string | symbol, { fn: Method; bound: Method }> | undefined;
  const handler: ProxyHandler<SessionBase> = {
    get(target, prop) {
      if (!is_api(target, prop) && !PROBED.has(prop as string) && !(prop as string).startsWith('@@') && !(prop as string).startsWith('$$')) {
        return target.get(prop as string);
      }
      const value = (target as unknown as Slots)[prop];
      if (typeof value !== 'function' || prop === 'constructor') return value;
      bound ??= new Map();
      let entry = bound.get(prop);
      if (entry === undefined || entry.fn !== value) {
        entry = { fn: value as Method, bound: (value as Method).bind(target) };
        bound.set(prop, entry);
      }
      return entry.bound;
    },
    set(target, prop, value) {
      if (is_api(target, prop)) {
        // `session['items'] = x` would silently replace a method and store nothing
        // (replacing a method with another function, as tests and mocks do, is fine).
        if (typeof prop === 'string' && typeof (target as unknown as Slots)[prop] === 'function' && typeof value !== 'function') {
          throw new TypeError(`'${prop}' is a session method, not a key: use session.set('${prop}', value).`);
        }
        (target as unknown as Slots)[prop] = value;
        return true;
      }
      target.set(prop as string, value as never);
      return true;
    },
    deleteProperty(target, prop) {
      if (is_api(target, prop)) return Reflect.deleteProperty(target, prop);
      target.delete(prop as string);
      return true;
    },
  };
  return new Proxy(session, handler) as unknown as Session;
}
