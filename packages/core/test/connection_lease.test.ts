/**
 * Fixed statements keep their PostgreSQL connection for a moment after use
 * (connection_lease): the next statement runs on it without a round through
 * knex's pool, and the pool gets it back when anyone asks it for one, when it
 * broke, or after KEEP_MS to twice that of idleness.
 */
import * as os from 'node:os';
import type { Knex } from 'knex';
import { configure } from '../conf';
import { close_connections, get_connection } from '../db';
import { give_back, KEEP_MS, PARKED_MS, release_all, take } from '../connection_lease';
import { run_statement, statement } from '../db_statements';
import { describe_with } from '../testing/services';

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  on(event: 'acquireRequest', fn: () => void): void;
  acquire(): { promise: Promise<object> };
  release(connection: object): boolean;
}

const BACKEND = statement('SELECT pg_backend_pid() AS pid');
const FAILING = statement('SELECT no_such_column FROM pg_class');

function pool_of(knex: Knex): TarnPool {
  return (knex.client as { pool: TarnPool }).pool;
}

async function backend_pid(knex: Knex): Promise<number> {
  return (await run_statement<{ pid: number }>(knex, BACKEND, [])).rows[0].pid;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Long enough for an idle kept connection to have gone back (KEEP_MS to twice that). */
const idle = () => new Promise<void>((resolve) => setTimeout(resolve, KEEP_MS * 3));

describe_with('TEST_DATABASE_URL')('connections kept between fixed statements', (url) => {
  let acquires = 0;

  async function connect(max: number): Promise<Knex> {
    await close_connections();
    configure({ SECRET_KEY: 'lease', DATABASES: { default: { ENGINE: 'postgresql', URL: url, POOL: { max } } } }, os.tmpdir());
    const knex = get_connection();
    await knex.raw('SELECT 1'); // the pool exists once a first connection was made
    acquires = 0;
    pool_of(knex).on('acquireRequest', () => acquires++);
    return knex;
  }

  afterAll(() => close_connections());

  test('back-to-back statements run on the same connection with one acquire from the pool', async () => {
    const knex = await connect(5);
    const first = await backend_pid(knex);
    const second = await backend_pid(knex);
    const third = await backend_pid(knex);
    expect([second, third]).toEqual([first, first]);
    expect(acquires).toBe(1);
  });

  test(`an idle kept connection is kept through turns of the event loop, and goes back to the pool after ${KEEP_MS}–${2 * KEEP_MS} ms`, async () => {
    const knex = await connect(5);
    await backend_pid(knex);
    expect(pool_of(knex).numUsed()).toBe(1);
    await turn();
    await turn();
    await turn();
    expect(pool_of(knex).numUsed()).toBe(1);
    await idle();
    expect(pool_of(knex).numUsed()).toBe(0);
    expect(pool_of(knex).numFree()).toBeGreaterThanOrEqual(1);
    // Back in the pool, it is acquired again the ordinary way.
    await backend_pid(knex);
    expect(acquires).toBe(2);
  });

  test('concurrent statements each get a connection, and all go back to the pool', async () => {
    const knex = await connect(3);
    const pids = await Promise.all(Array.from({ length: 12 }, () => backend_pid(knex)));
    expect(new Set(pids).size).toBeLessThanOrEqual(3);
    await idle();
    expect(pool_of(knex).numUsed()).toBe(0);
  });

  test('a kept connection is back in the pool the moment anyone asks the pool for one', async () => {
    const knex = await connect(5);
    await backend_pid(knex);
    const pool = pool_of(knex);
    expect(pool.numUsed()).toBe(1); // kept
    const pending = pool.acquire();
    // Synchronously, before any timer could have swept: the request freed what was kept.
    const still_kept = take(pool as unknown as Parameters<typeof take>[0]);
    pool.release(await pending.promise);
    if (still_kept !== undefined) pool.release(still_kept);
    expect(still_kept).toBeUndefined();
    expect(pool.numUsed()).toBe(0);
  });

  test('someone else waiting on a full pool gets the connection when the statement ends, not a turn later', async () => {
    const knex = await connect(1);
    const mine = backend_pid(knex);
    // A knex query starts when it is awaited or then'd.
    const theirs = knex.raw('SELECT 2 AS two').then((r: { rows: { two: number }[] }) => r.rows[0].two);
    await turn();
    expect(pool_of(knex).numPendingAcquires()).toBe(1);
    await mine;
    // The only connection went straight to the waiting query instead of being kept.
    expect(pool_of(knex).numPendingAcquires()).toBe(0);
    expect(await theirs).toBe(2);
  });

  test('a kept connection does not hold up user queries on a full pool', async () => {
    const knex = await connect(1);
    await backend_pid(knex);
    expect(pool_of(knex).numUsed()).toBe(1); // kept
    const started = Date.now();
    expect((await knex.raw('SELECT 3 AS three')).rows[0].three).toBe(3);
    expect(Date.now() - started).toBeLessThan(1000); // the acquire timeout would be far longer
  });

  test('on a full pool, a statement that ends hands its connection to the next waiting one, not through the pool', async () => {
    const knex = await connect(1);
    const pids = await Promise.all(Array.from({ length: 6 }, () => backend_pid(knex)));
    expect(new Set(pids).size).toBe(1);
    expect(acquires).toBe(1);
  });

  test('code waiting in the pool itself gets a connection before statements waiting for one here', async () => {
    const knex = await connect(1);
    const order: string[] = [];
    const first = backend_pid(knex).then(() => order.push('first statement'));
    const parked = backend_pid(knex).then(() => order.push('waiting statement'));
    await turn();
    const user = knex.raw('SELECT 1').then(() => order.push('user query'));
    await Promise.all([first, parked, user]);
    expect(order).toEqual(['first statement', 'user query', 'waiting statement']);
  });

  test('a statement waiting here asks the pool as soon as other code returns a connection to it', async () => {
    const knex = await connect(1);
    const trx = await knex.transaction();
    const statement = backend_pid(knex);
    await turn();
    expect(acquires).toBe(1); // the transaction's
    await trx.commit();
    await turn();
    expect(acquires).toBe(2); // long before the PARKED_MS timer would have sent it
    expect(typeof (await statement)).toBe('number');
  });

  test(`a statement waiting here longer than ${PARKED_MS} ms queues in the pool like anyone else`, async () => {
    const knex = await connect(1);
    const trx = await knex.transaction(); // holds the only connection
    const statement = backend_pid(knex);
    try {
      await turn();
      expect(pool_of(knex).numPendingAcquires()).toBe(0); // waiting here, not in the pool
      await new Promise((resolve) => setTimeout(resolve, PARKED_MS * 3));
      expect(pool_of(knex).numPendingAcquires()).toBe(1);
    } finally {
      await trx.commit();
    }
    expect(typeof (await statement)).toBe('number');
  });

  test("a failed statement's error has a stack that leads back to its caller", async () => {
    const knex = await connect(5);
    const err = await run_statement(knex, FAILING, []).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/no_such_column/);
    expect(err?.stack).toMatch(/connection_lease\.test\.ts/);
  });

  test('a failed statement gives its connection back to the pool at once', async () => {
    const knex = await connect(5);
    await expect(run_statement(knex, FAILING, [])).rejects.toThrow(/no_such_column/);
    expect(pool_of(knex).numUsed()).toBe(0);
  });

  test('a connection whose server process died is not used again', async () => {
    const knex = await connect(5);
    const pid = await backend_pid(knex);
    const killer = (require('knex') as { default: (c: Knex.Config) => Knex }).default({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      await killer.raw('SELECT pg_terminate_backend(?)', [pid]);
    } finally {
      await killer.destroy();
    }
    // Whether the client noticed yet or not, a fixed statement now runs on another live backend.
    let next: number | undefined;
    for (let attempt = 0; attempt < 2 && next === undefined; attempt++) {
      next = await backend_pid(knex).catch(() => undefined);
    }
    expect(next).toBeDefined();
    expect(next).not.toBe(pid);
  });

  test('a connection closed from the client side is dropped, and the next statement runs on another', async () => {
    const knex = await connect(5);
    const pid = await backend_pid(knex);
    const used = (pool_of(knex) as unknown as { used: { resource: { end(): Promise<void> } }[] }).used;
    expect(used).toHaveLength(1);
    await used[0].resource.end(); // knex marks a connection disposed when it ends
    const next = await backend_pid(knex);
    expect(next).not.toBe(pid);
  });

  test('closing the connections does not wait on kept ones', async () => {
    const knex = await connect(5);
    await backend_pid(knex);
    expect(pool_of(knex).numUsed()).toBe(1);
    const started = Date.now();
    await close_connections();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('the keeping rules (on a pool that records what it gets back)', () => {
  function recording_pool(pending = 0) {
    const released: object[] = [];
    return {
      released, max: 10, numFree: () => 1, numUsed: () => 0, numPendingCreates: () => 0, on: () => undefined,
      numPendingAcquires: () => pending, release: (c: object) => (released.push(c), true),
    };
  }

  test('a connection knex marked disposed while kept is released, never handed out', () => {
    const pool = recording_pool();
    const connection: { __knex__disposed?: unknown } = {};
    give_back(pool, connection, true);
    connection.__knex__disposed = new Error('Connection terminated unexpectedly');
    expect(take(pool)).toBeUndefined();
    expect(pool.released).toEqual([connection]);
  });

  test('the most recently used connection is handed out first', () => {
    const pool = recording_pool();
    const [a, b] = [{}, {}];
    give_back(pool, a, true);
    give_back(pool, b, true);
    expect(take(pool)).toBe(b);
    expect(take(pool)).toBe(a);
    expect(take(pool)).toBeUndefined();
  });

  test('an unhealthy connection, or any while others wait on the pool, is released at once', () => {
    const pool = recording_pool();
    const broken = {};
    give_back(pool, broken, false);
    const waited = recording_pool(1);
    const wanted = {};
    give_back(waited, wanted, true);
    expect(pool.released).toEqual([broken]);
    expect(waited.released).toEqual([wanted]);
    expect(take(pool)).toBeUndefined();
  });

  test('release_all returns every kept connection now', () => {
    const pool = recording_pool();
    const [a, b] = [{}, {}];
    give_back(pool, a, true);
    give_back(pool, b, true);
    release_all(pool);
    expect(pool.released).toEqual([a, b]);
    expect(take(pool)).toBeUndefined();
  });
});
