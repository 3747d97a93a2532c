import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { settings } from './conf';
import { HttpRequest } from './http/request';
import { HttpResponse, HttpResponsePermanentRedirect } from './http/response';
import { get_handler } from './handler';
import { same_site_location } from './http/same_site';
import { limit_connections, server_options } from './server_limits';
import { paint, status_colour, supports_color } from './management/color';
import type { MiddlewareFactory } from './middleware';
import { load_urlconf, resolve, root_urlconf, set_urlconf, type CompiledRoute, type URLEntry } from './urls/resolvers';

export interface AppOptions {
  /** Patterns to serve instead of settings.ROOT_URLCONF. */
  urlpatterns?: URLEntry[];
  /** Middleware factories instead of settings.MIDDLEWARE. */
  middleware?: MiddlewareFactory[];
  /** Django-style one-line access log on stdout (runserver). */
  access_log?: boolean;
  /** Fastify's (pino) logger options; off by default. */
  logger?: boolean | Record<string, unknown>;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

// eslint-disable-next-line no-control-regex
const ABOVE_LATIN1 = /[^\u0000-\u00ff]/;

/** Node writes header text as Latin-1; cookie values above U+00FF go out as their UTF-8 bytes. */
function toWire(s: string): string {
  return ABOVE_LATIN1.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

export function write_response(reply: FastifyReply, response: HttpResponse): FastifyReply {
  reply.code(response.status_code);
  // Nearly every response is ASCII, which ResponseHeaders noted as values were set.
  let rawBytes = response.headers.non_ascii;
  for (const [name, value] of response.headers) reply.header(name, rawBytes ? toWire(value) : value);
  if (response.has_cookies) {
    const lines: string[] = [];
    for (const morsel of response.cookies.values()) {
      const line = morsel.output();
      if (morsel.non_ascii) {
        rawBytes = true;
        lines.push(toWire(line));
      } else {
        lines.push(line);
      }
    }
    reply.header('set-cookie', lines.length === 1 ? lines[0] : lines);
  }
  // Node writes the header block in the body's encoding when it sends both in
  // one chunk: a string body would turn our Latin-1 bytes into UTF-8 twice.
  // A Buffer body makes Node write headers as Latin-1, i.e. the bytes we chose.
  const body = rawBytes && typeof response.content === 'string' ? Buffer.from(response.content) : response.content;
  return reply.send(body);
}

/**
 * Node keeps only the first of repeated Host headers; a request with two is
 * ambiguous (a proxy may have routed on the other), so every value is passed
 * on and check_host() refuses it. The raw list is walked without allocating.
 */
function all_hosts(raw: readonly string[]): string[] | undefined {
  let found = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') found++;
  if (found < 2) return undefined;
  const hosts: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') hosts.push(raw[i + 1]);
  return hosts;
}

function to_request(req: FastifyRequest): HttpRequest {
  const hosts = all_hosts(req.raw.rawHeaders);
  return new HttpRequest({
    method: req.method,
    url: req.url,
    headers: hosts ? { ...req.headers, host: hosts } : req.headers,
    body: Buffer.isBuffer(req.body) ? req.body : undefined,
    // Reading the socket's address costs more than the rest of this function; few views ask.
    remote_addr: () => req.ip,
    // Fastify's protocol is the socket's (https only on a TLS server, as trustProxy is off):
    // behind a proxy, SECURE_PROXY_SSL_HEADER decides, as in Django.
    scheme: req.protocol,
    server_port: () => (req.socket.localPort === undefined ? undefined : String(req.socket.localPort)),
  });
}

function accessLine(req: FastifyRequest, reply: FastifyReply): string {
  const d = new Date();
  const stamp = d.toUTCString().slice(5, 25).replace(/ /, '/').replace(/ /, '/').replace(/ /, ':');
  const length = reply.getHeader('content-length') ?? '-';
  const line = `[${stamp}] "${req.method} ${req.url} HTTP/${req.raw.httpVersion}" ${reply.statusCode} ${length}`;
  const colour = status_colour(reply.statusCode);
  return `${colour ? paint(line, colour, supports_color(process.stdout)) : line}\n`;
}

/**
 * Builds the Fastify app: each URL pattern becomes a Fastify route, so routing
 * costs what Fastify's router costs; every request runs settings.MIDDLEWARE
 * around the view, as Django's handler does.
 */
export async function create_app(options: AppOptions = {}): Promise<FastifyInstance> {
  // The app's patterns become the active URLconf, so reverse() in its views sees them.
  const routes: CompiledRoute[] = set_urlconf(options.urlpatterns ?? load_urlconf(root_urlconf()))!;
  const handler = get_handler(() => routes, options.middleware);
  const app = Fastify({
    logger: options.logger ?? false,
    // Bounded time for headers and body, bounded keep-alive (server_limits.ts).
    ...server_options(settings),
    routerOptions: {
      // Django serves /a/b/ and /a/b as different URLs; so do we.
      ignoreTrailingSlash: false,
      maxParamLength: 500,
    },
  });
  limit_connections(app, settings);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 2_621_440 }, (_req, body, done) => done(null, body));

  const seen = new Set<string>();
  let earlierParams = false;
  for (const route of routes) {
    // find-my-way refuses duplicate paths; the first declared one wins, as in Django.
    if (seen.has(route.fastify_path)) continue;
    seen.add(route.fastify_path);
    // find-my-way prefers literal segments over parameters whatever the order;
    // Django tries patterns in order. Only a route declared after a parametric
    // one can be affected, and only those pay for a check in declaration order.
    const shadowable = earlierParams;
    earlierParams ||= route.params.length > 0;
    app.route({
      method: [...METHODS],
      url: route.fastify_path,
      handler: async (req, reply) => {
        const request = to_request(req);
        let target = route;
        // Fastify's router already matched a route without parameters: no regex to run.
        let m = route.params.length === 0 && !shadowable ? null : route.regex.exec(request.path);
        if (shadowable) {
          const first = routes.find((r) => r.regex.test(request.path));
          if (first && first !== route) {
            target = first;
            m = target.regex.exec(request.path);
          }
        }
        const params = req.params as Record<string, string>;
        const args = target.params.map((p, i) => p.converter.to_js(m ? m[i + 1] : (params[p.name] ?? params['*'])));
        request.resolver_match = { func: target.view, route: target.route, url_name: target.name, args };
        write_response(reply, await handler(request));
      },
    });
  }

  app.setNotFoundHandler(async (req, reply) => {
    const pathname = req.url.split('?', 1)[0];
    // django.middleware.common.CommonMiddleware's APPEND_SLASH redirect.
    if (settings.APPEND_SLASH !== false && !pathname.endsWith('/') && (req.method === 'GET' || req.method === 'HEAD')) {
      // The Location is built as get_full_path_with_slash builds it, with
      // escape_leading_slashes: '//evil.com' must not redirect to '//evil.com/'.
      const location = same_site_location(`${pathname}/`, req.url.slice(pathname.length));
      try {
        if (location !== undefined) {
          resolve(`${pathname}/`, routes);
          return write_response(reply, new HttpResponsePermanentRedirect(location));
        }
      } catch {
        // not a slash problem: fall through to the 404 pipeline
      }
    }
    return write_response(reply, await handler(to_request(req)));
  });

  if (options.access_log) {
    app.addHook('onResponse', async (req, reply) => {
      process.stdout.write(accessLine(req, reply));
    });
  }
  return app;
}
