import { ImproperlyConfigured } from '../errors';

/**
 * Path converters (django.urls.converters). `regex` matches one URL piece;
 * `to_js` turns it into the view argument; `to_url` renders it for reverse().
 */
export interface Converter {
  regex: string;
  to_js(value: string): unknown;
  to_url(value: unknown): string;
}

const identity: Pick<Converter, 'to_js' | 'to_url'> = {
  to_js: (v) => v,
  to_url: (v) => String(v),
};

export const DEFAULT_CONVERTERS: Record<string, Converter> = {
  int: { regex: '[0-9]+', to_js: (v) => Number.parseInt(v, 10), to_url: (v) => String(v) },
  str: { regex: '[^/]+', ...identity },
  slug: { regex: '[-a-zA-Z0-9_]+', ...identity },
  uuid: { regex: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', ...identity },
  path: { regex: '.+', ...identity },
};

const registered: Record<string, Converter> = { ...DEFAULT_CONVERTERS };

/** django.urls.register_converter */
export function register_converter(converter: Converter, type_name: string): void {
  if (type_name in registered) throw new Error(`Converter '${type_name}' is already registered.`);
  registered[type_name] = converter;
}

/** `route` describes the route for the error (django.urls.resolvers._route_to_regex's message). */
export function get_converter(name: string, route?: () => string): Converter {
  const c = registered[name];
  if (!c) {
    const known = Object.keys(registered).join(', ');
    throw new ImproperlyConfigured(`URL route ${route ? `${route()} ` : ''}uses invalid converter '${name}' (known converters: ${known}; add one with register_converter()).`);
  }
  return c;
}

export function is_registered_converter(name: string): boolean {
  return name in registered;
}
