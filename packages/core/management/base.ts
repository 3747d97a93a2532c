import type { Command } from 'commander';

/**
 * A management command (django.core.management.BaseCommand). A module under
 * `<package or app>/management/commands/<name>.ts` default-exports a subclass.
 * Raise CommandError for a failure the user should read as one line.
 */
export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export abstract class BaseCommand {
  abstract readonly help: string;
  /** Commands that serve requests or only print help need no settings loaded first. */
  readonly requires_settings: boolean = true;
  /**
   * runserver starts even when the settings module fails to load, to show
   * the error and wait for the fix; the error is then in `settings_error`.
   */
  readonly runs_with_broken_settings: boolean = false;
  settings_error: unknown = undefined;
  stdout: OutputStreams['stdout'] = process.stdout;
  stderr: OutputStreams['stderr'] = process.stderr;

  /** Declare positional arguments and options on the commander Command. */
  add_arguments(_parser: Command): void {}

  /** Runs the command. `args` are positionals, `options` the parsed flags. */
  abstract handle(args: string[], options: Record<string, unknown>): Promise<void> | void;

  protected write(line: string): void {
    this.stdout.write(`${line}\n`);
  }
}
