/**
 * What the request layer knows of a session. `@tango/sessions` provides the
 * implementation (SessionBase) and re-exports these types; core only types
 * `request.session` with them, so views get `request.session.get(...)` and
 * `request.session['user_id']` without casts.
 */
export type SessionValue = unknown;

/**
 * The data an app keeps in its sessions, declared by the app through
 * declaration merging (docs/sessions.md):
 *
 *   declare module '@tango/sessions' {
 *     interface SessionData { user_id?: string }
 *   }
 *
 * A declared key can be read and written with brackets
 * (`request.session['user_id'] = 'zhiliao'`) and gives get()/set() its type;
 * a key nobody declared is a compile error with brackets (a typo such as
 * `request.session.modifed` no longer compiles), while get()/set() still take
 * any string, as Django's dict does. Keys should be optional: a new or
 * emptied session holds none of them.
 */
export interface SessionData {}

/** The type of key `K`'s value: as declared in SessionData, else whatever JSON the store gave back. */
export type SessionValueOf<K extends string> = K extends keyof SessionData ? SessionData[K] : SessionValue;

/** The API of django.contrib.sessions.backends.base.SessionBase that views use. */
export interface SessionApi {
  get<K extends keyof SessionData & string>(key: K, fallback?: SessionData[K]): SessionData[K] | undefined;
  get<T = SessionValue>(key: string, fallback?: T): T | undefined;
  set<K extends string>(key: K, value: SessionValueOf<K>): void;
  pop<K extends keyof SessionData & string>(key: K, fallback?: SessionData[K]): SessionData[K] | undefined;
  pop<T = SessionValue>(key: string, fallback?: T): T | undefined;
  setdefault<K extends keyof SessionData & string>(key: K, value: SessionData[K]): SessionData[K];
  setdefault<T = SessionValue>(key: string, value: T): T;
  update(values: Partial<SessionData> & Record<string, SessionValue>): void;
  has(key: string): boolean;
  delete(key: string): void;
  keys(): string[];
  values(): SessionValue[];
  items(): Array<[string, SessionValue]>;
  clear(): void;
  is_empty(): boolean;
  readonly session_key: string | null;
  modified: boolean;
  accessed: boolean;
  set_expiry(value: number | Date | null): void;
  get_expiry_age(opts?: { modification?: Date; expiry?: number | string | Date | null }): number;
  get_expiry_date(opts?: { modification?: Date; expiry?: number | string | Date | null }): Date;
  get_expire_at_browser_close(): boolean;
  set_test_cookie(): void;
  test_cookie_worked(): boolean;
  delete_test_cookie(): void;
  flush(): Promise<void>;
  cycle_key(): Promise<void>;
  save(must_create?: boolean): Promise<void>;
}

/** The session as views see it: the data API plus bracket access to the declared keys (a key named like a method is reachable only through get/set). */
export type Session = SessionApi & Omit<SessionData, keyof SessionApi>;
