import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError, TangoError } from '../../errors';
import { is_configured, settings, settings_module } from '../../conf';
import { format_check_messages, run_checks } from '../../checks';
import { set_log_format } from '../../log';
import { create_app } from '../../server';
import { shutdown } from '../../shutdown';
import { load_urlconf, root_urlconf } from '../../urls/resolvers';
import { readable_error, technical_500_html } from '../../views/debug';
import { paint, supports_color } from '../color';
import { unapplied_migrations } from './migrate';

const DEFAULT_ADDR = '127.0.0.1';
const DEFAULT_PORT = 8000;
/** How long the start-up migration check may take before runserver goes on without it. */
const MIGRATION_CHECK_MS = 3000;
/** Quiet time after the last file event before a restart. */
const RELOAD_DEBOUNCE_MS = 150;

export function parse_addrport(value: string | undefined): { host: string; port: number } {
  if (!value) return { host: DEFAULT_ADDR, port: DEFAULT_PORT };
  const m = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:]*)):(?<port>\d+)$/.exec(value) ?? /^(?<port>\d+)$/.exec(value);
  if (!m?.groups) throw new CommandError(`"${value}" is not a valid port number or address:port pair.`);
  const port = Number(m.groups.port);
  if (port < 1 || port > 65535) throw new CommandError(`"${value}" is not a valid port number or address:port pair.`);
  return { host: m.groups.v6 ?? (m.groups.host || DEFAULT_ADDR), port };
}

/** The system checks found errors: runserver does not serve the project until they are fixed (django.core.management.base.SystemCheckError). */
export class SystemCheckError extends TangoError {
  override readonly code = 'TANGO_SYSTEM_CHECK_ERROR';
}

type Stop = () => Promise<void>;

function tango_version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function as_error(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Development server with autoreload (django.core.management.commands.runserver
 * and django.utils.autoreload). A mistake (settings that do not validate, a
 * syntax error in a view, a bad route, a failed system check) does not end
 * it: the error is printed, every request is answered with it (a 500 page),
 * and the next saved file starts the project again.
 */
export default class RunserverCommand extends BaseCommand {
  readonly help = 'Starts a lightweight web server for development (restarts on file changes unless --noreload).';
  override readonly runs_with_broken_settings = true;

  override add_arguments(parser: Command): void {
    parser.argument('[addrport]', 'optional port number, or ipaddr:port (default 127.0.0.1:8000)');
    parser.option('--noreload', 'do not restart the server when files change');
    parser.option('--nologging', 'do not print a line per request');
  }

  async handle(args: string[], options: { noreload?: boolean; nologging?: boolean }): Promise<void> {
    const { host, port } = parse_addrport(args[0]);
    // Readable lines for a person at a terminal; `serve` keeps JSON for log collectors.
    set_log_format('text');
    const access_log = !options.nologging;
    if (options.noreload) {
      // Without the reloader nothing would bring the server back: a mistake ends the command, as in Django.
      const stop = await this.#inner_run(host, port, access_log);
      this.#on_quit(async () => {
        await stop();
        process.exit(0);
      });
    } else if (process.env.TANGO_RUN_MAIN === 'true') {
      // A child of the reloader: it is killed and replaced on the next change, broken or not.
      const stop = await this.#run_or_show_error(host, port, access_log);
      this.#on_quit(async () => {
        await stop();
        process.exit(0);
      });
    } else {
      await this.#reloader(host, port, access_log);
    }
    await new Promise<never>(() => {});
  }

  #on_quit(fn: () => Promise<void>): void {
    process.once('SIGTERM', () => void fn());
    process.once('SIGINT', () => void fn());
  }

  /** Checks, then serves the project; resolves with a function that stops the server and closes pools. */
  async #inner_run(host: string, port: number, access_log: boolean): Promise<Stop> {
    if (this.settings_error !== undefined) throw readable_error(this.settings_error);
    // The URLconf loads the views: a syntax error in one surfaces here, as itself, before the checks.
    try {
      load_urlconf(root_urlconf());
    } catch (err) {
      throw readable_error(err);
    }
    this.write('Performing system checks...\n');
    const messages = await run_checks();
    const report = format_check_messages(messages);
    if (messages.some((m) => m.level === 'ERROR')) throw new SystemCheckError(report);
    this.write(report);
    await this.#check_migrations();
    const app = await create_app({ access_log });
    try {
      await app.listen({ host, port });
    } catch (err) {
      await app.close();
      throw new CommandError(`Error: ${(err as Error).message}`);
    }
    this.#banner(host, port);
    return async () => {
      await app.close();
      await shutdown();
    };
  }

  /** Django's start banner: the time, versions and settings, then the address. */
  #banner(host: string, port: number): void {
    const now = new Date();
    const date = now.toLocaleString('en-US', { month: 'long', day: '2-digit', year: 'numeric' });
    const time = now.toLocaleTimeString('en-GB', { hour12: false });
    const mod = settings_module();
    const shown = host.includes(':') ? `[${host}]` : host;
    const colour = supports_color(this.stdout);
    this.write([
      `${date} - ${time}`,
      `Tango version ${tango_version()}, using settings '${mod ? shown_module(mod.name) : '(configured in code)'}'`,
      `Session engine: ${settings.SESSION_ENGINE}; DEBUG: ${settings.DEBUG}`,
      paint(`Starting development server at http://${shown}:${port}/`, 'green', colour),
      'Quit the server with CONTROL-C.',
    ].join('\n'));
  }

  /** django.core.management.base.BaseCommand.check_migrations: a warning, never a stop. */
  async #check_migrations(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = await Promise.race([
        unapplied_migrations(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from the database within ${MIGRATION_CHECK_MS} ms`)), MIGRATION_CHECK_MS);
        }),
      ]);
      if (pending.length === 0) return;
      // Sorted, as django/core/management/base.py check_migrations lists them.
      const apps = [...new Set(pending.map((m) => m.app))].sort().join(', ');
      const colour = supports_color(this.stdout);
      this.write(paint(
        `\nYou have ${pending.length} unapplied migration(s). Your project may not work properly until you apply the migrations for app(s): ${apps}.`,
        'red', colour));
      this.write(paint("Run 'npx ts-node manage.ts migrate' to apply them.\n", 'yellow', colour));
    } catch (err) {
      this.write(`Could not check for unapplied migrations: ${as_error(err).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** inner_run, or, when the project cannot start, the error printed and served until the next change. */
  async #run_or_show_error(host: string, port: number, access_log: boolean): Promise<Stop> {
    try {
      return await this.#inner_run(host, port, access_log);
    } catch (err) {
      // A taken port cannot show a page either: that one ends the command.
      if (err instanceof CommandError) throw err;
      const error = readable_error(err);
      this.#report(error);
      return this.#serve_error(error, host, port);
    }
  }

  #report(err: Error): void {
    const colour = supports_color(this.stderr);
    const text = err instanceof SystemCheckError ? err.message
      : err instanceof TangoError ? `${err.name}: ${err.message}`
      : (err.stack ?? `${err.name}: ${err.message}`);
    this.stderr.write(`${paint(text, 'red', colour)}\n`);
  }

  /** A bare HTTP server answering every request with the error (Fastify and the project may be what is broken). */
  async #serve_error(err: Error, host: string, port: number): Promise<Stop> {
    const server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const page = technical_500_html(err, { method: req.method ?? 'GET', path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: req.headers }, {
        settings: is_configured() ? settings : undefined,
        base_dir: is_configured() ? settings.BASE_DIR : process.cwd(),
        note: 'runserver could not start the project; it restarts when a file changes.',
      });
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    } catch (listen_err) {
      this.stderr.write(`Error: ${as_error(listen_err).message}\n`);
      return async () => {};
    }
    // Said once the page is being served, so whoever reads it can reload the browser.
    this.stderr.write(`${paint('The project did not start. Fix the error and save a file: the server restarts by itself. Until then every request gets this error as a 500 page.', 'yellow', supports_color(this.stderr))}\n`);
    return () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * The reloader. The first server runs in this process, so it answers as
   * soon as one start-up is done; on the first change it stops and a child
   * process (fresh modules) takes over, replaced on every later change, as
   * Django's reloader restarts its child. When a start fails, the error page
   * is served (by this process or the child) until the next change.
   */
  async #reloader(host: string, port: number, access_log: boolean): Promise<void> {
    const { watch } = await import('chokidar');
    let stop_here: Stop | undefined = await this.#run_or_show_error(host, port, access_log);
    let child: ChildProcess | undefined;
    let restarting = false;
    let quitting = false;

    const start_child = () => {
      const proc = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        stdio: 'inherit',
        env: { ...process.env, TANGO_RUN_MAIN: 'true' },
      });
      child = proc;
      proc.on('exit', (code, signal) => {
        if (restarting || quitting || child !== proc) return;
        child = undefined;
        // The child died on its own (a crash after start-up, or a taken port): show that until the next change.
        const err = new Error(`The server process exited (${signal ?? `code ${code}`}); the error is in the runserver output above.`);
        this.#report(err);
        void this.#serve_error(err, host, port).then((stop) => {
          stop_here = stop;
        });
      });
    };

    const restart = async (file: string): Promise<void> => {
      // A save during a restart is read by the child that restart starts.
      if (restarting) return;
      restarting = true;
      this.write(`${path.relative(base, file) || file} changed, reloading.`);
      if (stop_here) {
        const stop = stop_here;
        stop_here = undefined;
        await stop();
      }
      if (child && child.exitCode === null && child.signalCode === null) {
        const proc = child;
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        });
      }
      child = undefined;
      restarting = false;
      if (quitting) return;
      start_child();
    };

    const base = is_configured() ? settings.BASE_DIR : process.cwd();
    const roots = [base];
    const mod_file = settings_module()?.file;
    if (mod_file && !mod_file.startsWith(base + path.sep)) roots.push(path.dirname(mod_file));
    const ignored = (p: string) => /(^|[/\\])(node_modules|\.git|test-output[^/\\]*|coverage|bench[/\\]results)([/\\]|$)/.test(p) || /\.(sqlite3|sqlite3-journal|log)$/.test(p);
    // An editor's save can be several events (truncate, write, rename): restart once, when they stop.
    let debounce: NodeJS.Timeout | undefined;
    const on_change = (file: string) => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void restart(file), RELOAD_DEBOUNCE_MS);
    };
    watch(roots, { ignored, ignoreInitial: true })
      .on('change', on_change).on('add', on_change).on('unlink', on_change)
      // Changes made before the first scan ends are not seen: say when watching starts (Django says it too).
      .on('ready', () => this.write('Watching for file changes with chokidar'));
    const quit = async () => {
      quitting = true;
      clearTimeout(debounce);
      child?.kill('SIGTERM');
      if (stop_here) await stop_here();
      process.exit(0);
    };
    this.#on_quit(quit);
  }
}

/** A settings path as the user would type it: './settings' for the file under the current folder (manage.ts names it absolutely). */
function shown_module(name: string): string {
  if (!path.isAbsolute(name)) return name;
  const rel = path.relative(process.cwd(), name);
  return rel.startsWith('..') || path.isAbsolute(rel) ? name : `./${rel}`;
}
