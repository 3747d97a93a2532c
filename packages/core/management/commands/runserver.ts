import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';
import { settings } from '../../conf';
import { create_app } from '../../server';
import { shutdown } from '../../shutdown';

const DEFAULT_ADDR = '127.0.0.1';
const DEFAULT_PORT = 8000;

export function parse_addrport(value: string | undefined): { host: string; port: number } {
  if (!value) return { host: DEFAULT_ADDR, port: DEFAULT_PORT };
  const m = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:]*)):(?<port>\d+)$/.exec(value) ?? /^(?<port>\d+)$/.exec(value);
  if (!m?.groups) throw new CommandError(`"${value}" is not a valid port number or address:port pair.`);
  const port = Number(m.groups.port);
  if (port < 1 || port > 65535) throw new CommandError(`"${value}" is not a valid port number or address:port pair.`);
  return { host: m.groups.v6 ?? (m.groups.host || DEFAULT_ADDR), port };
}

/** Development server with autoreload (django.core.management.commands.runserver). */
export default class RunserverCommand extends BaseCommand {
  readonly help = 'Starts a lightweight web server for development (restarts on file changes unless --noreload).';

  override add_arguments(parser: Command): void {
    parser.argument('[addrport]', 'optional port number, or ipaddr:port (default 127.0.0.1:8000)');
    parser.option('--noreload', 'do not restart the server when files change');
    parser.option('--nologging', 'do not print a line per request');
  }

  async handle(args: string[], options: { noreload?: boolean; nologging?: boolean }): Promise<void> {
    const { host, port } = parse_addrport(args[0]);
    if (!options.noreload && process.env.TANGO_RUN_MAIN !== 'true') {
      await this.autoreload();
      return;
    }
    const app = await create_app({ access_log: !options.nologging });
    try {
      await app.listen({ host, port });
    } catch (err) {
      throw new CommandError(`Error: ${(err as Error).message}`);
    }
    const shown = host.includes(':') ? `[${host}]` : host;
    this.write(`Starting development server at http://${shown}:${port}/\nQuit the server with CONTROL-C.`);
    const stop = async () => {
      await app.close();
      await shutdown();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await new Promise<never>(() => {});
  }

  /** The parent watches files and re-runs this same command line in a child on every change. */
  private async autoreload(): Promise<never> {
    const { watch } = await import('chokidar');
    let child: ChildProcess | undefined;
    let restarting = false;
    const start = () => {
      child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        stdio: 'inherit',
        env: { ...process.env, TANGO_RUN_MAIN: 'true' },
      });
      child.on('exit', (code) => {
        if (!restarting) process.exit(code ?? 0);
      });
    };
    const restart = (file: string) => {
      if (!child || restarting) return;
      restarting = true;
      this.write(`${path.relative(settings.BASE_DIR, file)} changed, reloading.`);
      child.once('exit', () => {
        restarting = false;
        start();
      });
      child.kill('SIGTERM');
    };
    const ignored = (p: string) => /(^|[/\\])(node_modules|\.git|test-output|coverage)([/\\]|$)/.test(p) || /\.(sqlite3|sqlite3-journal|log)$/.test(p);
    watch(settings.BASE_DIR, { ignored, ignoreInitial: true }).on('change', restart).on('add', restart).on('unlink', restart);
    const forward = (sig: NodeJS.Signals) => () => {
      restarting = true;
      child?.kill(sig);
      process.exit(0);
    };
    process.once('SIGINT', forward('SIGINT'));
    process.once('SIGTERM', forward('SIGTERM'));
    start();
    return new Promise<never>(() => {});
  }
}
