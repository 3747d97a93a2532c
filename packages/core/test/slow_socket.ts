/** Raw-socket clients that send slowly, for the slow-client tests (issue 19, item 6). */
import * as net from 'node:net';

export interface Outcome {
  /** Milliseconds from connecting to the server closing the connection. */
  closed_after: number;
  data: string;
}

/**
 * Connects, sends `first` at once, then one of `drip` every `every_ms` until
 * the server closes the connection (or `give_up_ms`, when it is the test that closes).
 */
export function dribble(port: number, first: string, drip: string, every_ms: number, give_up_ms = 15_000): Promise<Outcome> & { socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  const start = Date.now();
  let data = '';
  const p = new Promise<Outcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      if (first) socket.write(first);
      if (drip) timer = setInterval(() => { if (!socket.destroyed) socket.write(drip); }, every_ms);
    });
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    const give_up = setTimeout(() => socket.destroy(), give_up_ms);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(give_up);
      resolve({ closed_after: Date.now() - start, data });
    });
  });
  return Object.assign(p, { socket });
}

export function status_of(data: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
}
