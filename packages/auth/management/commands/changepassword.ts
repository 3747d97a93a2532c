/**
 * `manage.ts changepassword [username]` (django.contrib.auth.management.commands.changepassword):
 * the password typed twice (hidden), three attempts, Django's messages.
 * Without a username, the system user's name, as Django's getpass.getuser().
 */
import * as os from 'node:os';
import type { Command } from 'commander';
import { close_connections } from '@tango/core/db';
import { CommandError } from '@tango/core/errors';
import { BaseCommand } from '@tango/core/management/base';
import { User } from '../../models';
import { Prompter, type Input } from '../prompt';

const MAX_TRIES = 3;

export default class ChangePasswordCommand extends BaseCommand {
  readonly help = "Change a user's password for django.contrib.auth.";
  stdin: Input = process.stdin;

  override add_arguments(parser: Command): void {
    parser
      .argument('[username]', 'Username to change password for; by default, it\'s the current username.')
      .option('--database <alias>', 'Specifies the database to use. Default is "default".', 'default');
  }

  async handle(args: string[], options: Record<string, unknown>): Promise<void> {
    const using = typeof options.database === 'string' ? options.database : 'default';
    const username = args[0] || os.userInfo().username;
    const prompt = new Prompter(this.stdin, this.stdout);
    try {
      const user = await User.get_by_natural_key(username, { using });
      if (user === null) throw new CommandError(`user '${username}' does not exist`);
      this.write(`Changing password for user '${user.username}'`);
      let count = 0;
      let password: string | null = null;
      while (password === null && count < MAX_TRIES) {
        const p1 = await prompt.ask_hidden('Password: ');
        const p2 = await prompt.ask_hidden('Password (again): ');
        if (p1 !== p2) {
          this.write('Passwords do not match. Please try again.');
          count++;
          continue;
        }
        password = p1;
      }
      if (password === null) throw new CommandError(`Aborting password change for user '${user.username}' after ${count} attempts`);
      await user.set_password(password);
      await user.save({ using });
      this.write(`Password changed successfully for user '${user.username}'`);
    } finally {
      prompt.close();
      await close_connections();
    }
  }
}
