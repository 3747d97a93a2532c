/**
 * Saves of one session key inside one process: one write at a time, and the
 * saves that queued up behind it written together.
 *
 * Many requests on one session at once (a page that fires several XHRs, a
 * client that retries) all load the same record. Each save compares against
 * the record it loaded, so all but the first meet a conflict, re-read and
 * retry: under load nearly every save paid a wasted compare-and-swap, a sleep
 * and a read (bench/NOTES.md, "Hot sessions"). Here a save starts after the
 * previous write of its key in this process has finished, and is handed the
 * record that write left, so it puts its changes on top of that record and
 * compares against it: it succeeds first time unless another process wrote
 * meanwhile, which the compare-and-swap still catches.
 *
 * Taking turns one save at a time still binds a hot key to one store round
 * trip per request. So the saves that arrive while a write of their key is
 * running wait together, as one batch: when the write ends, the first of
 * them (the leader) puts each one's changes on top of the record, in the
 * order they arrived, and writes the result once, with one compare-and-swap
 * (SessionBase decides how; see QueuedSave). Every save of the batch is
 * answered when that write has succeeded, or fails with its error. A save
 * that cannot share a write (QueuedSave.coalesce false) is a batch by itself,
 * and the saves after it start a new one, so the order holds.
 *
 * Entries live only while a save of their key is queued or running, so the
 * map holds at most one entry per session being saved right now.
 */
import { register_memo } from '@tango/core/memos';
import type { StoredState } from './store_io';

/** One save waiting for its key's turn. */
export interface QueuedSave {
  /** Whether it may share one write with the saves queued next to it. */
  readonly coalesce: boolean;
  /** Writes this save on its own, on top of `previous` (what the write before it left, or null); returns what it wrote. */
  alone(previous: StoredState | null): Promise<StoredState | null>;
  /**
   * Writes this save and, after it, `riders` (the other saves of its batch,
   * in arrival order) as one record on top of `previous`. Rejects when that
   * write failed in a way each of them would have met alone (the store is
   * down, the record is gone): all of them get that error. Resolves to what
   * it wrote and the saves it did not write (nothing written when one save's
   * own data failed it: all of them), which then run alone, in order.
   */
  together(previous: StoredState | null, riders: readonly QueuedSave[]): Promise<{ last: StoredState | null; apart: readonly QueuedSave[] }>;
}

interface Member {
  save: QueuedSave;
  resolve(): void;
  reject(err: unknown): void;
}

interface Turn {
  /** Settles when the latest batch queued for this key has finished. */
  tail: Promise<void>;
  /** The batch waiting for the running one, which a new save may still join; null if none. */
  open: Member[] | null;
  /** Saves queued or running. */
  waiting: number;
  /** What the last finished write of this key left, or null. */
  last: StoredState | null;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * `previous` at most `ms` (0: without limit). A write stuck on a store that
 * does not answer is bounded by SESSION_STORE_TIMEOUT; the batch behind it
 * then goes ahead on its own rather than each save waiting out its own
 * timeout in turn. Going ahead early is safe: the compare-and-swap still decides.
 */
function wait_at_most(previous: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return previous;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([previous, expired]).finally(() => clearTimeout(timer));
}

export class SaveQueue {
  readonly #turns = new Map<string, Turn>();

  /** Keys with a save queued or running (for tests: the map must empty itself). */
  get size(): number {
    return this.#turns.size;
  }

  /** Runs `save` after the writes of `key` queued before it, sharing a write with its batch when it can; settles with its own outcome. */
  run(key: string, max_wait_ms: number, save: QueuedSave): Promise<void> {
    let turn = this.#turns.get(key);
    if (turn === undefined) this.#turns.set(key, (turn = { tail: DONE, waiting: 0, last: null, open: null }));
    const t = turn;
    const queued = t.waiting++ > 0;
    return new Promise<void>((resolve, reject) => {
      const member: Member = { save, resolve, reject };
      if (save.coalesce && t.open !== null) {
        t.open.push(member);
        return;
      }
      const batch = [member];
      // Only a batch that has to wait can be joined: a running write has read its batch already.
      t.open = queued && save.coalesce ? batch : null;
      void this.#run_batch(key, t, batch, queued, max_wait_ms);
    });
  }

  async #run_batch(key: string, turn: Turn, batch: Member[], queued: boolean, max_wait_ms: number): Promise<void> {
    const before = turn.tail;
    let release!: () => void;
    turn.tail = new Promise<void>((resolve) => { release = resolve; });
    try {
      if (queued) await wait_at_most(before, max_wait_ms);
      // From here on, saves that arrive form the next batch.
      if (turn.open === batch) turn.open = null;
      await this.#write(turn, batch);
    } finally {
      release();
      turn.waiting -= batch.length;
      if (turn.waiting === 0 && this.#turns.get(key) === turn) this.#turns.delete(key);
    }
  }

  async #write(turn: Turn, batch: readonly Member[]): Promise<void> {
    let apart: readonly Member[] = batch;
    if (batch.length > 1) {
      const [leader, ...riders] = batch;
      try {
        const r = await leader.save.together(turn.last, riders.map((m) => m.save));
        turn.last = r.last;
        apart = batch.filter((m) => r.apart.includes(m.save));
        for (const m of batch) if (!apart.includes(m)) m.resolve();
      } catch (err) {
        for (const m of batch) m.reject(err);
        return;
      }
    }
    for (const m of apart) {
      try {
        turn.last = await m.save.alone(turn.last);
        m.resolve();
      } catch (err) {
        m.reject(err);
      }
    }
  }
}

let queues = new WeakMap<object, SaveQueue>();
// A save already queued finishes in its old queue; the compare-and-swap still orders it against the new one.
register_memo('sessions.save_queues', () => {
  queues = new WeakMap();
});

/** The queue of one engine class: two engines never share a record, whatever their keys. */
export function save_queue(engine: object): SaveQueue {
  let q = queues.get(engine);
  if (q === undefined) queues.set(engine, (q = new SaveQueue()));
  return q;
}
