/**
 * The load of bench/callgrind/run.sh when SESSIONS is set: creates that many
 * sessions through the server's S4 view, then sends their cookies in turn
 * (as the bench does), so that concurrent saves do not meet on one session.
 *
 *   npx ts-node bench/callgrind/drive.ts PORT PATH CONNECTIONS SECONDS SESSIONS
 */
import { PATHS, SESSION_COOKIE_NAME } from '../config';
import { create_sessions } from '../stores';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>, cb: (err: Error | null, r: { requests: { total: number }; non2xx: number }) => void) => unknown;

async function main(): Promise<void> {
  const [port, urlpath, connections, seconds, sessions] = process.argv.slice(2);
  const cookies = (await create_sessions(Number(port), Number(sessions))).map((v) => `${SESSION_COOKIE_NAME}=${v}`);
  let turn = 0;
  autocannon({
    url: `http://127.0.0.1:${port}${urlpath ?? PATHS.S5}`,
    connections: Number(connections),
    duration: Number(seconds),
    requests: [{
      method: 'GET',
      setupRequest: (req: { headers?: Record<string, string> }) => ({ ...req, headers: { ...req.headers, cookie: cookies[turn++ % cookies.length] } }),
    }],
  }, (err, r) => console.log(err ? String(err) : `${r.requests.total} requests, ${r.non2xx} not 2xx`));
}

void main();
