import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';
import { run_checks } from '../../checks';

/** django.core.management.commands.check */
export default class CheckCommand extends BaseCommand {
  readonly help = 'Checks the project for common problems (settings, security, session engine).';

  override add_arguments(parser: Command): void {
    parser.option('--deploy', 'also run the deployment checks (secure cookies, DEBUG)');
  }

  async handle(_args: string[], options: { deploy?: boolean }): Promise<void> {
    const messages = await run_checks({ deploy: Boolean(options.deploy) });
    const errors = messages.filter((m) => m.level === 'ERROR');
    if (messages.length) {
      this.write('System check identified some issues:\n');
      for (const level of ['ERROR', 'WARNING', 'INFO'] as const) {
        const group = messages.filter((m) => m.level === level);
        if (!group.length) continue;
        this.write(`${level}S:`);
        for (const m of group) this.write(`?: (${m.id}) ${m.msg}${m.hint ? `\n\tHINT: ${m.hint}` : ''}`);
        this.write('');
      }
    }
    const count = messages.length;
    this.write(`System check identified ${count === 0 ? 'no issues' : `${count} issue${count === 1 ? '' : 's'}`} (0 silenced).`);
    if (errors.length) throw new CommandError(`System check found ${errors.length} error${errors.length === 1 ? '' : 's'}.`);
  }
}
