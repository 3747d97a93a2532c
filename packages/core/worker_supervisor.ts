/**
 * The primary process of `serve --workers N` (Node's cluster): keeps N
 * workers running, restarts one that dies with exponential backoff (a worker
 * that fails at start would otherwise be forked in a tight loop), gives up
 * when they keep failing, and stops them in two phases on SIGTERM.
 *
 * The two phases: every worker first closes its listener and says so; only
 * when all have (the primary then no longer accepts, so a new connection is
 * refused at connect and a load balancer retries it elsewhere) are they told
 * to drain, i.e. to answer with `Connection: close`. A client told to close
 * reconnects at once; were the listener still open it would be accepted, then
 * dropped when the last worker left.
 */
import cluster, { type Worker } from 'node:cluster';

export const STOP = 'tango:stop';
export const LISTENER_CLOSED = 'tango:listener-closed';
export const DRAIN = 'tango:drain';

/** Restart delays: 100 ms, doubling, at most 10 s (as systemd's RestartSec with RestartSteps). */
export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 10_000;
/** A worker listening this long counts as started well: the backoff starts again from the bottom. */
export const STABLE_MS = 5_000;
/** Failures in a row (no worker stayed up STABLE_MS between them) after which the primary gives up. */
export const GIVE_UP_AFTER = 8;

export interface SupervisorOptions {
  workers: number;
  /** How long workers may drain after SIGTERM; the primary kills stragglers a little later. */
  grace_ms: number;
  log: (line: string) => void;
  /** Once every worker of the first set is listening. */
  on_ready: () => void;
}

export function describe_exit(worker: Worker, code: number | null, signal: string | null): string {
  return `worker ${worker.process.pid} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`;
}

export function supervise(options: SupervisorOptions): Promise<number> {
  const { log } = options;
  let failures = 0;
  let stopping = false;
  let status = 0;
  let ready = false;
  const listening = new Set<Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  const stable_timers = new Map<Worker, NodeJS.Timeout>();
  // Workers asked to stop that have not yet closed their listener.
  const closing = new Set<Worker>();
  let finished: (status: number) => void = () => {};

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  const drain_if_all_closed = () => {
    if (!stopping || closing.size > 0) return;
    for (const w of live()) if (w.isConnected()) w.send(DRAIN);
  };

  const fork = () => {
    const worker = cluster.fork();
    worker.on('listening', () => {
      listening.add(worker);
      stable_timers.set(worker, setTimeout(() => { failures = 0; }, STABLE_MS));
      if (!ready && listening.size >= options.workers) {
        ready = true;
        options.on_ready();
      }
    });
    worker.on('message', (msg: unknown) => {
      if (msg !== LISTENER_CLOSED) return;
      // A worker stopped on its own (a signal sent to it alone) drains at once.
      if (!stopping) worker.send(DRAIN);
      closing.delete(worker);
      drain_if_all_closed();
    });
  };

  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const t of restarts) clearTimeout(t);
    restarts.clear();
    const workers = live();
    if (workers.length === 0) return finished(status);
    for (const w of workers) {
      closing.add(w);
      if (w.isConnected()) w.send(STOP);
    }
    // The workers bound their own drain by grace_ms; this only catches one that hangs.
    setTimeout(() => {
      for (const w of live()) {
        log(`worker ${w.process.pid} still running ${options.grace_ms + 5000} ms after SIGTERM; killing it`);
        w.process.kill('SIGKILL');
      }
    }, options.grace_ms + 5000).unref();
  };

  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker);
    closing.delete(worker);
    clearTimeout(stable_timers.get(worker));
    stable_timers.delete(worker);
    if (stopping) {
      if (code !== 0 || signal) log(describe_exit(worker, code, signal));
      drain_if_all_closed();
      if (live().length === 0) finished(status);
      return;
    }
    failures++;
    if (failures >= GIVE_UP_AFTER) {
      log(`${describe_exit(worker, code, signal)}`);
      log(`serve: workers keep failing at start (${failures} in a row, none stayed up ${STABLE_MS / 1000} s); giving up`);
      status = 1;
      stop();
      return;
    }
    const delay = Math.min(BACKOFF_START_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
    log(`${describe_exit(worker, code, signal)}; restarting in ${delay} ms`);
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, delay);
    restarts.add(timer);
  });

  for (let i = 0; i < options.workers; i++) fork();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise<number>((resolve) => { finished = resolve; });
}
