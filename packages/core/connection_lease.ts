/**
 * Pooled connections that fixed statements (db_statements) keep for a moment
 * after use (KEEP_MS), so the next statement runs on one of them without a
 * round through knex's pool. An acquire and release there (tarn's pending
 * operation, its timeout race, knex's validation) make some twenty promises
 * per statement, about as many as the rest of a session request together.
 *
 * A kept connection stays checked out of the pool, so the pool's limits and
 * timeouts still hold for everyone else. It goes back to the pool the moment
 * anyone asks the pool for a connection (its acquireRequest event, before the
 * request queues), when it broke (knex marks it disposed, or a statement on
 * it failed), and otherwise once it has been idle for KEEP_MS to twice that.
 * (It used to go back after one idle turn of the event loop: under load a
 * turn is shorter than the time between two statements, so nearly every
 * statement went through the pool anyway.)
 *
 * When the pool is full, a statement waits here rather than in the pool: a
 * statement that ends hands its connection straight to the first one waiting.
 * Code waiting in the pool itself comes first (the pool gets every connection
 * while anyone waits there), and a statement waits here at most
 * PARKED_MS before it queues in the pool like anyone else.
 */

/** The part of a tarn pool used here. */
export interface LeasePool {
  readonly max: number;
  numFree(): number;
  numUsed(): number;
  numPendingCreates(): number;
  numPendingAcquires(): number;
  release(connection: object): boolean;
  on(event: 'release' | 'acquireRequest', fn: () => void): void;
}

/** knex sets this on a connection that errored or ended; the pool destroys such a connection instead of lending it again. */
interface Disposable {
  __knex__disposed?: unknown;
}

interface Parked {
  since: number;
  resolve(connection: object): void;
  reject(err: unknown): void;
  from_pool(): Promise<object>;
}

interface Kept {
  /** Idle since the last sweep: the most recently used, handed out first. */
  fresh: object[];
  /** Idle through a whole sweep already: returned to the pool at the next one. */
  old: object[];
  sweeping: boolean;
  /** Statements waiting for a connection while the pool is full, oldest first. */
  parked: Parked[];
  watchdog: NodeJS.Timeout | undefined;
}

/** The longest a statement waits here for a connection before it asks the pool (ms). */
export const PARKED_MS = 50;

/** How long an idle connection is kept (ms): it goes back to the pool after KEEP_MS to 2 × KEEP_MS. */
export const KEEP_MS = 10;

const kept = new WeakMap<LeasePool, Kept>();

function kept_of(pool: LeasePool): Kept {
  const k = kept.get(pool);
  if (k !== undefined) return k;
  const state: Kept = { fresh: [], old: [], sweeping: false, parked: [], watchdog: undefined };
  kept.set(pool, state);
  // Whoever returns a connection to the pool while statements wait here lets the first of them queue there for it.
  pool.on('release', () => {
    const first = state.parked.length > 0 && pool.numPendingAcquires() === 0 ? state.parked.shift() : undefined;
    if (first !== undefined) unpark(first);
  });
  // Whoever asks the pool gets the kept connections: they are free before the request queues.
  // (This module's own requests come only when nothing is kept.)
  pool.on('acquireRequest', () => release_kept(pool, state));
  return state;
}

/** A kept connection of `pool` that is still usable, or undefined. */
export function take(pool: LeasePool): object | undefined {
  const k = kept.get(pool);
  if (k === undefined) return undefined;
  for (;;) {
    const connection = k.fresh.pop() ?? k.old.pop();
    if (connection === undefined) return undefined;
    if (!(connection as Disposable).__knex__disposed) return connection;
    pool.release(connection);
  }
}

function full(pool: LeasePool): boolean {
  return pool.numFree() === 0 && pool.numUsed() + pool.numPendingCreates() >= pool.max;
}

/**
 * A connection for one statement: a kept one, or (the pool being full) the
 * next one a statement gives back, or else one from the pool (`from_pool`).
 */
export function lease(pool: LeasePool, from_pool: () => Promise<object>): object | Promise<object> {
  const connection = take(pool);
  if (connection !== undefined) return connection;
  if (!full(pool) || pool.numPendingAcquires() > 0) return from_pool();
  const k = kept_of(pool);
  return new Promise<object>((resolve, reject) => {
    k.parked.push({ since: Date.now(), resolve, reject, from_pool });
    watch(k);
  });
}

function unpark(p: Parked): void {
  p.from_pool().then(p.resolve, p.reject);
}

/** While statements wait here, a timer sends those waiting longer than PARKED_MS to the pool. */
function watch(k: Kept): void {
  if (k.watchdog !== undefined) return;
  k.watchdog = setTimeout(() => {
    k.watchdog = undefined;
    const overdue = Date.now() - PARKED_MS;
    while (k.parked.length > 0 && k.parked[0].since <= overdue) unpark(k.parked.shift()!);
    if (k.parked.length > 0) watch(k);
  }, PARKED_MS);
  k.watchdog.unref();
}

/** Hands `connection` back after a statement: to a waiting statement, kept for the next one, or returned to the pool. */
export function give_back(pool: LeasePool, connection: object, healthy: boolean): void {
  if (!healthy || (connection as Disposable).__knex__disposed || pool.numPendingAcquires() > 0) {
    pool.release(connection);
    return;
  }
  const k = kept_of(pool);
  const waiting = k.parked.shift();
  if (waiting !== undefined) {
    waiting.resolve(connection);
    return;
  }
  k.fresh.push(connection);
  if (!k.sweeping) {
    k.sweeping = true;
    setTimeout(sweep, KEEP_MS, pool, k).unref();
  }
}

/** Every KEEP_MS while anything is kept: what was idle through the whole last period goes back to the pool. */
function sweep(pool: LeasePool, k: Kept): void {
  const old = k.old;
  k.old = k.fresh;
  k.fresh = [];
  for (const connection of old) pool.release(connection);
  k.sweeping = k.old.length > 0;
  if (k.sweeping) setTimeout(sweep, KEEP_MS, pool, k).unref();
}

/** Returns every kept connection of `pool` to it now. */
function release_kept(pool: LeasePool, k: Kept): void {
  if (k.fresh.length === 0 && k.old.length === 0) return;
  const all = k.old.concat(k.fresh);
  k.old = [];
  k.fresh = [];
  for (const connection of all) pool.release(connection);
}

/** Returns every kept connection of `pool` now and sends waiting statements to the pool (before it is destroyed). */
export function release_all(pool: LeasePool): void {
  const k = kept.get(pool);
  if (k === undefined) return;
  release_kept(pool, k);
  for (const p of k.parked.splice(0)) unpark(p);
}
