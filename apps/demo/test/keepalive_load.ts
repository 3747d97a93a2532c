/**
 * Keep-alive load for shutdown tests: N clients, each sending one request
 * after another over a shared keep-alive http.Agent (as a load balancer's
 * upstream pool does), recording how every request ended as it ends.
 */
import * as http from 'node:http';

export interface Outcome {
  client: number;
  path: string;
  /** 'ok': a complete 200 with the expected body; 'refused': ECONNREFUSED at connect; 'error': anything else. */
  kind: 'ok' | 'refused' | 'error';
  /** The request went out on a kept-alive socket that had carried an earlier request. */
  reused: boolean;
  detail: string;
  at: number;
}

export interface Load {
  outcomes: Outcome[];
  /** Resolves when every client has stopped (refused, or stop() was called). */
  done: Promise<void>;
  stop(): void;
}

/** What each path's body must be, so a truncated or wrong response is not counted as served. */
export type Expect = (path: string, body: string) => boolean;

function one(agent: http.Agent, base: string, path: string, client: number, expect: Expect): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get(`${base}${path}`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err: NodeJS.ErrnoException) => finish('error', `response ${err.code ?? err.message}`));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200 && expect(path, body)) finish('ok', `200 connection: ${res.headers.connection ?? '-'}`);
        else finish('error', `status ${res.statusCode}: ${body.slice(0, 80)}`);
      });
    });
    let settled = false;
    const finish = (kind: Outcome['kind'], detail: string) => {
      if (settled) return;
      settled = true;
      resolve({ client, path, kind, reused: req.reusedSocket, detail, at: Date.now() });
    };
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ECONNREFUSED' ? 'refused' : 'error', `${err.code ?? ''} ${err.message}`);
    });
  });
}

/** Starts `clients` loops; client i requests paths[i % paths.length] until refused or stopped. */
export function keepalive_load(base: string, clients: number, paths: string[], expect: Expect): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const outcomes: Outcome[] = [];
  let stopped = false;
  const loop = async (client: number) => {
    const path = paths[client % paths.length];
    while (!stopped) {
      const outcome = await one(agent, base, path, client, expect);
      outcomes.push(outcome);
      if (outcome.kind === 'refused') return;
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, i) => loop(i))).then(() => agent.destroy());
  return { outcomes, done, stop: () => { stopped = true; } };
}
