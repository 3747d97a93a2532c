/**
 * Caches that hold one entry per secret, salt or record must not grow without
 * limit. A Map iterates in insertion order, so its first key is the oldest
 * entry: dropping it first is FIFO eviction at no extra bookkeeping.
 */
export function set_bounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (map.size >= limit && !map.has(key)) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
