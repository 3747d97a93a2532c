import cluster from 'node:cluster';
import * as os from 'node:os';
import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';
import { create_app } from '../../server';
import { shutdown } from '../../shutdown';
import { parse_addrport } from './runserver';

/**
 * Production server: N worker processes on Node's cluster sharing one port,
 * Fastify's pino request logging, and a graceful SIGTERM (in-flight requests
 * finish, pools close) so a load balancer can drain it.
 */
export default class ServeCommand extends BaseCommand {
  readonly help = 'Serves the project for production with N worker processes (graceful shutdown on SIGTERM).';

  override add_arguments(parser: Command): void {
    parser.argument('[addrport]', 'port, or ipaddr:port (default 127.0.0.1:8000)');
    parser.option('--workers <n>', 'worker processes (default: the number of CPUs)');
    parser.option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, silent', 'info');
  }

  async handle(args: string[], options: { workers?: string; logLevel?: string }): Promise<void> {
    const { host, port } = parse_addrport(args[0]);
    const workers = options.workers === undefined ? os.availableParallelism() : Number(options.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new CommandError(`--workers must be a positive whole number, not '${options.workers}'.`);
    if (cluster.isPrimary && workers > 1) return this.primary(workers, host, port);
    return this.worker(host, port, options.logLevel ?? 'info');
  }

  private async primary(workers: number, host: string, port: number): Promise<never> {
    let stopping = false;
    const fork = () => cluster.fork();
    for (let i = 0; i < workers; i++) fork();
    cluster.on('exit', (worker, code) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
        return;
      }
      this.stderr.write(`worker ${worker.process.pid} exited with ${code}; starting another\n`);
      fork();
    });
    this.write(`Serving on http://${host}:${port}/ with ${workers} workers (pid ${process.pid}).`);
    const stop = () => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return new Promise<never>(() => {});
  }

  private async worker(host: string, port: number, level: string): Promise<never> {
    const app = await create_app({ logger: level === 'silent' ? false : { level } });
    // Fastify's close() waits for every open connection, and Node only closes the ones idle
    // when it starts: a keep-alive connection (a load balancer's, a browser's) whose request
    // was in flight would hold the process until keepAliveTimeout. While draining, each
    // response asks its client to close the connection, so the last one ends the wait.
    let draining = false;
    app.addHook('onSend', async (_request, reply) => {
      if (draining) reply.header('connection', 'close');
    });
    try {
      await app.listen({ host, port });
    } catch (err) {
      throw new CommandError(`Error: ${(err as Error).message}`);
    }
    if (!cluster.isWorker) this.write(`Serving on http://${host}:${port}/ (pid ${process.pid}).`);
    const stop = async () => {
      draining = true;
      // Fastify's close() stops accepting, then waits for in-flight requests.
      await app.close();
      await shutdown();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return new Promise<never>(() => {});
  }
}
