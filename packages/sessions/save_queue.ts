/**
 * Saves of one session key inside one process, one after another.
 *
 * Many requests on one session at once (a page that fires several XHRs, a
 * client that retries) all load the same record. Each save compares against
 * the record it loaded, so all but the first meet a conflict, re-read and
 * retry: under load nearly every save paid a wasted compare-and-swap, a sleep
 * and a read (bench/NOTES.md, "Hot sessions"). In turn, a save starts after
 * the previous save of its key in this process has finished, and is handed
 * the record that save wrote, so it puts its changes on top of that record
 * and compares against it: it succeeds first time unless another process
 * wrote meanwhile, which the compare-and-swap still catches.
 *
 * Entries live only while a save of their key is queued or running, so the
 * map holds at most one entry per session being saved right now.
 */
import { register_memo } from '@tango/core/memos';
import type { StoredState } from './store_io';

interface Turn {
  /** Settles when the latest save queued for this key has finished. */
  tail: Promise<void>;
  /** Saves queued or running. */
  waiting: number;
  /** What the last finished save of this key wrote, or null. */
  last: StoredState | null;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * `previous` at most `ms` (0: without limit). A save stuck on a store that
 * does not answer is bounded by SESSION_STORE_TIMEOUT; the saves behind it
 * then go ahead on their own rather than each waiting out its own timeout in
 * turn. Going ahead early is safe: the compare-and-swap still decides.
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

  /**
   * Runs `save` after the saves of `key` queued before it. It receives what
   * the last of them wrote (null if none, or if it failed) and returns what
   * it wrote itself.
   */
  async run(key: string, max_wait_ms: number, save: (previous: StoredState | null) => Promise<StoredState | null>): Promise<void> {
    let turn = this.#turns.get(key);
    if (turn === undefined) this.#turns.set(key, (turn = { tail: DONE, waiting: 0, last: null }));
    const before = turn.tail;
    let release!: () => void;
    turn.tail = new Promise<void>((resolve) => { release = resolve; });
    const queued = turn.waiting++ > 0;
    try {
      if (queued) await wait_at_most(before, max_wait_ms);
      turn.last = await save(turn.last);
    } finally {
      release();
      if (--turn.waiting === 0 && this.#turns.get(key) === turn) this.#turns.delete(key);
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
