/**
 * Type-level tests of request.session, checked by `npm run typecheck` (tsc),
 * never run: each `@ts-expect-error` fails the typecheck if the line below
 * it compiles, so a typo that slips through the types breaks the build.
 */
import type { HttpRequest } from '@tango/core';

declare module '@tango/sessions' {
  interface SessionData {
    /** Declared here only, for these checks. */
    typed_cart_size?: number;
  }
}

export function typed_session_checks(request: HttpRequest): void {
  const session = request.session;

  // Declared keys: brackets read and write them, with their declared type.
  session['typed_cart_size'] = 3;
  const size: number | undefined = session['typed_cart_size'];
  const from_get: number | undefined = session.get('typed_cart_size');
  session.set('typed_cart_size', (size ?? 0) + (from_get ?? 0));

  // The flags and the API are typed too.
  session.modified = true;
  const accessed: boolean = session.accessed;

  // @ts-expect-error a misspelt flag is not a session key
  session.modifed = true;

  // @ts-expect-error an undeclared key is not reachable with brackets
  session['typed_cart_sise'] = 3;

  // @ts-expect-error a declared key keeps its type through set()
  session.set('typed_cart_size', 'three');

  // @ts-expect-error ...and through brackets
  session['typed_cart_size'] = 'three';

  // @ts-expect-error the key is read-only, as in Django
  session.session_key = 'abc';

  // get()/set() still take any string key, as Django's dict does; its value is unknown until checked.
  session.set('any_key', { nested: [1, 2] });
  const unknown_value: unknown = session.get('any_key');
  void accessed;
  void unknown_value;
}
