import { Command, CommanderError } from 'commander';
import { load_settings, is_configured } from '../conf';
import { CommandError, TangoError } from '../errors';
import type { BaseCommand } from './base';
import { find_commands } from './discovery';
import { close_matches } from '../close_matches';

export { BaseCommand } from './base';
export { find_commands, app_dir } from './discovery';

function load_command(file: string): BaseCommand {
  const mod = require(file) as { default?: new () => BaseCommand; Command?: new () => BaseCommand };
  const Cls = mod.default ?? mod.Command;
  if (typeof Cls !== 'function') throw new CommandError(`${file} does not export a command class.`);
  return new Cls();
}

/** Pulls the global flags out of argv, wherever they appear (as Django's manage.py does). */
function take_globals(argv: string[]): { rest: string[]; settings?: string; traceback: boolean } {
  const rest: string[] = [];
  let settings_path: string | undefined;
  let traceback = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--traceback') traceback = true;
    else if (a === '--settings') settings_path = argv[++i];
    else if (a.startsWith('--settings=')) settings_path = a.slice('--settings='.length);
    else rest.push(a);
  }
  return { rest, settings: settings_path, traceback };
}

export function usage(): string {
  const names = [...find_commands().keys()].sort();
  return [
    "Type 'manage.ts help <subcommand>' for help on a specific subcommand.",
    '',
    'Available subcommands:',
    ...[...names, 'help'].sort().map((n) => `    ${n}`),
    '',
    'Global options: --settings PATH (or TANGO_SETTINGS_MODULE), --traceback',
  ].join('\n');
}

export function build_parser(name: string, command: BaseCommand): Command {
  const parser = new Command(name).description(command.help).allowExcessArguments(false).exitOverride();
  parser.configureOutput({ writeOut: (s) => command.stdout.write(s), writeErr: (s) => command.stderr.write(s) });
  command.add_arguments(parser);
  return parser;
}

/**
 * django.core.management.execute_from_command_line. Returns the exit status
 * instead of exiting so tests can run commands in-process.
 */
export async function execute_from_command_line(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { rest, settings: settings_path, traceback } = take_globals(argv);
  const [name = 'help', ...args] = rest;
  try {
    let settings_error: unknown;
    try {
      load_settings(settings_path);
    } catch (err) {
      // help must work even where the settings are broken, and runserver waits for the fix; the rest need them.
      settings_error = err;
    }
    const is_help = name === 'help' || name === '--help' || name === '-h';
    const commands = find_commands();
    if (is_help) {
      const target = args[0] && commands.get(args[0]);
      if (target) build_parser(args[0], load_command(target)).outputHelp();
      else process.stdout.write(`${usage()}\n`);
      return 0;
    }
    const file = commands.get(name);
    // Without settings, the installed apps' commands are unknown: the settings error is the real one.
    if (settings_error !== undefined && !file) throw settings_error;
    if (!file) {
      // django.core.management.ManagementUtility.fetch_command's wording.
      const [guess] = close_matches(name, [...commands.keys(), 'help']);
      process.stderr.write(`Unknown command: '${name}'.${guess ? ` Did you mean ${guess}?` : ''}\nType 'manage.ts help' for usage.\n`);
      return 1;
    }
    const command = load_command(file);
    if (settings_error !== undefined) {
      if (!command.runs_with_broken_settings) throw settings_error;
      command.settings_error = settings_error;
    }
    const parser = build_parser(name, command);
    let result: { args: string[]; opts: Record<string, unknown> } | undefined;
    parser.action((...action_args: unknown[]) => {
      const cmd = action_args[action_args.length - 1] as Command;
      result = { args: cmd.args, opts: cmd.opts() };
    });
    parser.parse(args, { from: 'user' });
    if (!result) return 0;
    if (!is_configured() && command.settings_error === undefined) throw new CommandError('Settings are not configured.');
    await command.handle(result.args, result.opts);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    const e = err instanceof Error ? err : new Error(String(err));
    if (traceback || !(err instanceof TangoError)) {
      if (traceback) process.stderr.write(`${e.stack}\n`);
      else process.stderr.write(`${e.name}: ${e.message}\n`);
    } else {
      process.stderr.write(`${e.name === 'CommandError' ? 'CommandError' : e.name}: ${e.message}\n`);
    }
    return err instanceof CommandError ? err.returncode : 1;
  }
}
