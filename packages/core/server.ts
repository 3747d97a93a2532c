/**
 * The HTTP front of the request pipeline: create_app() turns the URLconf into
 * Fastify routes (so matching costs what Fastify's router costs), turns each
 * Fastify request into an HttpRequest, hands it to the handler (handler.ts),
 * and writes the HttpResponse back with write_response(). Django has no such
 * layer (its WSGI server is outside it); this is where Tango meets Node.
 * APPEND_SLASH's redirect lives here too, in the not-found route.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { settings } from './conf';
import { HttpRequest } from './http/request';
import { HttpResponse, HttpResponsePermanentRedirect } from './http/response';
import { TangoError } from './errors';
import { get_handler } from './handler';
import { response_for_exception } from './http/exception_response';
import { same_site_location } from './http/same_site';
import { limit_connections, server_options } from './server_limits';
import { paint, status_colour, supports_color } from './management/color';
import { log_time } from './log';
import type { GetResponse, MiddlewareFactory } from './middleware';
import { load_urlconf, resolve, root_urlconf, set_script_prefix, set_urlconf, type CompiledRoute, type URLEntry } from './urls/resolvers';

export interface AppOptions extends MountOptions {
  /** Fastify's (pino) logger options; off by default. */
  logger?: boolean | Record<string, unknown>;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

// eslint-disable-next-line no-control-regex
const ABOVE_LATIN1 = /[^\u0000-\u00ff]/;

/** Node writes header text as Latin-1; cookie values above U+00FF go out as their UTF-8 bytes. */
function to_wire(s: string): string {
  return ABOVE_LATIN1.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

export function write_response(reply: FastifyReply, response: HttpResponse): FastifyReply {
  reply.code(response.status_code);
  // Nearly every response is ASCII, which ResponseHeaders noted as values were set.
  let raw_bytes = response.headers.non_ascii;
  for (const [name, value] of response.headers) reply.header(name, raw_bytes ? to_wire(value) : value);
  if (response.has_cookies) {
    const lines: string[] = [];
    for (const morsel of response.cookies.values()) {
      const line = morsel.output();
      if (morsel.non_ascii) {
        raw_bytes = true;
        lines.push(to_wire(line));
      } else {
        lines.push(line);
      }
    }
    reply.header('set-cookie', lines.length === 1 ? lines[0] : lines);
  }
  // Node writes the header block in the body's encoding when it sends both in
  // one chunk: a string body would turn our Latin-1 bytes into UTF-8 twice.
  // A Buffer body makes Node write headers as Latin-1, i.e. the bytes we chose.
  const body = raw_bytes && typeof response.content === 'string' ? Buffer.from(response.content) : response.content;
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

function to_request(req: FastifyRequest, script_name: string): HttpRequest {
  const hosts = all_hosts(req.raw.rawHeaders);
  return new HttpRequest({
    method: req.method,
    url: req.url,
    script_name,
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

function access_line(req: FastifyRequest, reply: FastifyReply, coloured: boolean): string {
  const stamp = log_time();
  const length = reply.getHeader('content-length') ?? '-';
  const line = `[${stamp}] "${req.method} ${req.url} HTTP/${req.raw.httpVersion}" ${reply.statusCode} ${length}`;
  const colour = status_colour(reply.statusCode);
  return `${colour ? paint(line, colour, coloured) : line}\n`;
}

/**
 * How Tango's URLs reach it inside a Fastify instance:
 * - 'router': each URL pattern becomes a Fastify route, so routing costs what
 *   Fastify's router costs, and unmatched paths go to the not-found handler
 *   (create_app: Tango owns the whole server);
 * - 'catch_all': one wildcard route takes whatever no other Fastify route
 *   matches and Tango resolves it, so routes the host app declares beside
 *   Tango always win where they match (the Fastify plugin).
 */
export type Routing = 'router' | 'catch_all';

export interface MountOptions {
  /** Patterns to serve instead of settings.ROOT_URLCONF. */
  urlpatterns?: URLEntry[];
  /** Middleware factories instead of settings.MIDDLEWARE. */
  middleware?: MiddlewareFactory[];
  /** Django-style one-line access log on stdout (runserver). */
  access_log?: boolean;
}

/** A Fastify error (a body over the limit, a bad Content-Length) as a Tango error page with its status. */
class RequestRefused extends TangoError {
  override readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** The status a Fastify error (or a host plugin's, such as a rate limiter's 429) asks for; a plain 500 is Tango's own. */
function error_status(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 && status !== 500 ? status : undefined;
}

/**
 * Mounts Tango's request pipeline (settings.MIDDLEWARE around the URLconf's
 * views, as Django's handler runs them) in `app`, which may be an
 * encapsulated plugin context: the body parser, error handler and hooks set
 * here stay in it. A prefix the context was registered with is the request's
 * script name (Django's SCRIPT_NAME): views see it in request.path, resolve
 * request.path_info, and reverse() puts it in front of the URLs it builds.
 */
export function mount(app: FastifyInstance, options: MountOptions & { routing: Routing }): void {
  // The app's patterns become the active URLconf, so reverse() in its views sees them.
  const routes: CompiledRoute[] = set_urlconf(options.urlpatterns ?? load_urlconf(root_urlconf()))!;
  const handler = get_handler(() => routes, options.middleware);
  const script_name = app.prefix.replace(/\/+$/, '');
  set_script_prefix(script_name);
  app.removeAllContentTypeParsers();
  // Django's DATA_UPLOAD_MAX_MEMORY_SIZE default (2.5 MiB).
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 2_621_440 }, (_req, body, done) => done(null, body));
  // Views and middleware turn their exceptions into responses themselves; what
  // reaches here was raised around them (a body over the limit, a hook of the
  // host app), and it is answered by Tango's error pages too.
  app.setErrorHandler(async (err, req, reply) => {
    const status = error_status(err);
    const cause = status === undefined ? err : new RequestRefused(err instanceof Error ? err.message : String(err), status);
    return write_response(reply, response_for_exception(to_request(req, script_name), cause));
  });

  if (options.routing === 'router') {
    route_each_pattern(app, routes, handler, script_name);
  }

  const fallback = async (req: FastifyRequest, reply: FastifyReply) => {
    const request = to_request(req, script_name);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const redirect = append_slash(req.url, request, routes);
      if (redirect) return write_response(reply, redirect);
    }
    return write_response(reply, await handler(request));
  };
  if (options.routing === 'router') {
    app.setNotFoundHandler(fallback);
  } else {
    // With a prefix, '/' is both '/prefix' and '/prefix/' (Fastify's prefixTrailingSlash).
    app.route({ method: [...METHODS], url: '/', handler: fallback });
    app.route({ method: [...METHODS], url: '/*', handler: fallback });
  }

  if (options.access_log) {
    // Asked once (reading process.env is a call into Node each time), as Django's color_style() is at start-up.
    const coloured = supports_color(process.stdout);
    app.addHook('onResponse', async (req, reply) => {
      process.stdout.write(access_line(req, reply, coloured));
    });
  }
}

/**
 * django.middleware.common.CommonMiddleware's APPEND_SLASH redirect, for a
 * path no pattern matches but would with a slash; the mount point itself
 * ('/prefix') goes to '/prefix/' too.
 */
function append_slash(url: string, request: HttpRequest, routes: CompiledRoute[]): HttpResponse | undefined {
  if (settings.APPEND_SLASH === false) return undefined;
  const pathname = url.split('?', 1)[0];
  if (pathname.endsWith('/')) return undefined;
  // The Location is built as get_full_path_with_slash builds it, with
  // escape_leading_slashes: '//evil.com' must not redirect to '//evil.com/'.
  const location = same_site_location(`${pathname}/`, url.slice(pathname.length));
  if (location === undefined) return undefined;
  if (request.path_info !== '') {
    try {
      resolve(`${request.path_info}/`, routes);
    } catch {
      // not a slash problem: the 404 pipeline answers
      return undefined;
    }
  }
  return new HttpResponsePermanentRedirect(location);
}

function route_each_pattern(app: FastifyInstance, routes: CompiledRoute[], handler: GetResponse, script_name: string): void {
  const seen = new Set<string>();
  let earlier_params = false;
  for (const route of routes) {
    // find-my-way refuses duplicate paths; the first declared one wins, as in Django.
    if (seen.has(route.fastify_path)) continue;
    seen.add(route.fastify_path);
    // find-my-way prefers literal segments over parameters whatever the order;
    // Django tries patterns in order. Only a route declared after a parametric
    // one can be affected, and only those pay for a check in declaration order.
    const shadowable = earlier_params;
    earlier_params ||= route.params.length > 0;
    app.route({
      method: [...METHODS],
      url: route.fastify_path,
      handler: async (req, reply) => {
        const request = to_request(req, script_name);
        let target = route;
        // Fastify's router already matched a route without parameters: no regex to run.
        let m = route.params.length === 0 && !shadowable ? null : route.regex.exec(request.path_info);
        if (shadowable) {
          const first = routes.find((r) => r.regex.test(request.path_info));
          if (first && first !== route) {
            target = first;
            m = target.regex.exec(request.path_info);
          }
        }
        const params = req.params as Record<string, string>;
        const args = target.params.map((p, i) => p.converter.to_js(m ? m[i + 1] : (params[p.name] ?? params['*'])));
        request.resolver_match = { func: target.view, route: target.route, url_name: target.name, args };
        write_response(reply, await handler(request));
      },
    });
  }
}

/**
 * Builds a Fastify app that is all Tango (runserver, serve, the test Client):
 * the server carries Tango's limits (server_limits.ts) and every URL pattern
 * is a Fastify route.
 */
export async function create_app(options: AppOptions = {}): Promise<FastifyInstance> {
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
  mount(app, { ...options, routing: 'router' });
  return app;
}
