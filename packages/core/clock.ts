/**
 * The one source of "now" for signing, cookies and sessions, so tests pin the
 * clock instead of sleeping (Django's tests freeze time.time the same way).
 */
export const clock = {
  /** Milliseconds since the epoch. */
  now: (): number => Date.now(),
};

/** Seconds since the epoch, as Python's time.time(). */
export function time(): number {
  return clock.now() / 1000;
}

/** Pins the clock to `ms` (or a Date) until the returned function is called. */
export function freeze_time(at: number | Date): () => void {
  const previous = clock.now;
  const ms = typeof at === 'number' ? at : at.getTime();
  clock.now = () => ms;
  return () => {
    clock.now = previous;
  };
}
