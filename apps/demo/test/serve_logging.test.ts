/**
 * What `manage.ts serve` logs: by default (--log-level warn, as gunicorn keeps
 * no access log unless asked) no line per request; with --log-level info,
 * Fastify's two JSON lines per request.
 */
import { start_serve, type ServeProcess } from './serve_process';

jest.setTimeout(120_000);

let server: ServeProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function get_twice(url: string): Promise<void> {
  for (let i = 0; i < 2; i++) expect((await fetch(`${url}/get_cookie/`)).status).toBe(200);
}

it('by default, requests are served without a log line each', async () => {
  server = await start_serve({}, 60_000, { log_level: null });
  await get_twice(server.url);
  // The lines would have been written before the responses were sent.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(server.output()).not.toContain('incoming request');
  expect(server.output()).not.toContain('request completed');
});

it('--log-level info logs each request as JSON lines', async () => {
  server = await start_serve({}, 60_000, { log_level: 'info' });
  await get_twice(server.url);
  await server.wait_for('"request completed"', 10_000, 2);
  const completed = server.output().split('\n').filter((l) => l.includes('"request completed"'));
  expect(completed).toHaveLength(2);
  for (const line of completed) {
    const record = JSON.parse(line) as { level: number; res?: { statusCode?: number } };
    expect(record.level).toBe(30);
    expect(record.res?.statusCode).toBe(200);
  }
});
