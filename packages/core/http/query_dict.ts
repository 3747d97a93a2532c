/** A read-only multi-value mapping (django.http.QueryDict) for GET and POST. */
export class QueryDict implements Iterable<string> {
  readonly #params: URLSearchParams;

  constructor(query: string | URLSearchParams = '') {
    this.#params = typeof query === 'string' ? new URLSearchParams(query) : query;
  }

  /** The last value for the key, as Django's QueryDict.__getitem__ returns. */
  get(key: string): string | undefined;
  get<T>(key: string, fallback: T): string | T;
  get<T>(key: string, fallback?: T): string | T | undefined {
    const all = this.#params.getAll(key);
    return all.length ? all[all.length - 1] : fallback;
  }

  getlist(key: string): string[] {
    return this.#params.getAll(key);
  }

  has(key: string): boolean {
    return this.#params.has(key);
  }

  keys(): string[] {
    return [...new Set(this.#params.keys())];
  }

  items(): Array<[string, string]> {
    return this.keys().map((k) => [k, this.get(k) as string]);
  }

  lists(): Array<[string, string[]]> {
    return this.keys().map((k) => [k, this.getlist(k)]);
  }

  get size(): number {
    return this.keys().length;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  urlencode(): string {
    return this.#params.toString();
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.items());
  }
}
