/**
 * django/urls/resolvers.py for Tango: path() and include() build the URLconf,
 * compile_urlpatterns() flattens it into routes (a regex and a Fastify path
 * each), and resolve() / reverse() answer from it. The compiled ROOT_URLCONF
 * is a memo (memos.ts), forgotten when settings change.
 */
import * as node_path from 'node:path';
import type { HttpRequest } from '../http/request';
import type { HttpResponse } from '../http/response';
import { settings } from '../conf';
import { register_memo } from '../memos';
import { ImproperlyConfigured } from '../errors';
import { get_converter, type Converter } from './converters';

/** A view: the request, then the URL's captured values in route order. */
export type View = (request: HttpRequest, ...args: never[]) => HttpResponse | Promise<HttpResponse>;

export interface URLPattern {
  readonly kind: 'pattern';
  readonly route: string;
  readonly view: View;
  readonly name?: string;
  /** The file that called path(), so errors and checks can say where the route is. */
  readonly source?: string;
}

export interface URLInclude {
  readonly kind: 'include';
  readonly route: string;
  readonly patterns: URLEntry[];
  readonly namespace?: string;
  readonly source?: string;
}

export type URLEntry = URLPattern | URLInclude;

/** A pattern flattened against its include() prefixes, ready for the router. */
export interface CompiledRoute {
  /** The full Django-style route, e.g. `articles/<int:year>/`. */
  route: string;
  /** The same route in find-my-way syntax, for Fastify. */
  fastify_path: string;
  regex: RegExp;
  params: Array<{ name: string; converter: Converter }>;
  view: View;
  name?: string;
}

/** The first file on the stack outside this folder: the URLconf that called path(). */
function caller_file(): string | undefined {
  const stack = new Error().stack ?? '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /(?:\(|^at )((?:[A-Za-z]:)?[^():]+\.[cm]?[jt]s):\d+:\d+\)?$/.exec(line.trim());
    if (m && node_path.dirname(m[1]) !== __dirname) return m[1];
  }
  return undefined;
}

/** django.urls.path */
export function path(route: string, view: View | URLEntry[] | URLInclude, options: { name?: string } = {}): URLEntry {
  const source = caller_file();
  if (typeof view === 'function') return { kind: 'pattern', route, view, name: options.name, source };
  const inner = Array.isArray(view) ? view : view.patterns;
  const namespace = Array.isArray(view) ? undefined : view.namespace;
  return { kind: 'include', route, patterns: inner, namespace, source };
}

/** `route` (and its file, from BASE_DIR when under it) as errors and checks name it. */
export function describe_route(route: string, source: string | undefined): string {
  if (!source) return `'${route}'`;
  const base = settings_base_dir();
  const shown = base && source.startsWith(base + node_path.sep) ? node_path.relative(base, source) : source;
  return `'${route}' in ${shown}`;
}

function settings_base_dir(): string | undefined {
  try {
    return settings.BASE_DIR;
  } catch {
    return undefined;
  }
}

/** django.urls.include: a list of patterns, or a module exporting `urlpatterns`. */
export function include(patterns: URLEntry[] | string | { urlpatterns: URLEntry[] }, namespace?: string): URLInclude {
  let list: URLEntry[];
  if (typeof patterns === 'string') list = load_urlconf(patterns);
  else if (Array.isArray(patterns)) list = patterns;
  else list = patterns.urlpatterns;
  return { kind: 'include', route: '', patterns: list, namespace };
}

export function load_urlconf(spec: string | unknown[], base_dir = settings.BASE_DIR): URLEntry[] {
  if (Array.isArray(spec)) return spec as URLEntry[];
  const file = spec.startsWith('.') || spec.startsWith('/') ? node_path.resolve(base_dir, spec) : resolve_from_base(spec, base_dir);
  const mod = require(file) as { urlpatterns?: URLEntry[]; default?: URLEntry[] };
  const list = mod.urlpatterns ?? mod.default;
  if (!Array.isArray(list)) throw new ImproperlyConfigured(`The URLconf '${spec}' does not export urlpatterns.`);
  return list;
}

function resolve_from_base(spec: string, base_dir: string): string {
  try {
    return require.resolve(spec, { paths: [base_dir] });
  } catch {
    return node_path.resolve(base_dir, spec);
  }
}

/** A `<converter:name>` or `<name>` piece of a route. */
export const PARAM_RE = /<(?:(?<conv>[^>:]+):)?(?<name>[A-Za-z_]\w*)>/g;

function escape_regex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Escapes what find-my-way reads as syntax in a static piece of a path. */
function escape_fastify(s: string): string {
  return s.replace(/:/g, '::');
}

function compile_route(route: string, view: View, name?: string, source?: string): CompiledRoute {
  const params: CompiledRoute['params'] = [];
  let regex = '^/';
  let fastify = '/';
  let last = 0;
  for (const m of route.matchAll(PARAM_RE)) {
    const literal = route.slice(last, m.index);
    regex += escape_regex(literal);
    fastify += escape_fastify(literal);
    const converter = get_converter(m.groups?.conv ?? 'str', () => describe_route(route, source));
    params.push({ name: m.groups!.name, converter });
    regex += `(${converter.regex})`;
    const at_end = (m.index ?? 0) + m[0].length === route.length;
    if (m.groups?.conv === 'path' && at_end) fastify += '*';
    else if ((m.groups?.conv ?? 'str') === 'str') fastify += `:${m.groups!.name}`;
    else fastify += `:${m.groups!.name}(^${converter.regex}$)`;
    last = (m.index ?? 0) + m[0].length;
  }
  regex += `${escape_regex(route.slice(last))}$`;
  fastify += escape_fastify(route.slice(last));
  return { route, fastify_path: fastify, regex: new RegExp(regex), params, view, name };
}

/** Flattens nested include()s into routes, in declaration order (the first match wins). */
export function compile_urlpatterns(entries: URLEntry[], prefix = '', namespace = ''): CompiledRoute[] {
  const out: CompiledRoute[] = [];
  for (const e of entries) {
    if (e.kind === 'pattern') {
      const full = namespace && e.name ? `${namespace}:${e.name}` : e.name;
      out.push(compile_route(prefix + e.route, e.view, full, e.source));
    } else {
      const ns = e.namespace ? (namespace ? `${namespace}:${e.namespace}` : e.namespace) : namespace;
      out.push(...compile_urlpatterns(e.patterns, prefix + e.route, ns));
    }
  }
  return out;
}

export class NoReverseMatch extends Error {
  override name = 'NoReverseMatch';
}

export class Resolver404 extends Error {
  override name = 'Resolver404';
}

let active: CompiledRoute[] | undefined;
// New settings may name another ROOT_URLCONF: forget the compiled one.
register_memo('urls.resolver', () => {
  active = undefined;
}, { settings: true });

export function root_urlconf(): string | unknown[] {
  if (settings.ROOT_URLCONF === undefined) throw new ImproperlyConfigured('ROOT_URLCONF is not set.');
  return settings.ROOT_URLCONF;
}

/** The active URLconf: the one the running app serves, else the compiled ROOT_URLCONF. */
export function get_resolver(): CompiledRoute[] {
  return (active ??= compile_urlpatterns(load_urlconf(root_urlconf())));
}

/** Replaces the active URLconf (the server sets it; tests may too). */
export function set_urlconf(entries: URLEntry[] | undefined): CompiledRoute[] | undefined {
  active = entries ? compile_urlpatterns(entries) : undefined;
  return active;
}

let script_prefix = '/';

/**
 * django.urls.set_script_prefix: where the URLconf is mounted ('' or
 * '/shop'), so reverse() builds '/shop/cart/' for the route 'cart/'. One
 * prefix per process, as one URLconf is active per process.
 */
export function set_script_prefix(prefix: string): void {
  script_prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
}

export function get_script_prefix(): string {
  return script_prefix;
}

/** django.urls.resolve: the matching route and its converted arguments. */
export function resolve(pathname: string, routes = get_resolver()): { route: CompiledRoute; args: unknown[] } {
  for (const route of routes) {
    const m = route.regex.exec(pathname);
    if (m) return { route, args: route.params.map((p, i) => p.converter.to_js(m[i + 1])) };
  }
  throw new Resolver404(`No route matches '${pathname}'.`);
}

/** django.urls.reverse: `args` positional (route order) or by name. */
export function reverse(name: string, args: unknown[] | Record<string, unknown> = [], routes = get_resolver()): string {
  for (const r of routes) {
    if (r.name !== name) continue;
    const values = Array.isArray(args) ? args : r.params.map((p) => args[p.name]);
    if (values.length !== r.params.length || values.some((v) => v === undefined)) continue;
    let i = 0;
    const url = `/${r.route.replace(PARAM_RE, () => r.params[i].converter.to_url(values[i++]))}`;
    if (r.regex.test(url)) return script_prefix === '/' ? url : script_prefix + url.slice(1);
  }
  throw new NoReverseMatch(`Reverse for '${name}' not found with arguments ${JSON.stringify(args)}.`);
}
