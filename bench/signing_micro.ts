/**
 * Micro-benchmark of the signing hot paths a session request takes: dumps /
 * loads as the session engines call them (compress=True), the same without
 * compression, and set_signed_cookie / get_signed_cookie's value signing.
 *
 *   npx ts-node bench/signing_micro.ts [--rounds 7] [--ms 300] [--json] [--against DIR]
 *
 * Each case runs for --ms milliseconds per round after a warm-up; the median
 * round is reported, so one GC pause or a busy neighbour does not decide the
 * number. Round trips are checked before timing.
 *
 * --against DIR also loads DIR/packages/core (an older tree, e.g. from
 * `git archive <rev> packages/core | tar -x -C DIR`, with DIR inside this
 * repository so node_modules resolve) and alternates its rounds with this
 * tree's, so both see the same machine load; it also checks that both
 * produce the same signed values at a frozen time.
 */
import * as path from 'node:path';
import * as thisConf from '../packages/core/conf';
import * as thisClock from '../packages/core/clock';
import * as thisSigning from '../packages/core/signing';
import * as thisCookies from '../packages/core/http/signed_cookies';

const SECRET_KEY = 'bench-signing-micro-secret-key-0123456789';

interface Tree {
  conf: typeof thisConf;
  clock: typeof thisClock;
  signing: typeof thisSigning;
  cookies: typeof thisCookies;
}

function load_tree(dir: string): Tree {
  const core = path.resolve(dir, 'packages/core');
  return {
    conf: require(path.join(core, 'conf')) as typeof thisConf,
    clock: require(path.join(core, 'clock')) as typeof thisClock,
    signing: require(path.join(core, 'signing')) as typeof thisSigning,
    cookies: require(path.join(core, 'http/signed_cookies')) as typeof thisCookies,
  };
}

const SESSION_SALT = 'django.contrib.sessions.backends.signed_cookies';

const SMALL = { user_id: 'zhiliao', count: 42 };

// About 1 KB of JSON in the shape an authenticated session with a cart has.
const LARGE: Record<string, unknown> = {
  _auth_user_id: '1',
  _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
  _auth_user_hash: '8f14e45fceea167a5a36dedd4bea2543c0e5d1f4b63d1c0f7a1e9b0f8d3a2c11',
  _session_expiry: 1209600,
  user_id: 'zhiliao',
  count: 42,
  cart: Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: (i % 3) + 1, price: 9.99 + i })),
  recently_viewed: Array.from({ length: 10 }, (_, i) => `/products/${200 + i * 7}/`),
  prefs: { theme: 'dark', lang: 'zh-hans', tz: 'Asia/Shanghai', newsletter: false },
};

interface Case {
  name: string;
  run: () => unknown;
}

function cases_for(tree: Tree): Case[] {
  const { dumps, loads } = tree.signing;
  const { sign_cookie_value, unsign_cookie_value } = tree.cookies;
  tree.conf.configure({ SECRET_KEY, SECRET_KEY_FALLBACKS: ['bench-old-secret'] });
  const small_signed = dumps(SMALL, { salt: SESSION_SALT, compress: true });
  const large_signed = dumps(LARGE, { salt: SESSION_SALT, compress: true });
  const large_plain = dumps(LARGE, { salt: SESSION_SALT });
  const cookie = sign_cookie_value('basket', '3', 'shop');
  if (JSON.stringify(loads(large_signed, { salt: SESSION_SALT })) !== JSON.stringify(LARGE)) throw new Error('large round trip');
  if (JSON.stringify(loads(small_signed, { salt: SESSION_SALT })) !== JSON.stringify(SMALL)) throw new Error('small round trip');
  if (unsign_cookie_value('basket', cookie, { salt: 'shop' }) !== '3') throw new Error('cookie round trip');
  return [
    { name: 'dumps small compress', run: () => dumps(SMALL, { salt: SESSION_SALT, compress: true }) },
    { name: 'loads small compress', run: () => loads(small_signed, { salt: SESSION_SALT }) },
    { name: 'dumps 1KB compress', run: () => dumps(LARGE, { salt: SESSION_SALT, compress: true }) },
    { name: 'loads 1KB compress', run: () => loads(large_signed, { salt: SESSION_SALT }) },
    { name: 'dumps 1KB plain', run: () => dumps(LARGE, { salt: SESSION_SALT }) },
    { name: 'loads 1KB plain', run: () => loads(large_plain, { salt: SESSION_SALT }) },
    { name: 'sign_cookie_value', run: () => sign_cookie_value('basket', '3', 'shop') },
    { name: 'unsign_cookie_value', run: () => unsign_cookie_value('basket', cookie, { salt: 'shop' }) },
  ];
}

/** The signing cases that produce a value, run at a frozen time so two trees must agree byte for byte. */
function same_outputs(a: Tree, b: Tree): void {
  const outputs = (t: Tree): string[] => {
    const unfreeze = t.clock.freeze_time(1700000000 * 1000);
    try {
      return [
        t.signing.dumps(SMALL, { salt: SESSION_SALT, compress: true }),
        t.signing.dumps(LARGE, { salt: SESSION_SALT, compress: true }),
        t.signing.dumps(LARGE, { salt: SESSION_SALT }),
        t.cookies.sign_cookie_value('basket', '3', 'shop'),
      ];
    } finally {
      unfreeze();
    }
  };
  const [x, y] = [outputs(a), outputs(b)];
  x.forEach((v, i) => {
    if (v !== y[i]) throw new Error(`the trees sign differently:\n  ${v}\n  ${y[i]}`);
  });
}

function parse_args(argv: string[]): { rounds: number; ms: number; json: boolean; against?: string } {
  const opts: { rounds: number; ms: number; json: boolean; against?: string } = { rounds: 7, ms: 300, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') opts.rounds = Number(argv[++i]);
    else if (argv[i] === '--ms') opts.ms = Number(argv[++i]);
    else if (argv[i] === '--json') opts.json = true;
    else if (argv[i] === '--against') opts.against = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

/** µs per call for one round of about `ms` milliseconds. */
function round(c: Case, ms: number): number {
  // Calls are batched so reading the clock does not dominate a ~5 µs call.
  const batch = 50;
  const budget = BigInt(ms) * 1_000_000n;
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < batch; i++) c.run();
    calls += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / 1000 / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  const opts = parse_args(process.argv.slice(2));
  const trees: [string, Tree][] = [['this tree', { conf: thisConf, clock: thisClock, signing: thisSigning, cookies: thisCookies }]];
  if (opts.against) trees.unshift([`--against ${path.basename(opts.against)}`, load_tree(opts.against)]);
  const cases = trees.map(([, t]) => cases_for(t)); // configures each tree
  if (trees.length === 2) same_outputs(trees[0][1], trees[1][1]);
  const sizes = { small_json: JSON.stringify(SMALL).length, large_json: JSON.stringify(LARGE).length };

  const results: Record<string, number>[] = trees.map(() => ({}));
  for (let c = 0; c < cases[0].length; c++) {
    const rounds: number[][] = trees.map(() => []);
    for (let t = 0; t < trees.length; t++) round(cases[t][c], Math.max(100, opts.ms)); // warm-up: let the JIT settle
    for (let r = 0; r < opts.rounds; r++) {
      // Alternate which tree goes first, so neither always follows the other's garbage.
      for (let k = 0; k < trees.length; k++) {
        const t = (r + k) % trees.length;
        rounds[t].push(round(cases[t][c], opts.ms));
      }
    }
    for (let t = 0; t < trees.length; t++) results[t][cases[t][c].name] = Number(median(rounds[t]).toFixed(2));
  }
  if (opts.json) {
    const out = Object.fromEntries(trees.map(([name], t) => [name, results[t]]));
    process.stdout.write(`${JSON.stringify({ node: process.version, sizes, us_per_call: out }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`node ${process.version}; JSON bytes small=${sizes.small_json} large=${sizes.large_json}; µs per call, median of ${opts.rounds} rounds\n`);
  process.stdout.write(`${''.padEnd(24)}${trees.map(([name]) => name.slice(-22).padStart(24)).join('')}\n`);
  for (const c of cases[0]) {
    const cols = results.map((r) => r[c.name].toFixed(2).padStart(24)).join('');
    const ratio = trees.length === 2 ? `  ${(results[0][c.name] / results[1][c.name]).toFixed(2)}x` : '';
    process.stdout.write(`${c.name.padEnd(24)}${cols}${ratio}\n`);
  }
}

main();
