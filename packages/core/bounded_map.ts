/**
 * Caches that hold one entry per secret, salt or record must not grow without
 * limit: set_bounded drops the oldest entry (first set) once `limit` are held.
 *
 * The order is kept beside the Map rather than read from it. A Map deletes by
 * leaving a hole, and its iteration starts at the oldest slot, so taking
 * `keys().next()` after each eviction walked over every hole left so far,
 * thousands of them in a full 4,096-record cache. Measured: bench/NOTES.md.
 */
interface Order {
  keys: unknown[];
  /** keys[head] is the oldest key not yet evicted. */
  head: number;
}

const orders = new WeakMap<Map<unknown, unknown>, Order>();

export function set_bounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (!map.has(key)) {
    let order = orders.get(map as Map<unknown, unknown>);
    if (order === undefined) orders.set(map as Map<unknown, unknown>, (order = { keys: [...map.keys()], head: 0 }));
    while (map.size >= limit && map.size > 0) {
      // A key deleted or cleared by someone else is skipped; keys set without
      // set_bounded are not in the order, and go by the Map's own.
      if (order.head < order.keys.length) map.delete(order.keys[order.head++] as K);
      else map.delete(map.keys().next().value as K);
    }
    order.keys.push(key);
    // Drop the evicted prefix now and then, so the order stays about `limit` long.
    if (order.head >= 1024 && order.head * 2 >= order.keys.length) {
      order.keys = order.keys.slice(order.head);
      order.head = 0;
    }
  }
  map.set(key, value);
}

/** The value under `key`, made with `make` and set_bounded when there is none. */
export function get_or_set_bounded<K, V>(map: Map<K, V>, key: K, limit: number, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) set_bounded(map, key, (value = make()), limit);
  return value;
}
