/**
 * @tango/core/cache, Django's django.core.cache: get_cache(alias) and the
 * Cache it returns. base.ts holds Cache, caches.ts the CACHES resolver, and
 * locmem.ts, redis.ts and memcached.ts one store each.
 */
export { Cache, CacheVersion, type CasFailure } from './base';
export { close_caches, get_cache, InvalidCacheBackendError } from './caches';
