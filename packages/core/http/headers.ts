/** Case-insensitive response headers that keep the spelling they were set with (Django's ResponseHeaders). */
export class ResponseHeaders implements Iterable<[string, string]> {
  private readonly map = new Map<string, [string, string]>();

  constructor(init?: Record<string, string>) {
    if (init) for (const [k, v] of Object.entries(init)) this.set(k, v);
  }

  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.[1];
  }

  set(name: string, value: string | number): void {
    const v = String(value);
    // Header injection: a CR or LF would end the header and start another.
    if (/[\r\n]/.test(v) || /[\r\n:]/.test(name)) {
      throw new TypeError(`Header values can't contain newlines: '${name}'`);
    }
    this.map.set(name.toLowerCase(), [name, v]);
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  delete(name: string): boolean {
    return this.map.delete(name.toLowerCase());
  }

  get size(): number {
    return this.map.size;
  }

  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const pair of this.map.values()) yield pair;
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this);
  }
}
