/**
 * `manage.ts clearsessions` (django.contrib.sessions.management.commands.clearsessions):
 * imports SESSION_ENGINE and calls SessionStore.clear_expired(). Unlike
 * Django it says what happened: how many sessions went, or why the engine has
 * nothing to remove; `--dry-run` only counts.
 */
import type { Command } from 'commander';
import { BaseCommand } from '@tango/core/management/base';
import { settings, SESSION_ENGINE_SHORT_NAMES } from '@tango/core/conf';
import { close_connections, is_connection_error } from '@tango/core/db';
import { CommandError, StoreUnavailable } from '@tango/core/errors';
import { get_session_store_class } from '../../engine';
import { NotImplementedError } from '../../exceptions';

interface EngineClass {
  clear_expired?: (on_progress?: (removed: number) => void) => Promise<number | void>;
  count_expired?: () => Promise<number>;
  db_alias?: unknown;
}

/** Engines whose store expires entries by itself: clear_expired() is a no-op there, as in Django. */
const SELF_EXPIRING: Record<string, string> = {
  cache: 'the cache expires sessions itself',
  signed_cookies: "sessions live in the browser's cookie, which the browser expires",
};

function short_name(engine: string): string | undefined {
  return Object.entries(SESSION_ENGINE_SHORT_NAMES).find(([, full]) => full === engine)?.[0];
}

function load_engine(engine: string): EngineClass {
  // The same lookup SessionMiddleware uses, so both agree on what the engine is.
  return get_session_store_class(engine) as unknown as EngineClass;
}

function plural(n: number): string {
  return `${n} expired session${n === 1 ? '' : 's'}`;
}

export default class ClearSessionsCommand extends BaseCommand {
  readonly help = 'Can be run as a cronjob or directly to clean out expired sessions.';

  override add_arguments(parser: Command): void {
    parser.option('--dry-run', 'Count the expired sessions without removing them.');
  }

  async handle(_args: string[], options: Record<string, unknown>): Promise<void> {
    const engine = settings.SESSION_ENGINE;
    const dry_run = Boolean(options.dry_run ?? options.dryRun);
    let Store: EngineClass | undefined;
    try {
      Store = load_engine(engine);
      const why = SELF_EXPIRING[short_name(engine) ?? ''];
      if (why) {
        this.write(`Nothing to remove: ${why}.`);
        return;
      }
      if (typeof Store.clear_expired !== 'function') throw unsupported(engine);
      if (dry_run) {
        if (typeof Store.count_expired !== 'function') {
          throw new CommandError(`Session engine '${engine}' cannot count expired sessions; run without --dry-run.`);
        }
        this.write(`Would remove ${plural(await Store.count_expired())}.`);
        return;
      }
      // A count as it goes on a terminal; cron (no TTY) gets only the summary line.
      const tty = Boolean(this.stdout.isTTY);
      const progress = tty ? (n: number) => this.stdout.write(`\rRemoved ${n} so far...`) : undefined;
      const removed = await Store.clear_expired(progress);
      if (tty) this.stdout.write('\r\x1b[K');
      this.write(typeof removed === 'number' ? `Removed ${plural(removed)}.` : 'Removed expired sessions.');
    } catch (err) {
      throw as_command_error(err, engine, Store);
    } finally {
      await close_connections();
    }
  }
}

function unsupported(engine: string): CommandError {
  return new CommandError(`Session engine '${engine}' doesn't support clearing expired sessions.`);
}

/** One line the operator can act on, whatever the store threw. */
function as_command_error(err: unknown, engine: string, store_class: EngineClass | undefined): unknown {
  if (err instanceof CommandError) return err;
  if (err instanceof NotImplementedError || (err as Error | null)?.name === 'NotImplementedError') return unsupported(engine);
  // Not `instanceof Error`: driver errors may come from another realm (jest's sandbox, worker threads).
  const raw = (err as { message?: unknown } | null)?.message;
  const message = typeof raw === 'string' ? raw : String(err);
  // The db engines (and subclasses) name their database; other stores are named by their engine.
  const where = typeof store_class?.db_alias === 'string' ? `database '${store_class.db_alias}'` : `engine '${engine}'`;
  if (err instanceof StoreUnavailable || is_connection_error(err)) {
    return new CommandError(`Cannot reach the session store (${where}): ${message.split('\n')[0]}`);
  }
  if (/no such table|relation .* does not exist/i.test(message)) {
    return new CommandError(`The session table does not exist (${where}): run \`manage.ts migrate\` first.`);
  }
  return err;
}
