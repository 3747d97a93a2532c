import fc from 'fast-check';
import { flat_json, flat_snapshot, thaw } from '../json_snapshot';

const scalar = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(-0));
const flat = fc.dictionary(fc.string(), scalar);

describe('flat_snapshot / thaw', () => {
  it('gives what JSON.parse gives for the JSON text, whenever it keeps a value', () => {
    fc.assert(fc.property(fc.oneof(flat, scalar, fc.jsonValue(), fc.object()), (value) => {
      const snapshot = flat_snapshot(value);
      if (snapshot === undefined) return;
      expect(thaw(snapshot)).toStrictEqual(JSON.parse(JSON.stringify(value)));
    }), { numRuns: 3000 });
  });

  it('keeps every flat object with finite numbers, and -0 reads back as 0', () => {
    fc.assert(fc.property(fc.dictionary(fc.string().filter((k) => k !== '__proto__'),
      fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null))), (value) => {
      expect(flat_snapshot(value)).toBeDefined();
    }));
    expect(Object.is((thaw(flat_snapshot({ n: -0 })!) as { n: number }).n, 0)).toBe(true);
  });

  it('refuses what a shallow copy or JSON would not give back as it is', () => {
    const proto_key = JSON.parse('{"__proto__":1}') as unknown;
    for (const v of [{ a: { b: 1 } }, { a: [1] }, [1, 2], { a: undefined }, { a: NaN }, { a: Infinity }, { f: () => 1 },
      new Date(0), Buffer.from('x'), proto_key, undefined, NaN, Symbol('s'), new String('ab'), new Number(1), new Boolean(false)]) {
      expect(flat_snapshot(v)).toBeUndefined();
    }
  });

  it('flat_json writes exactly what JSON.stringify writes, for the snapshot and for its source', () => {
    // Strings full of what JSON escapes: quotes, backslashes, control characters, lone and paired surrogates.
    const tricky = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\ud800', '\udc00', '\ud83d\ude00', 'é', '\u2028', 'a') }));
    const scalars = fc.oneof(tricky, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(-0), fc.constant(1e21), fc.constant(5e-7));
    fc.assert(fc.property(fc.oneof(fc.dictionary(tricky, scalars), scalars), (value) => {
      const snapshot = flat_snapshot(value);
      if (snapshot === undefined) return;
      expect(flat_json(snapshot)).toBe(JSON.stringify(snapshot));
      expect(flat_json(snapshot)).toBe(JSON.stringify(value));
    }), { numRuns: 5000, seed: 20261205 });
    expect(flat_json(flat_snapshot({ 2: 'b', 1: 'a', z: '"\\\n' })!)).toBe('{"1":"a","2":"b","z":"\\"\\\\\\n"}');
  });

  it('each thaw is a fresh object, and the snapshot cannot be changed', () => {
    const source = { user_id: 'zhiliao', count: 1 };
    const snapshot = flat_snapshot(source)!;
    source.count = 2;
    const first = thaw(snapshot) as Record<string, unknown>;
    first.count = 3;
    expect(thaw(snapshot)).toEqual({ user_id: 'zhiliao', count: 1 });
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
  });
});
