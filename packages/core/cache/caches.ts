/**
 * django.core.cache.caches for Tango: `get_cache(alias)` builds a Cache from
 * settings.CACHES[alias] once per alias, with the store its BACKEND names
 * ('locmem', 'redis', 'memcached'; see the modules beside this file), and
 * drops (and closes) them all when settings change or the server stops.
 */
import { settings, on_settings_changed } from '../conf';
import { cache_backend_kind } from '../conf/schema';
import { ImproperlyConfigured } from '../errors';
import { on_shutdown } from '../shutdown';
import { Cache } from './base';
import { DEFAULT_TIMEOUT_S } from './entry';
import { make_locmem } from './locmem';
import { make_memcached } from './memcached';
import { make_redis } from './redis';

/** Django's InvalidCacheBackendError: the alias is not in settings.CACHES. */
export class InvalidCacheBackendError extends ImproperlyConfigured {}

function build(alias: string): Cache {
  const entry = settings.CACHES[alias];
  if (!entry) throw new InvalidCacheBackendError(`The connection '${alias}' doesn't exist.`);
  const backend = cache_backend_kind(entry.BACKEND) ?? entry.BACKEND;
  const store = backend === 'redis' ? make_redis(alias, entry) : backend === 'memcached' ? make_memcached(alias, entry) : make_locmem(entry);
  const timeout_s = entry.TIMEOUT ?? DEFAULT_TIMEOUT_S;
  return new Cache(alias, backend, store, { default_ttl_ms: timeout_s * 1000, key_prefix: entry.KEY_PREFIX || undefined });
}

const instances = new Map<string, Cache>();

on_settings_changed(() => {
  const old = [...instances.values()];
  instances.clear();
  for (const c of old) void c.close().catch(() => undefined);
});

/** The cache for `alias` from settings.CACHES, built on first use. */
export function get_cache(alias = 'default'): Cache {
  let cache = instances.get(alias);
  if (!cache) {
    cache = build(alias);
    instances.set(alias, cache);
  }
  return cache;
}

/** Disconnects every cache built so far (end of tests, server shutdown). */
export async function close_caches(): Promise<void> {
  const all = [...instances.values()];
  instances.clear();
  await Promise.all(all.map((c) => c.close().catch(() => undefined)));
}

// A graceful stop (serve, runserver) closes the cache clients.
on_shutdown(close_caches);
