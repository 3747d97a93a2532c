/**
 * Recognising a database error that means "not migrated yet": the table a
 * query needs does not exist (SQLite's "no such table", PostgreSQL's 42P01
 * undefined_table), so pages and logs can say to run migrate.
 */
export function missing_table(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const message = typeof e.message === 'string' ? e.message : '';
    const sqlite = /no such table: ([\w.]+)/.exec(message);
    if (sqlite) return sqlite[1];
    if (e.code === '42P01') return /relation "([^"]+)" does not exist/.exec(message)?.[1] ?? 'a table';
  }
  return undefined;
}
