/**
 * django/core/cache/backends/locmem.py as a Keyv store: an in-process LRU map
 * with TTLs, culled as Django culls (MAX_ENTRIES 300, CULL_FREQUENCY 3), and
 * shared by every cache with the same LOCATION, as Django shares it.
 */
import type { CacheSettings } from '../conf';
import { CacheVersion, type CasFailure, type Store } from './base';
import { locations, num, options } from './entry';
import { register_memo } from '../memos';

interface LocMemEntry {
  value: string;
  expires_at: number | null;
}

/** django.core.cache.backends.locmem.LocMemCache as a Keyv store: LRU order, TTLs, culling. */
class LocMemStore implements Store {
  readonly opts = { dialect: 'locmem' };
  namespace?: string;
  readonly #entries = new Map<string, LocMemEntry>();

  readonly #max_entries: number;
  readonly #cull_frequency: number;

  constructor(max_entries: number, cull_frequency: number) {
    this.#max_entries = max_entries;
    this.#cull_frequency = cull_frequency;
  }

  // Keyv subscribes to store errors; an in-process map has none to report.
  on(): this {
    return this;
  }

  #k(key: string): string {
    return this.namespace ? `${this.namespace}:${key}` : key;
  }

  #live(k: string): LocMemEntry | undefined {
    const e = this.#entries.get(k);
    if (e && e.expires_at !== null && e.expires_at <= Date.now()) {
      this.#entries.delete(k);
      return undefined;
    }
    return e;
  }

  #put(k: string, value: string, ttl_ms: number | undefined): void {
    this.#entries.delete(k);
    if (this.#entries.size >= this.#max_entries) this.#cull();
    this.#entries.set(k, { value, expires_at: ttl_ms ? Date.now() + ttl_ms : null });
  }

  // Django's _cull: drop the least recently used 1/CULL_FREQUENCY (all of it for 0).
  #cull(): void {
    if (this.#cull_frequency === 0) {
      this.#entries.clear();
      return;
    }
    let count = Math.floor(this.#entries.size / this.#cull_frequency);
    for (const k of this.#entries.keys()) {
      if (count-- <= 0) break;
      this.#entries.delete(k);
    }
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const k = this.#k(key);
    const e = this.#live(k);
    if (!e) return undefined;
    this.#entries.delete(k);
    this.#entries.set(k, e);
    return e.value as Value;
  }

  async set(key: string, value: string, ttl?: number): Promise<void> {
    this.#put(this.#k(key), value, ttl);
  }

  // add, gets, cas and replace never await between looking and writing: on one
  // event loop, that makes each of them atomic.
  async add(key: string, serialized: string, ttl_ms: number | undefined): Promise<boolean> {
    const k = this.#k(key);
    if (this.#live(k)) return false;
    this.#put(k, serialized, ttl_ms);
    return true;
  }

  async gets(key: string): Promise<CacheVersion | undefined> {
    const value = await this.get<string>(key);
    return value === undefined ? undefined : new CacheVersion(value);
  }

  async cas(key: string, expected: CacheVersion, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | CasFailure> {
    const k = this.#k(key);
    const e = this.#live(k);
    if (!e) return 'gone';
    if (e.value !== expected.serialized) return 'conflict';
    this.#put(k, serialized, ttl_ms);
    return new CacheVersion(serialized);
  }

  async replace(key: string, serialized: string, ttl_ms: number | undefined): Promise<CacheVersion | null> {
    const k = this.#k(key);
    if (!this.#live(k)) return null;
    this.#put(k, serialized, ttl_ms);
    return new CacheVersion(serialized);
  }

  async delete(key: string): Promise<boolean> {
    return this.#entries.delete(this.#k(key));
  }

  async has(key: string): Promise<boolean> {
    return this.#live(this.#k(key)) !== undefined;
  }

  /** Drops every entry, whatever its namespace. */
  clear_all(): void {
    this.#entries.clear();
  }

  async clear(): Promise<void> {
    if (!this.namespace) {
      this.#entries.clear();
      return;
    }
    for (const k of [...this.#entries.keys()]) if (k.startsWith(`${this.namespace}:`)) this.#entries.delete(k);
  }
}

// Django shares a LocMemCache between instances with the same LOCATION.
const locmem_stores = new Map<string, LocMemStore>();
register_memo('cache.locmem', () => {
  for (const store of locmem_stores.values()) store.clear_all();
});

export function make_locmem(entry: CacheSettings): Store {
  const name = locations(entry)[0] ?? '';
  let store = locmem_stores.get(name);
  if (!store) {
    const o = options(entry);
    store = new LocMemStore(num(o.MAX_ENTRIES, 300), num(o.CULL_FREQUENCY, 3));
    locmem_stores.set(name, store);
  }
  return store;
}
