/**
 * Bounds on slow clients, from settings (issue 19, item 6). Without them a
 * client sending one byte every few seconds held its connection for as long
 * as it liked (Fastify turns Node's requestTimeout off), and enough such
 * clients held the process. Node enforces the header and request deadlines
 * by sweeping its connections every connectionsCheckingInterval (30 s by
 * default, which would let a 2 s limit run to 32 s); the sweep here runs at a
 * tenth of the shortest limit, at most once a second, so a limit is kept to
 * within about a tenth of itself. A request over its time gets a 408 and the
 * connection is closed.
 */
import type { ServerOptions } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Settings } from './conf';
import { get_logger } from './log';

type Limits = Pick<Settings, 'REQUEST_HEADERS_TIMEOUT' | 'REQUEST_TIMEOUT' | 'KEEP_ALIVE_TIMEOUT' | 'MAX_CONNECTIONS'>;

/** How often Node sweeps for requests over their time, in milliseconds. */
export function checking_interval(s: Limits): number {
  const limits = [s.REQUEST_HEADERS_TIMEOUT, s.REQUEST_TIMEOUT].filter((t) => t > 0);
  if (!limits.length) return 30_000;
  return Math.min(1000, Math.max(25, Math.floor(Math.min(...limits) / 10)));
}

/** The Fastify (and Node http.createServer) options that carry the limits. */
export function server_options(s: Limits): { requestTimeout: number; keepAliveTimeout: number; http: ServerOptions } {
  return {
    // Fastify sets requestTimeout and keepAliveTimeout on the server itself;
    // http.createServer validates headersTimeout against its requestTimeout,
    // so both go to it as well.
    requestTimeout: s.REQUEST_TIMEOUT,
    keepAliveTimeout: s.KEEP_ALIVE_TIMEOUT,
    http: {
      headersTimeout: s.REQUEST_HEADERS_TIMEOUT,
      requestTimeout: s.REQUEST_TIMEOUT,
      connectionsCheckingInterval: checking_interval(s),
    },
  };
}

const DROP_LOG_EVERY_MS = 10_000;

/**
 * MAX_CONNECTIONS: Node closes a connection as it arrives when the process
 * already holds that many. Refusals are logged on tango.security, the first
 * at once and then a count at most every ten seconds, so a flood of them is
 * visible without flooding the log.
 */
export function limit_connections(app: FastifyInstance, s: Limits): void {
  if (s.MAX_CONNECTIONS <= 0) return;
  app.server.maxConnections = s.MAX_CONNECTIONS;
  const log = get_logger('tango.security.MaxConnections');
  let dropped = 0;
  let last = 0;
  app.server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - last < DROP_LOG_EVERY_MS) return;
    log.warn(`Refused ${dropped} connection(s): the server already holds MAX_CONNECTIONS = ${s.MAX_CONNECTIONS}.`);
    dropped = 0;
    last = now;
  });
}
