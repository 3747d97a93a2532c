/** @tango/core/urls, as django.urls: path(), include(), reverse(), resolve() and the converters. */
export {
  path, include, reverse, resolve, compile_urlpatterns, get_resolver, set_urlconf, load_urlconf, NoReverseMatch, Resolver404,
  get_script_prefix, set_script_prefix,
} from './resolvers';
export type { View, URLEntry, URLPattern, URLInclude, CompiledRoute } from './resolvers';
export { register_converter, DEFAULT_CONVERTERS } from './converters';
export type { Converter } from './converters';
