/** django.views.decorators.csrf.csrf_exempt: CsrfViewMiddleware lets every request to the view through (kept apart from the other CSRF decorators, which need the middleware module, so that module can import this one). */

type AnyView = (...args: never[]) => unknown;

/** Marks a view as exempt from the CSRF check; the view itself is left unchanged (Django wraps it the same way). */
export function csrf_exempt<V extends AnyView>(view: V): V & { csrf_exempt: true } {
  const wrapped = function (this: unknown, ...args: Parameters<V>): ReturnType<V> {
    return view.apply(this, args) as ReturnType<V>;
  };
  Object.defineProperty(wrapped, 'name', { value: view.name });
  return Object.assign(wrapped, { csrf_exempt: true as const }) as unknown as V & { csrf_exempt: true };
}

export function is_csrf_exempt(view: unknown): boolean {
  return typeof view === 'function' && (view as { csrf_exempt?: unknown }).csrf_exempt === true;
}
