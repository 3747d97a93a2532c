/**
 * docs/internals.md's rule: no code under packages/ reaches into a
 * dependency's private internals. A deep import of a package's files
 * (`pako/lib/zlib/deflate.js`, `pg/lib/...`) or one of the private names the
 * hot paths once used fails here, so an optimisation cannot bring them back
 * unnoticed (a caret-range upgrade could change them silently).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const SELF = path.resolve(__filename);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(full));
    else if (/\.(ts|js)$/.test(entry.name) && full !== SELF) out.push(full);
  }
  return out;
}

/** A module specifier that names a file inside an npm package rather than the package (or a scoped one) itself. */
const DEEP_IMPORT = /(?:require\(|from\s+|import\()\s*['"]((?:@[\w.-]+\/)?[\w.-]+)\/(lib|dist|src|build|internal)\/[^'"]*['"]/g;

/** Private members of dependencies that Tango once used: knex/tarn, pg, pako, memjs. */
const PRIVATE_NAMES: [RegExp, string][] = [
  [/__knex__disposed/, "knex's connection flag"],
  [/\bacquireRequest\b/, "tarn's pool event"],
  [/\.acquireConnection\(|\.releaseConnection\(/, "knex's client internals"],
  [/\.client\.pool\b|\bclient\)\.pool\b/, "knex's tarn pool"],
  [/\bdeflateResetKeep\b|\bdeflateInit2\b/, "pako's zlib port"],
  [/\bincrSeq\b|\.perform\(/, "memjs's request plumbing"],
  [/\(query as \{ name/, "pg Query's fields"],
];

test('no source under packages/ imports a private module path of a dependency or uses a private name', () => {
  const found: string[] = [];
  for (const file of sources(path.join(ROOT, 'packages'))) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(ROOT, file);
    for (const m of text.matchAll(DEEP_IMPORT)) {
      // A relative import ('./x/lib/y') is our own code.
      if (!m[1].startsWith('.')) found.push(`${rel}: deep import ${m[0]}`);
    }
    for (const [re, what] of PRIVATE_NAMES) if (re.test(text)) found.push(`${rel}: ${what} (${re})`);
  }
  expect(found).toEqual([]);
});

test('the check itself sees a deep import and a private name', () => {
  const sample = "const z = require('pako/lib/zlib/deflate.js');\nimport x from '@scope/pkg/dist/internal';";
  expect([...sample.matchAll(DEEP_IMPORT)].map((m) => m[1])).toEqual(['pako', '@scope/pkg']);
  expect(PRIVATE_NAMES.some(([re]) => re.test('(connection as Disposable).__knex__disposed'))).toBe(true);
});
