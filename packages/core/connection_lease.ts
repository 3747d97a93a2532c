/**
 * Pooled connections that fixed statements (db_statements) keep for a moment
 * after use, so the next statement of the same event-loop turn, or of the
 * turn after, runs on one of them without a round through knex's pool. An
 * acquire and release there (tarn's pending operation, its timeout race,
 * knex's validation) make some twenty promises per statement, about as many as
 * the rest of a session request together.
 *
 * A kept connection stays checked out of the pool, so the pool's limits and
 * timeouts still hold for everyone else. It goes back to the pool when anyone
 * is waiting for a connection, when it broke (knex marks it disposed, or a
 * statement on it failed), and otherwise once it has been idle through one
 * whole turn of the event loop.
 */

/** The part of a tarn pool used here. */
export interface LeasePool {
  numPendingAcquires(): number;
  release(connection: object): boolean;
}

/** knex sets this on a connection that errored or ended; the pool destroys such a connection instead of lending it again. */
interface Disposable {
  __knex__disposed?: unknown;
}

interface Kept {
  /** Idle since the last sweep: the most recently used, handed out first. */
  fresh: object[];
  /** Idle through a whole sweep already: returned to the pool at the next one. */
  old: object[];
  sweeping: boolean;
}

const kept = new WeakMap<LeasePool, Kept>();

function kept_of(pool: LeasePool): Kept {
  let k = kept.get(pool);
  if (k === undefined) kept.set(pool, (k = { fresh: [], old: [], sweeping: false }));
  return k;
}

/** A kept connection of `pool` that is still usable, or undefined (then acquire one from the pool). */
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

/** Hands `connection` back after a statement: kept for the next one, or returned to the pool (see the module comment). */
export function give_back(pool: LeasePool, connection: object, healthy: boolean): void {
  if (!healthy || (connection as Disposable).__knex__disposed || pool.numPendingAcquires() > 0) {
    pool.release(connection);
    return;
  }
  const k = kept_of(pool);
  k.fresh.push(connection);
  if (!k.sweeping) {
    k.sweeping = true;
    setImmediate(sweep, pool, k);
  }
}

function sweep(pool: LeasePool, k: Kept): void {
  for (const connection of k.old) pool.release(connection);
  k.old = k.fresh;
  k.fresh = [];
  k.sweeping = k.old.length > 0;
  if (k.sweeping) setImmediate(sweep, pool, k);
}

/** Returns every kept connection of `pool` now (before the pool is destroyed). */
export function release_all(pool: LeasePool): void {
  const k = kept.get(pool);
  if (k === undefined) return;
  for (const connection of k.old.concat(k.fresh)) pool.release(connection);
  k.old = [];
  k.fresh = [];
}
