/**
 * The `hashing` phase: how many Django 5.2 password hashes (pbkdf2_sha256,
 * 1,000,000 iterations) one process makes per second, with libuv's thread
 * pool at its default size, and how late a 10 ms timer fires meanwhile.
 * Hashing runs on the pool (crypto.pbkdf2), so the event loop keeps serving.
 * Targets: at least HASHING_RATE_TARGET hashes/s, and a timer lag under
 * HASHING_LAG_TARGET_MS while a hash runs on every pool thread (one hash on
 * the loop itself would block it for the whole hash: 0.3-1 s).
 */
import { PBKDF2PasswordHasher } from '../packages/auth/hashers';

export interface HashingResult {
  algorithm: string;
  iterations: number;
  /** Hashes computed at once (the pool's threads). */
  concurrency: number;
  hashes: number;
  seconds: number;
  hashes_per_second: number;
  /** The longest a 10 ms interval timer waited beyond its period while hashing. */
  loop_max_lag_ms: number;
  pass: boolean;
}

export const HASHING_LAG_TARGET_MS = 200;
/** Hashes per second one process must make (2-core shared machine: 1.4/s measured on 2026-12-06). */
export const HASHING_RATE_TARGET = 1;

export async function hashing_run(seconds: number, log: (s: string) => void): Promise<HashingResult> {
  const hasher = new PBKDF2PasswordHasher();
  const concurrency = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  let lag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 10);
    last = now;
  }, 10);
  const started = performance.now();
  const until = started + seconds * 1000;
  let hashes = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await hasher.encode('correct horse battery staple', hasher.salt());
      hashes++;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearInterval(timer);
  }
  const took = (performance.now() - started) / 1000;
  const result: HashingResult = {
    algorithm: hasher.algorithm,
    iterations: hasher.iterations,
    concurrency,
    hashes,
    seconds: took,
    hashes_per_second: hashes / took,
    loop_max_lag_ms: lag,
    pass: lag < HASHING_LAG_TARGET_MS && hashes / took >= HASHING_RATE_TARGET,
  };
  log(`  ${result.algorithm} × ${result.iterations}: ${hashes} hashes in ${took.toFixed(1)} s = ${result.hashes_per_second.toFixed(1)}/s ` +
    `(${concurrency} at once); timer lag max ${lag.toFixed(1)} ms ${result.pass ? 'OK' : 'MISS'}`);
  return result;
}
