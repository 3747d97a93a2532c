/**
 * What MessageMiddleware costs a request that does not touch messages: the
 * request pipeline without HTTP (SessionMiddleware with the signed_cookies
 * engine, a view returning 'ok'), with and without MessageMiddleware inside
 * it, alternating rounds so both see the same machine load.
 *
 *   npx ts-node bench/messages_micro.ts [--rounds 30] [--n 20000]
 *
 * Prints the fastest and the median round, in microseconds per request.
 */
import { configure } from '../packages/core/conf';
import { HttpRequest } from '../packages/core/http/request';
import { HttpResponse } from '../packages/core/http/response';
import type { GetResponse } from '../packages/core/middleware';
import { MessageMiddleware } from '../packages/messages/middleware';
import { SessionMiddleware } from '../packages/sessions/middleware';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROUNDS = arg('rounds', 30);
const N = arg('n', 20000);

configure({ SECRET_KEY: 'messages-micro-secret', SESSION_ENGINE: 'signed_cookies' });
const view: GetResponse = async () => new HttpResponse('ok');
const cases: Array<[string, GetResponse]> = [
  ['sessions only', SessionMiddleware(view)],
  ['sessions + messages', SessionMiddleware(MessageMiddleware(view))],
];

async function round(handler: GetResponse): Promise<number> {
  const t0 = process.hrtime.bigint();
  // A cookie, as browsers send, but neither a session nor a messages one.
  for (let i = 0; i < N; i++) await handler(new HttpRequest({ url: '/', headers: { cookie: 'csrftoken=abc' } }));
  return Number(process.hrtime.bigint() - t0) / N / 1000;
}

async function main(): Promise<void> {
  const times = cases.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let c = 0; c < cases.length; c++) times[c].push(await round(cases[c][1]));
  }
  for (let c = 0; c < cases.length; c++) {
    const t = times[c].sort((a, b) => a - b);
    console.log(`${cases[c][0].padEnd(22)} fastest ${t[0].toFixed(2)} µs, median ${t[t.length >> 1].toFixed(2)} µs`);
  }
}

void main();
