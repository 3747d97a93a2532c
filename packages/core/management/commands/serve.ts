import cluster from 'node:cluster';
import * as os from 'node:os';
import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';
import { ConnectionDrain } from '../../connection_drain';
import { create_app } from '../../server';
import { shutdown } from '../../shutdown';
import { DRAIN, LISTENER_CLOSED, STOP, supervise } from '../../worker_supervisor';
import { parse_addrport } from './runserver';

/** gunicorn's --graceful-timeout default. */
const DEFAULT_GRACE_S = 30;

/**
 * Production server: N worker processes on Node's cluster sharing one port,
 * Fastify's pino logging (each request too from --log-level info), and a
 * graceful SIGTERM (requests already read finish, keep-alive connections
 * close without a reset, pools close) so a load balancer can drain it. See
 * docs/deployment.md.
 */
export default class ServeCommand extends BaseCommand {
  readonly help = 'Serves the project for production with N worker processes (graceful shutdown on SIGTERM).';

  override add_arguments(parser: Command): void {
    parser.argument('[addrport]', 'port, or ipaddr:port (default 127.0.0.1:8000)');
    parser.option('--workers <n>', 'worker processes (default: the number of CPUs)');
    // warn, as gunicorn keeps no access log unless asked: a JSON line per request cost about a third of a small request's CPU.
    parser.option('--log-level <level>', "pino log level: fatal, error, warn, info (a line per request), debug, silent", 'warn');
    parser.option('--graceful-timeout <seconds>', `after SIGTERM, how long requests may take to finish before their connections are cut (default ${DEFAULT_GRACE_S})`);
  }

  async handle(args: string[], options: { workers?: string; logLevel?: string; gracefulTimeout?: string }): Promise<void> {
    const { host, port } = parse_addrport(args[0]);
    const workers = options.workers === undefined ? os.availableParallelism() : Number(options.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new CommandError(`--workers must be a positive whole number, not '${options.workers}'.`);
    const grace_s = options.gracefulTimeout === undefined ? DEFAULT_GRACE_S : Number(options.gracefulTimeout);
    if (!Number.isFinite(grace_s) || grace_s < 0) {
      throw new CommandError(`--graceful-timeout must be a number of seconds (0 or more), not '${options.gracefulTimeout}'.`);
    }
    if (cluster.isPrimary && workers > 1) return this.#primary(workers, host, port, grace_s);
    return this.#worker(host, port, options.logLevel ?? 'warn', grace_s);
  }

  async #primary(workers: number, host: string, port: number, grace_s: number): Promise<never> {
    const status = await supervise({
      workers,
      grace_ms: grace_s * 1000,
      log: (line) => this.stderr.write(`${line}\n`),
      on_ready: () => this.write(`Serving on http://${host}:${port}/ with ${workers} workers (pid ${process.pid}).`),
    });
    process.exit(status);
  }

  async #worker(host: string, port: number, level: string, grace_s: number): Promise<never> {
    let stop_requested = false;
    let begin_stop = () => { stop_requested = true; };
    // Installed before the (slow) start-up, so a stop asked for meanwhile is not lost.
    process.once('SIGTERM', () => begin_stop());
    process.once('SIGINT', () => begin_stop());
    if (cluster.isWorker) process.on('message', (msg: unknown) => { if (msg === STOP) begin_stop(); });

    const app = await create_app({ logger: level === 'silent' ? false : { level } });
    const drain = new ConnectionDrain(app.server);
    if (stop_requested) process.exit(0);
    try {
      await app.listen({ host, port });
    } catch (err) {
      throw new CommandError(`Error: ${(err as Error).message}`);
    }
    if (!cluster.isWorker) this.write(`Serving on http://${host}:${port}/ (pid ${process.pid}).`);

    const stop = async () => {
      drain.stop_listening();
      // Under cluster the primary says when every worker's listener is closed (see worker_supervisor.ts).
      if (cluster.isWorker) await told_to_drain();
      const cut = await drain.drain(grace_s * 1000);
      if (cut > 0) {
        this.stderr.write(`worker ${process.pid}: graceful timeout (${grace_s} s) reached; closing ${cut} connection${cut === 1 ? '' : 's'}\n`);
      }
      // No connection is left, so Fastify's close() only runs the onClose hooks.
      await app.close();
      await shutdown();
      process.exit(0);
    };
    begin_stop = () => {
      begin_stop = () => {};
      void stop();
    };
    if (stop_requested) begin_stop();
    return new Promise<never>(() => {});
  }
}

/** Resolves when the primary sends DRAIN, or when it is gone (nobody left to wait for). */
function told_to_drain(): Promise<void> {
  return new Promise((resolve) => {
    const on_message = (msg: unknown) => { if (msg === DRAIN) finish(); };
    const finish = () => {
      process.off('message', on_message);
      process.off('disconnect', finish);
      resolve();
    };
    process.on('message', on_message);
    process.once('disconnect', finish);
    process.send?.(LISTENER_CLOSED);
  });
}
