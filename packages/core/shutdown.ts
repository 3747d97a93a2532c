/**
 * Pools and clients register how to close themselves here, so a graceful
 * shutdown (SIGTERM) or the end of a command releases every socket without
 * core importing the drivers.
 */
type Closer = () => Promise<void> | void;
const closers = new Set<Closer>();

export function on_shutdown(fn: Closer): () => void {
  closers.add(fn);
  return () => closers.delete(fn);
}

export async function shutdown(): Promise<void> {
  await Promise.allSettled([...closers].map((fn) => fn()));
}
