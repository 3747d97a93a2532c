/**
 * The signing fast paths must not change a byte: zlib_compress against a
 * fresh pako.deflate (itself held to CPython's zlib.compress by the
 * Django-made vectors of signing.test.ts and the interop suite), the derived-key cache against a key
 * derived afresh, the string cookie keys against get_cookie_signer's Buffer
 * keys, and py_json's shortcuts against its general code.
 */
import * as nodeCrypto from 'node:crypto';
import * as fc from 'fast-check';
import { deflate } from 'pako';
import { configure } from '../conf';
import { salted_hmac_key } from '../crypto';
import { BadSignature, InvalidAlgorithm } from '../errors';
import { cookie_signer_salt, get_cookie_signer, sign_cookie_value, unsign_cookie_value } from '../http/signed_cookies';
import { py_float_repr, py_float_repr_by_digits, py_json_dumps } from '../py_json';
import { b64_encode, dumps, loads, Signer, TimestampSigner } from '../signing';
import { zlib_compress } from '../zlib_compress';
import { SECRET_KEY, freeze_signing_each_test } from './frozen_signing';

freeze_signing_each_test();

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const WORDS = ['user_id', 'zhiliao', 'count', '_auth_user_id', '_session_expiry', 'cart', '"', '\\u00e9', ':', ',', '42', 'null', 'true'];

/** Payloads of the kinds deflate treats differently: JSON-like text, tiny alphabets, incompressible bytes, runs. */
function payload(rnd: (n: number) => number, length: number): Buffer {
  switch (rnd(5)) {
    case 0: {
      let s = '';
      while (s.length < length) s += WORDS[rnd(WORDS.length)];
      return Buffer.from(s.slice(0, length), 'latin1');
    }
    case 1: {
      const alphabet = 'abc'.slice(0, 1 + rnd(3));
      return Buffer.from(Array.from({ length }, () => alphabet.charCodeAt(rnd(alphabet.length))));
    }
    case 2:
      return Buffer.from(Array.from({ length }, () => rnd(256)));
    case 3: {
      const out: number[] = [];
      while (out.length < length) out.push(...new Array<number>(1 + rnd(300)).fill(97 + rnd(4)));
      return Buffer.from(out.slice(0, length));
    }
    default: {
      // A repeated random chunk: long matches at many distances.
      const chunk = Buffer.from(Array.from({ length: 1 + rnd(64) }, () => rnd(256)));
      return Buffer.alloc(length, chunk);
    }
  }
}

function pako_fresh(data: Buffer): Buffer {
  return Buffer.from(deflate(data));
}

describe('zlib_compress (pako.deflate at level 6)', () => {
  test('equals a fresh pako.deflate for many varied payloads in a row', () => {
    const rnd = prng(20240601);
    for (let i = 0; i < 600; i++) {
      // Mostly session-sized, now and then far beyond the 64 KB window so it slides.
      const length = i % 40 === 0 ? 70_000 + rnd(100_000) : rnd(i % 3 === 0 ? 5000 : 400);
      const data = payload(rnd, length);
      expect(zlib_compress(data).equals(pako_fresh(data))).toBe(true);
    }
  });

  test('the same input twice gives the same bytes, and earlier results are not overwritten', () => {
    const data = Buffer.from(JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ i, s: 'x'.repeat(i % 7) }))));
    const first = zlib_compress(data);
    const copy = Buffer.from(first);
    const second = zlib_compress(data);
    zlib_compress(Buffer.from('something else entirely, to reuse the scratch space'));
    expect(second.equals(copy)).toBe(true);
    expect(first.equals(copy)).toBe(true);
  });

  test('accepts any Uint8Array view, not only a Buffer from offset 0', () => {
    const backing = Buffer.from('xxxx{"a":[1,2,3,1,2,3,1,2,3]}yyyy');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, backing.length - 8);
    expect(zlib_compress(view).equals(pako_fresh(Buffer.from(view)))).toBe(true);
  });

  test('dumps(compress=True) still produces the Django vector after other compressions', () => {
    zlib_compress(Buffer.alloc(80_000, 'qz'));
    expect(dumps(Array.from({ length: 19 }, (_, i) => i + 1), { compress: true })).toBe(
      '.eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:hfO_TiE5syctOrTb5EGRQ4ciTbXiYcPg6HLZqXSxXVc');
  });
});

/** Signer.signature computed from scratch: no cache anywhere on this path. */
function reference_signature(salt: string, value: string, key: string | Buffer): string {
  const hmac_key = salted_hmac_key(`${salt}signer`, key, 'sha256');
  return b64_encode(nodeCrypto.createHmac('sha256', hmac_key).update(value, 'utf8').digest());
}

describe('derived-key cache', () => {
  test('a changed SECRET_KEY is used at once, by long-lived signers too', () => {
    const signer = new Signer({ salt: 'rotation' });
    for (const secret of ['first-secret', 'second-secret', 'first-secret', 'x'.repeat(200)]) {
      configure({ SECRET_KEY: secret });
      expect(signer.signature('v')).toBe(reference_signature('rotation', 'v', secret));
      expect(dumps('v')).toBe(new TimestampSigner({ key: secret, salt: 'django.core.signing' }).sign('InYi'));
    }
  });

  test('str and bytes keys with the same latin-1 text are different keys', () => {
    // 'Ã©' as str is UTF-8 c3 83 c2 a9; the Buffer below is c3 a9, whose latin-1 text is also 'Ã©'.
    const as_text = 'Ã©';
    const as_bytes = Buffer.from([0xc3, 0xa9]);
    for (const order of [[as_text, as_bytes], [as_bytes, as_text]] as const) {
      for (const key of order) {
        expect(new Signer({ key, salt: `order-${typeof order[0]}` }).signature('v'))
          .toBe(reference_signature(`order-${typeof order[0]}`, 'v', key));
      }
    }
    expect(new Signer({ key: as_text }).signature('v')).not.toBe(new Signer({ key: as_bytes }).signature('v'));
  });

  test('a Buffer key is looked up by its bytes, so changing its contents changes the key', () => {
    const key = Buffer.from('mutable-key');
    const before = new Signer({ key }).signature('v');
    key[0] = 'M'.charCodeAt(0);
    expect(new Signer({ key }).signature('v')).toBe(reference_signature('django.core.signing.Signer', 'v', Buffer.from('Mutable-key')));
    expect(new Signer({ key }).signature('v')).not.toBe(before);
  });

  test('more salts and secrets than the cache holds all sign correctly, before and after eviction', () => {
    const salts = Array.from({ length: 600 }, (_, i) => `salt-${i}`);
    const secrets = Array.from({ length: 40 }, (_, i) => `secret-${i}`);
    for (let round = 0; round < 2; round++) {
      for (const salt of salts) expect(new Signer({ salt }).signature('v')).toBe(reference_signature(salt, 'v', SECRET_KEY));
      for (const key of secrets) expect(new Signer({ key, salt: 's' }).signature('v')).toBe(reference_signature('s', 'v', key));
    }
  });

  test('the algorithm is part of the key', () => {
    const sha256 = new Signer({ salt: 'alg' }).signature('v');
    const sha512 = new Signer({ salt: 'alg', algorithm: 'sha512' }).signature('v');
    expect(sha512).toHaveLength(86);
    expect(new Signer({ salt: 'alg' }).signature('v')).toBe(sha256);
  });

  test('an unknown algorithm is refused on every call, whatever is cached for its salt and secret', () => {
    new Signer({ salt: 'alg-refused' }).signature('v');
    for (let i = 0; i < 3; i++) expect(() => new Signer({ salt: 'alg-refused', algorithm: 'sha257' }).signature('v')).toThrow(InvalidAlgorithm);
  });

  test('SECRET_KEY_FALLBACKS verify while configured and stop verifying once removed', () => {
    configure({ SECRET_KEY: 'old-secret' });
    const session = dumps({ a: 1 }, { salt: 'fallbacks', compress: true });
    const cookie = sign_cookie_value('basket', '3', 'shop');
    configure({ SECRET_KEY: 'new-secret', SECRET_KEY_FALLBACKS: ['unrelated', 'old-secret'] });
    expect(loads(session, { salt: 'fallbacks' })).toEqual({ a: 1 });
    expect(unsign_cookie_value('basket', cookie, { salt: 'shop' })).toBe('3');
    configure({ SECRET_KEY: 'new-secret' });
    expect(() => loads(session, { salt: 'fallbacks' })).toThrow(BadSignature);
    expect(() => unsign_cookie_value('basket', cookie, { salt: 'shop' })).toThrow(BadSignature);
  });
});

describe('signed cookie values', () => {
  test.each([
    SECRET_KEY,
    'clé-secrète-😀',
    'lone-\ud800-surrogate',
    '\udc00-starts-with-a-low-surrogate',
  ])('string cookie keys sign as get_cookie_signer\'s Buffer keys do (%j)', (secret) => {
    configure({ SECRET_KEY: secret, SECRET_KEY_FALLBACKS: [`${secret}-old`] });
    for (const [name, salt] of [['basket', 'shop'], ['visits', ''], ['c', '😀']]) {
      const buffer_keyed = get_cookie_signer(cookie_signer_salt(name, salt));
      expect(Buffer.isBuffer(buffer_keyed.key)).toBe(true);
      expect(sign_cookie_value(name, 'value 1', salt)).toBe(buffer_keyed.sign('value 1'));
      // A value signed under the fallback's Buffer key verifies through the string-keyed path.
      const old = new TimestampSigner({
        key: Buffer.concat([Buffer.from('django.http.cookies'), Buffer.from(`${secret}-old`)]),
        salt: cookie_signer_salt(name, salt),
      });
      expect(unsign_cookie_value(name, old.sign('v'), { salt })).toBe('v');
    }
  });
});

describe('py_json shortcuts', () => {
  test('py_float_repr equals its general layout for every double (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(py_float_repr(x)).toBe(py_float_repr_by_digits(x));
      }),
      { seed: 7, numRuns: 5000 },
    );
  });

  test('py_float_repr equals its general layout around the ends of the shortcut', () => {
    const neighbours = (x: number): number[] => {
      const f = new Float64Array([x]);
      const bits = new BigInt64Array(f.buffer);
      const out: number[] = [];
      for (let d = -3n; d <= 3n; d++) {
        const g = new BigInt64Array([bits[0] + d]);
        out.push(new Float64Array(g.buffer)[0]);
      }
      return out;
    };
    const edges = [1e-4, 1e16, 2 ** 53, 1e15, 0.001, 9007199254740993, 1e-5];
    for (const x of edges.flatMap(neighbours)) {
      for (const v of [x, -x]) expect(py_float_repr(v)).toBe(py_float_repr_by_digits(v));
    }
  });

  test('strings needing no escape, JSON.stringify-escapable ones, and ensure_ascii ones', () => {
    expect(py_json_dumps('plain ascii ~!')).toBe('"plain ascii ~!"');
    expect(py_json_dumps('quote " backslash \\ tab \t nul \u0000 us \u001f')).toBe(
      '"quote \\" backslash \\\\ tab \\t nul \\u0000 us \\u001f"');
    expect(py_json_dumps('lone \ud800 and \udfff')).toBe('"lone \\ud800 and \\udfff"');
    expect(py_json_dumps('del \u007f é 😀 "')).toBe('"del \\u007f \\u00e9 \\ud83d\\ude00 \\""');
    expect(py_json_dumps({ 'ké\u007f': 1, 'k"': 2 })).toBe('{"k\\u00e9\\u007f":1,"k\\"":2}');
  });

  test('object members: undefined skipped, getters read in key order, "__proto__" as data', () => {
    const seen: string[] = [];
    const obj = {
      get a(): number {
        seen.push('a');
        return 1;
      },
      b: undefined,
      get c(): string {
        seen.push('c');
        return 'x';
      },
    };
    expect(py_json_dumps(obj)).toBe('{"a":1,"c":"x"}');
    expect(seen).toEqual(['a', 'c']);
    expect(py_json_dumps(JSON.parse('{"__proto__":[1],"z":{}}'))).toBe('{"__proto__":[1],"z":{}}');
  });
});
