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
    const child = process.env.TANGO_RUN_MAIN === 'true';
    const stop_server = await this.#serve(host, port, !options.nologging);
    if (options.noreload || child) {
      const stop = async () => {
        await stop_server();
        process.exit(0);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    } else {
      await this.#watch(stop_server);
    }
    await new Promise<never>(() => {});
  }

  /** Serves in this process; resolves with a function that stops the server and closes pools. */
  async #serve(host: string, port: number, access_log: boolean): Promise<() => Promise<void>> {
    const app = await create_app({ access_log });
    try {
      await app.listen({ host, port });
    } catch (err) {
      throw new CommandError(`Error: ${(err as Error).message}`);
    }
    const shown = host.includes(':') ? `[${host}]` : host;
    this.write(`Starting development server at http://${shown}:${port}/\nQuit the server with CONTROL-C.`);
    return async () => {
      await app.close();
      await shutdown();
    };
  }

  /**
   * Autoreload. The first server runs in this process, so it answers as soon
   * as one start-up is done; on the first change it stops and a child process
   * (fresh modules) takes over, restarted on every later change, as Django's
   * reloader restarts its child.
   */
  async #watch(stop_in_process: () => Promise<void>): Promise<void> {
    const { watch } = await import('chokidar');
    let in_process: (() => Promise<void>) | undefined = stop_in_process;
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
    const restart = async (file: string) => {
      if (restarting) return;
      restarting = true;
      this.write(`${path.relative(settings.BASE_DIR, file)} changed, reloading.`);
      if (in_process) {
        const stop = in_process;
        in_process = undefined;
        await stop();
      } else if (child && child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child!.once('exit', () => resolve());
          child!.kill('SIGTERM');
        });
      }
      restarting = false;
      start();
    };
    const ignored = (p: string) => /(^|[/\\])(node_modules|\.git|test-output[^/\\]*|coverage|bench[/\\]results)([/\\]|$)/.test(p) || /\.(sqlite3|sqlite3-journal|log)$/.test(p);
    const on_change = (file: string) => void restart(file);
    watch(settings.BASE_DIR, { ignored, ignoreInitial: true })
      .on('change', on_change).on('add', on_change).on('unlink', on_change)
      // Changes made before the first scan ends are not seen: say when watching starts (Django says it too).
      .on('ready', () => this.write('Watching for file changes with chokidar'));
    const quit = async () => {
      restarting = true;
      child?.kill('SIGTERM');
      if (in_process) await in_process();
      process.exit(0);
    };
    process.once('SIGINT', () => void quit());
    process.once('SIGTERM', () => void quit());
  }
}
