/**
 * A small memcached binary-protocol client (memcached's protocol_binary.h)
 * for the commands memjs does not offer: GET with the item's CAS token, and
 * REPLACE with a CAS token (memcached's compare-and-swap). It has its own
 * connection per server, so it needs nothing of memjs's internals; the cache
 * makes memjs pick servers with server_index() (memjs's documented getServer
 * hook), so both clients agree on which server owns a key.
 *
 * Requests are pipelined on one socket per server and matched to responses by
 * their opaque field. A command that gets no answer within `command_ms`
 * fails, and the socket is dropped (the next command connects again).
 */
import * as net from 'node:net';

export const MC_GET = 0x00;
export const MC_REPLACE = 0x03;
export const MC_OK = 0x0000;
export const MC_KEY_ENOENT = 0x0001;
export const MC_KEY_EEXISTS = 0x0002;

const HEADER = 24;

export interface McResponse {
  status: number;
  /** The item's CAS token (8 bytes). */
  cas: Buffer;
  value: Buffer;
}

interface Pending {
  resolve(r: McResponse): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Connection {
  socket: net.Socket;
  pending: Map<number, Pending>;
  buffered: Buffer;
}

/**
 * The server index memjs uses by default (its utils.hashCode: Java's
 * String.hashCode, absolute value), kept so keys stay where they were.
 */
export function server_index(key: string, servers: number): number {
  if (servers <= 1) return 0;
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (31 * h + key.charCodeAt(i)) << 0;
  return Math.abs(h) % servers;
}

/** One binary-protocol request: a 24-byte header (magic 0x80, the CAS token at bytes 16–23), extras, key, value. */
export function encode_request(opcode: number, key: string, extras: Buffer, value: Buffer, opaque: number, cas: Buffer | null): Buffer {
  const k = Buffer.from(key);
  const buf = Buffer.alloc(HEADER + extras.length + k.length + value.length);
  buf.writeUInt8(0x80, 0);
  buf.writeUInt8(opcode, 1);
  buf.writeUInt16BE(k.length, 2);
  buf.writeUInt8(extras.length, 4);
  buf.writeUInt32BE(extras.length + k.length + value.length, 8);
  buf.writeUInt32BE(opaque, 12);
  if (cas) cas.copy(buf, 16);
  extras.copy(buf, HEADER);
  k.copy(buf, HEADER + extras.length);
  value.copy(buf, HEADER + extras.length + k.length);
  return buf;
}

export class MemcachedBinary {
  readonly #connections: (Connection | undefined)[];
  #opaque = 0;

  readonly #servers: readonly string[];
  readonly #opts: { connect_ms: number; command_ms: number };

  /** `servers` as 'host:port' (port 11211 when left out). */
  constructor(servers: readonly string[], opts: { connect_ms: number; command_ms: number }) {
    this.#servers = servers;
    this.#opts = opts;
    this.#connections = servers.map(() => undefined);
  }

  /** Sends one request to the server that owns `key` and resolves with its response. */
  request(key: string, opcode: number, extras: Buffer, value: Buffer, cas: Buffer | null): Promise<McResponse> {
    const index = server_index(key, this.#servers.length);
    const conn = this.#connection(index);
    this.#opaque = (this.#opaque + 1) >>> 0;
    const opaque = this.#opaque;
    return new Promise<McResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.pending.delete(opaque);
        reject(new Error(`memcached did not answer within ${this.#opts.command_ms} ms`));
        // Dropped now, not at its 'close' event: a command sent meanwhile goes on a new connection.
        if (this.#connections[index] === conn) this.#connections[index] = undefined;
        conn.socket.destroy();
      }, this.#opts.command_ms);
      conn.pending.set(opaque, { resolve, reject, timer });
      conn.socket.ref();
      conn.socket.write(encode_request(opcode, key, extras, value, opaque, cas));
    });
  }

  /** Closes every connection; commands under way fail. */
  close(): void {
    for (const conn of this.#connections) conn?.socket.destroy();
  }

  #connection(index: number): Connection {
    const open = this.#connections[index];
    if (open !== undefined) return open;
    const [host, port] = split_location(this.#servers[index]);
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const conn: Connection = { socket, pending: new Map(), buffered: Buffer.alloc(0) };
    this.#connections[index] = conn;
    const connect_timer = setTimeout(() => socket.destroy(new Error(`memcached at ${host}:${port}: no connection within ${this.#opts.connect_ms} ms`)), this.#opts.connect_ms);
    socket.once('connect', () => clearTimeout(connect_timer));
    socket.on('data', (chunk: Buffer) => this.#received(conn, chunk));
    socket.on('error', () => undefined); // reported through 'close' to every pending command
    socket.on('close', () => {
      clearTimeout(connect_timer);
      if (this.#connections[index] === conn) this.#connections[index] = undefined;
      for (const p of conn.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`memcached connection to ${host}:${port} closed`));
      }
      conn.pending.clear();
    });
    // Idle, it does not hold the process open.
    socket.unref();
    return conn;
  }

  #received(conn: Connection, chunk: Buffer): void {
    let buf = conn.buffered.length === 0 ? chunk : Buffer.concat([conn.buffered, chunk]);
    while (buf.length >= HEADER) {
      if (buf.readUInt8(0) !== 0x81) {
        conn.socket.destroy(new Error('memcached sent a response that is not binary protocol'));
        return;
      }
      const total = HEADER + buf.readUInt32BE(8);
      if (buf.length < total) break;
      const extras = buf.readUInt8(4);
      const key_length = buf.readUInt16BE(2);
      const opaque = buf.readUInt32BE(12);
      const response: McResponse = {
        status: buf.readUInt16BE(6),
        cas: Buffer.from(buf.subarray(16, 24)),
        value: Buffer.from(buf.subarray(HEADER + extras + key_length, total)),
      };
      buf = buf.subarray(total);
      const p = conn.pending.get(opaque);
      if (p !== undefined) {
        conn.pending.delete(opaque);
        clearTimeout(p.timer);
        p.resolve(response);
      }
    }
    conn.buffered = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    // Waiting for answers, the socket keeps the process alive; idle, it does not.
    if (conn.pending.size > 0) conn.socket.ref();
    else conn.socket.unref();
  }
}

function split_location(location: string): [string, number] {
  // memjs's own reading of LOCATION: an optional user:pass@ prefix, then host[:port].
  const host_port = location.split('@').pop() as string;
  const i = host_port.lastIndexOf(':');
  return i === -1 ? [host_port, 11211] : [host_port.slice(0, i), Number(host_port.slice(i + 1)) || 11211];
}
