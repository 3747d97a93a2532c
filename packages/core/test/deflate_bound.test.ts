import fc from 'fast-check';
import * as pako from 'pako';
import { deflate_cannot_shorten } from '../deflate_bound';
import { py_json_dumps } from '../py_json';
import { b64_encode, object_payload } from '../signing';

/** What sign_object keeps, decided the slow way: always compress, keep it when two bytes shorter. */
function reference_payload(data: Buffer): string {
  const z = Buffer.from(pako.deflate(data));
  return z.length < data.length - 1 ? `.${b64_encode(z)}` : b64_encode(data);
}

const bytes = (alphabet: string, max: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: 0, maxLength: max }).map((cs) => Buffer.from(cs.join(''), 'latin1'));

describe('deflate_cannot_shorten: never says "cannot" where deflate would win', () => {
  it.each([
    ['two letters', 'ab'],
    ['four letters', 'abcd'],
    ['digits', '0123456789'],
    ['JSON characters', '{}":,_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['all bytes', Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('')],
  ])('%s, up to 80 bytes (5,000 inputs)', (_label, alphabet) => {
    fc.assert(fc.property(bytes(alphabet, 80), (data) => {
      if (deflate_cannot_shorten(data)) expect(pako.deflate(data).length).toBeGreaterThanOrEqual(data.length - 1);
    }), { numRuns: 5_000, seed: 4242 });
  });

  it('de Bruijn-like strings (no repeated trigram, few letters: the entropy term at its smallest)', () => {
    // Every 3-letter word over {a,b,c,d} once: 66 bytes with no repeated trigram and 2 bits of entropy a byte.
    const letters = 'abcd';
    const seen = new Set<string>();
    let s = 'aa';
    while (s.length < 66) {
      const next = [...letters].find((c) => !seen.has(s.slice(-2) + c));
      if (next === undefined) break;
      seen.add(s.slice(-2) + next);
      s += next;
    }
    for (let n = 3; n <= s.length; n++) {
      const data = Buffer.from(s.slice(0, n));
      if (deflate_cannot_shorten(data)) expect(pako.deflate(data).length).toBeGreaterThanOrEqual(data.length - 1);
    }
  });

  it('session-shaped payloads: the signed payload is what always compressing gives, and small ones skip deflate', () => {
    let skipped = 0;
    fc.assert(fc.property(
      fc.dictionary(fc.constantFrom('user_id', 'count', 'n', 'cart', '_session_expiry', 'x'), fc.oneof(fc.integer(), fc.string({ maxLength: 12 }), fc.boolean()), { maxKeys: 3 }),
      (obj) => {
        const data = Buffer.from(py_json_dumps(obj), 'latin1');
        if (deflate_cannot_shorten(data)) skipped++;
        expect(object_payload(obj, { compress: true })).toBe(reference_payload(data));
      }), { numRuns: 5000, seed: 77 });
    // The point of the check: most small sessions never reach deflate.
    expect(skipped).toBeGreaterThan(2500);
  });

  it('a typical small session is proven incompressible; a repetitive one is compressed', () => {
    expect(deflate_cannot_shorten(Buffer.from('{"user_id":"zhiliao","count":41}'))).toBe(true);
    expect(deflate_cannot_shorten(Buffer.from('{"a":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'))).toBe(false);
    expect(object_payload({ a: 'x'.repeat(32) }, { compress: true }).startsWith('.')).toBe(true);
  });

  it('an answer does not depend on the calls before it (the counting state is reused)', () => {
    // Each run's reference is a fresh copy of the module, which no earlier call has touched.
    const fresh = (): typeof deflate_cannot_shorten => {
      let f: typeof deflate_cannot_shorten | undefined;
      jest.isolateModules(() => {
        f = (require('../deflate_bound') as typeof import('../deflate_bound')).deflate_cannot_shorten;
      });
      return f!;
    };
    const session = fc.dictionary(fc.constantFrom('user_id', 'count', 'n', 'cart', 'x'), fc.oneof(fc.integer(), fc.string({ maxLength: 12 })), { maxKeys: 3 })
      .map((obj) => Buffer.from(py_json_dumps(obj), 'latin1'));
    const data = fc.oneof(session, bytes('abcd', 40), bytes('{}":,_abcdefghijklmnopqrstuvwxyz0123456789', 64), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)));
    fc.assert(fc.property(fc.array(data, { maxLength: 4 }), session, (before, last) => {
      for (const d of before) deflate_cannot_shorten(d);
      expect(deflate_cannot_shorten(last)).toBe(fresh()(last));
    }), { numRuns: 1_000, seed: 99 });
  });
});
