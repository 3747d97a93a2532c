/**
 * What the request layer knows of a session. `@tango/sessions` provides the
 * implementation (SessionBase); core only types `request.session` with it so
 * views get `request.session.get(...)` without casts.
 */
export type SessionValue = unknown;

export interface SessionData {
  get<T = SessionValue>(key: string, fallback?: T): T | undefined;
  set(key: string, value: SessionValue): void;
  pop<T = SessionValue>(key: string, fallback?: T): T | undefined;
  setdefault<T = SessionValue>(key: string, value: T): T;
  update(values: Record<string, SessionValue>): void;
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

/** The session as views see it: the data API plus `session['key']` access. */
export type Session = SessionData & { [key: string]: unknown };
