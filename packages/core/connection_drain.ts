/**
 * Closing an HTTP server without resetting a keep-alive connection.
 *
 * Node's http.Server.close() (and so Fastify's close()) destroys every
 * connection that is idle at that instant. On a busy keep-alive connection
 * "idle" lasts a round trip: the client has often already sent its next
 * request, which then meets a reset ("socket hang up"). Instead, once
 * draining, every response carries `Connection: close` (the client will not
 * reuse the socket, and Node ends it after the response), and a connection
 * with no request in progress is ended only after it has been idle for
 * IDLE_CLOSE_MS, the same bet keepAliveTimeout makes every day. After the
 * grace period whatever is left is destroyed.
 */
import type * as http from 'node:http';
import * as net from 'node:net';

/** A connection idle this long during a drain is ended (FIN, not RST). */
export const IDLE_CLOSE_MS = 1000;
const SWEEP_MS = 50;

interface ConnectionState {
  /** Requests read and not yet answered on this connection. */
  active: number;
  idle_since: number;
}

export class ConnectionDrain {
  readonly #connections = new Map<net.Socket, ConnectionState>();
  #draining = false;
  #on_empty: (() => void) | undefined;

  readonly #server: http.Server;

  constructor(server: http.Server) {
    this.#server = server;
    server.on('connection', (socket: net.Socket) => {
      this.#connections.set(socket, { active: 0, idle_since: Date.now() });
      socket.once('close', () => {
        this.#connections.delete(socket);
        if (this.#connections.size === 0) this.#on_empty?.();
      });
    });
    // Before Fastify's own listener, so the header is set before any handler can answer.
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const state = this.#connections.get(req.socket);
      if (state) state.active++;
      if (this.#draining) res.setHeader('connection', 'close');
      res.once('close', () => {
        if (!state) return;
        state.active--;
        state.idle_since = Date.now();
      });
    });
  }

  /** Open connections right now. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * Stops accepting new connections, leaving open ones alone. net.Server's
   * close, not http.Server's: the latter also destroys idle keep-alive
   * connections (Node 19+), which is the reset this class exists to avoid.
   */
  stop_listening(): void {
    net.Server.prototype.close.call(this.#server);
  }

  /**
   * Answers every further request with `Connection: close`, ends idle
   * connections, and resolves when none is left, or after `grace_ms` with
   * the number destroyed then.
   */
  drain(grace_ms: number): Promise<number> {
    this.#draining = true;
    return new Promise((resolve) => {
      const sweep = setInterval(() => {
        const now = Date.now();
        for (const [socket, state] of this.#connections) {
          if (state.active === 0 && now - state.idle_since >= IDLE_CLOSE_MS && !socket.writableEnded) socket.end();
        }
      }, SWEEP_MS);
      const deadline = setTimeout(() => {
        const left = this.#connections.size;
        for (const socket of this.#connections.keys()) socket.destroy();
        done(left);
      }, grace_ms);
      const done = (left: number) => {
        clearInterval(sweep);
        clearTimeout(deadline);
        this.#on_empty = undefined;
        resolve(left);
      };
      this.#on_empty = () => done(0);
      if (this.#connections.size === 0) done(0);
    });
  }
}
