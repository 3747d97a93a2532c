/**
 * The memcached compare-and-swap connection (@tango/core/memcached_binary)
 * against real memcached servers started here: with several servers, memjs
 * (through its getServer hook) and this client send a key to the same server;
 * pipelined requests get their own answers; a server that does not answer
 * fails the command in time, and the next command connects again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { execFileSync } from 'node:child_process';
import { close_caches, get_cache } from '../cache';
import { configure } from '../conf';
import { MC_GET, MC_KEY_ENOENT, MC_OK, MemcachedBinary, server_index } from '../memcached_binary';
import { free_port } from '../testing/ports';

function has_memcached(): boolean {
  try {
    execFileSync('memcached', ['-h'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}


async function start_memcached(): Promise<{ proc: ChildProcess; location: string }> {
  const port = await free_port();
  const proc = spawn('memcached', ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16', ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return { proc, location: `127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill();
  throw new Error('memcached did not start');
}

if (!has_memcached()) process.stdout.write('skipping memcached_binary tests: no memcached binary on PATH\n');
const suite = has_memcached() ? describe : describe.skip;

suite('memcached binary client', () => {
  const servers: { proc: ChildProcess; location: string }[] = [];

  beforeAll(async () => {
    servers.push(await start_memcached(), await start_memcached());
  });
  afterAll(async () => {
    await close_caches();
    for (const s of servers) s.proc.kill();
  });

  test('with two servers, an entry memjs wrote is on the server this client picks, and gets() reads it', async () => {
    const locations = servers.map((s) => s.location);
    configure({ SECRET_KEY: 's', CACHES: { default: { BACKEND: 'memcached', LOCATION: locations } } });
    const cache = get_cache();
    const direct = locations.map((l) => new MemcachedBinary([l], { connect_ms: 1000, command_ms: 1000 }));
    const used = new Set<number>();
    try {
      for (let i = 0; i < 40; i++) {
        const key = `route-${i}-${Math.random().toString(36).slice(2)}`;
        await cache.set(key, { i }, 60_000);
        expect((await cache.gets(key))?.value).toEqual({ i });
        // Where memjs put it: only on the server server_index names.
        const owner = server_index(key, locations.length);
        used.add(owner);
        const statuses = await Promise.all(direct.map((d) => d.request(key, MC_GET, Buffer.alloc(0), Buffer.alloc(0), null).then((r) => r.status)));
        expect(statuses).toEqual(locations.map((_, j) => (j === owner ? MC_OK : MC_KEY_ENOENT)));
      }
      expect(used.size).toBe(2);
    } finally {
      for (const d of direct) d.close();
      await close_caches();
    }
  });

  test('pipelined requests each get their own answer', async () => {
    configure({ SECRET_KEY: 's', CACHES: { default: { BACKEND: 'memcached', LOCATION: servers[0].location } } });
    const cache = get_cache();
    const keys = Array.from({ length: 50 }, (_, i) => `pipe-${i}-${Math.random().toString(36).slice(2)}`);
    await Promise.all(keys.map((k, i) => cache.set(k, { i }, 60_000)));
    const read = await Promise.all(keys.map((k) => cache.gets(k)));
    expect(read.map((r) => r?.value)).toEqual(keys.map((_, i) => ({ i })));
    await close_caches();
  });

  test('a server that does not answer fails the command within command_ms; the next command connects again', async () => {
    const sockets: net.Socket[] = [];
    let answer = false;
    const real = servers[0].location.split(':');
    // Accepts and stays silent until `answer`; then forwards to the real memcached.
    const silent = net.createServer((socket) => {
      sockets.push(socket);
      if (answer) {
        const upstream = net.connect(Number(real[1]), real[0]);
        socket.pipe(upstream).pipe(socket);
        upstream.on('error', () => socket.destroy());
      }
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const client = new MemcachedBinary([`127.0.0.1:${port}`], { connect_ms: 500, command_ms: 200 });
    try {
      const started = Date.now();
      await expect(client.request('k', MC_GET, Buffer.alloc(0), Buffer.alloc(0), null)).rejects.toThrow(/did not answer within 200 ms/);
      expect(Date.now() - started).toBeLessThan(1500);
      answer = true;
      const res = await client.request('no-such-key-here', MC_GET, Buffer.alloc(0), Buffer.alloc(0), null);
      expect(res.status).toBe(MC_KEY_ENOENT);
      expect(sockets).toHaveLength(2);
    } finally {
      client.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
