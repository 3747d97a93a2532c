import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';
import { format_check_messages, run_checks } from '../../checks';

/** django.core.management.commands.check */
export default class CheckCommand extends BaseCommand {
  readonly help = 'Checks the project for common problems (settings, security, session engine).';

  override add_arguments(parser: Command): void {
    parser.option('--deploy', 'also run the deployment checks (secure cookies, DEBUG)');
  }

  async handle(_args: string[], options: { deploy?: boolean }): Promise<void> {
    const messages = await run_checks({ deploy: Boolean(options.deploy) });
    const errors = messages.filter((m) => m.level === 'ERROR');
    this.write(format_check_messages(messages));
    if (errors.length) throw new CommandError(`System check found ${errors.length} error${errors.length === 1 ? '' : 's'}.`);
  }
}
