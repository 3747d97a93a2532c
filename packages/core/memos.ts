/**
 * The registry of process-wide memos: what a module keeps between requests
 * that it can compute again (settings compiled into a faster form, derived
 * keys, formatters, prepared statements). Each one registers here under a
 * name, so that a reader finds them all in one list (memo_names()) and a
 * test starts cold with one forget_all().
 *
 * Memos derived from settings say so ({ settings: true }); configure() and
 * override_settings() forget those whenever settings change. Open connections
 * and cache clients are not memos: close_connections() and close_caches() end
 * them.
 *
 * This module imports nothing, so that any module (conf included) can
 * register without an import cycle.
 */

interface Memo {
  forget: () => void;
  settings: boolean;
}

const memos = new Map<string, Memo>();

export interface MemoOptions {
  /** Derived from settings: forgotten whenever settings are (re)configured. */
  settings?: boolean;
}

/**
 * Registers the memo `name` and how to forget it. A module evaluated again
 * (jest.isolateModules) registers its new copy in place of the old one.
 */
export function register_memo(name: string, forget: () => void, options: MemoOptions = {}): void {
  memos.set(name, { forget, settings: options.settings === true });
}

/** Forgets every memo: the process starts cold, as after a restart (for tests). */
export function forget_all(): void {
  for (const memo of memos.values()) memo.forget();
}

/** Forgets the memos derived from settings; conf calls it when settings change. */
export function forget_settings_memos(): void {
  for (const memo of memos.values()) if (memo.settings) memo.forget();
}

/** The names of the registered memos, in registration order. */
export function memo_names(): string[] {
  return [...memos.keys()];
}
