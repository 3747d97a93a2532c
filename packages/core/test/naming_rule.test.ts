/**
 * The naming rule `npm run lint` enforces (scripts/check_names.ts): what it
 * refuses and what it lets through, on small sources.
 */
import { check_source } from '../../../scripts/check_names';

function names(text: string): string[] {
  return check_source('sample.ts', text).map((v) => `${v.name}: ${v.why}`);
}

describe('the naming rule', () => {
  it('accepts Django-style names', () => {
    expect(names(`
      const MAX_ENTRIES = 300;
      const KeyvRedis = require('@keyv/redis');
      export function get_signed_cookie(request_path: string, _unused: number): string { return request_path; }
      export function require_GET(view: unknown): unknown { return view; }
      interface StoreOptions { connectTimeout: number }
      type Version = string;
      class SessionStore {
        readonly GET = 1;
        #cache = new Map<string, string>();
        constructor(readonly session_key: string) {}
        _get_session_key(): string { return this.session_key; }
        cycle_key(): void { this.#cache.clear(); }
        override toString(): string { return 'x'; }
        getMigrations(): string[] { return []; }
      }
      const options = { disableOfflineQueue: true };
      const { createClient: create_client } = options as never;
    `)).toEqual([]);
  });

  it('refuses camelCase functions, methods, variables and parameters', () => {
    expect(names(`
      function getCookie(maxAge: number): void {}
      const requestPath = '/';
      class Jar { setFromHeader(): void {} }
    `)).toEqual([
      'getCookie: not snake_case',
      'maxAge: not snake_case',
      'requestPath: not snake_case',
      'setFromHeader: not snake_case',
    ]);
  });

  it('wants #private for internals, and keeps `_x` for Django hooks', () => {
    const found = names(`
      class Cache {
        private parsed = new Map();
        constructor(private readonly atomic: object) {}
        _helper(): void {}
        _get_session(): void {}
      }
      function f(_used: number): number { return _used; }
    `);
    expect(found).toEqual([
      "parsed: internals are #private, not TypeScript's `private`",
      'atomic: internals are #private: make it a #field set in the constructor',
      expect.stringMatching(/^_helper: a leading underscore is kept for Django's hooks/),
      expect.stringMatching(/^_used: a leading underscore is kept for Django's hooks/),
    ]);
  });

  it('wants PascalCase classes and types', () => {
    expect(names(`
      class session_store {}
      interface cache_entry {}
      type version_t = string;
    `)).toEqual([
      'session_store: classes are PascalCase',
      'cache_entry: types are PascalCase',
      'version_t: types are PascalCase',
    ]);
  });
});
