import * as repl from 'node:repl';
import { BaseCommand } from '../base';
import { settings } from '../../conf';

/** An interactive Node REPL with settings loaded and Tango's core exports at hand. */
export default class ShellCommand extends BaseCommand {
  readonly help = 'Runs an interactive Node.js shell with the project settings loaded.';

  async handle(): Promise<void> {
    const core = await import('../../index');
    const server = repl.start({ prompt: '>>> ' });
    Object.assign(server.context, { settings, tango: core });
    this.write('Tango shell: `settings` and `tango` (the @tango/core exports) are in scope. Ctrl-D to exit.');
    await new Promise<void>((resolve) => server.on('exit', () => resolve()));
  }
}
