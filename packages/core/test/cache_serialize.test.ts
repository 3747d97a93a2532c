import fc from 'fast-check';
import { defaultDeserialize, defaultSerialize } from '@keyv/serialize';
import { deserialize, serialize, serialize_entry } from '../cache_serialize';
import { thaw } from '../json_snapshot';

// Strings that start with ':' are the ones Keyv escapes; make them common.
const str = fc.oneof(fc.string(), fc.string().map((s) => `:${s}`), fc.constantFrom(':', '::', ':base64:', ':base64:AAEC', '":', ',":'));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(str, tie('value'), { maxKeys: 5 }),
})).value;

describe("cache values: Keyv's stored form, fast", () => {
  it('serialize writes exactly what @keyv/serialize writes (5000 random values, a third with colon strings)', () => {
    fc.assert(fc.property(json, fc.option(fc.integer({ min: 0 })), (value, expires) => {
      const entry = expires === null ? { value } : { value, expires };
      expect(serialize(entry)).toBe(defaultSerialize(entry));
    }), { numRuns: 5000, seed: 20261202 });
  });

  it('deserialize reads back what @keyv/serialize reads, from either writer', () => {
    fc.assert(fc.property(json, (value) => {
      const text = defaultSerialize({ value });
      expect(deserialize(text)).toEqual(defaultDeserialize(text));
    }), { numRuns: 5000, seed: 20261203 });
  });

  it('the cases that need Keyv itself: Buffers, Dates, colon strings, keys that look like value positions', () => {
    const cases: unknown[] = [
      { value: Buffer.from([0, 1, 2]) },
      { value: { when: new Date(0) } },
      { value: [':a', 'b'] },
      { value: { 'a:': ':b', 'c,': 'd', '[': ':' } },
      ':top',
      { value: { nested: [{ deep: ':x' }] } },
    ];
    for (const c of cases) {
      const text = serialize(c);
      expect(text).toBe(defaultSerialize(c));
      expect(deserialize(text)).toEqual(defaultDeserialize(text));
    }
    expect(Buffer.isBuffer((deserialize<{ value: unknown }>(serialize({ value: Buffer.from('hi') }))).value)).toBe(true);
  });

  it('serialize_entry writes what serialize writes, and its snapshot is what deserialize reads back', () => {
    const flat = fc.dictionary(str, fc.oneof(str, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null)), { maxKeys: 6 });
    const expires = fc.option(fc.oneof(fc.integer({ min: 0 }), fc.constant(1.5), fc.constant(Infinity)), { nil: undefined });
    fc.assert(fc.property(fc.oneof(flat, json), expires, (value, exp) => {
      const { serialized, snapshot } = serialize_entry(value, exp);
      expect(serialized).toBe(serialize({ value, expires: exp }));
      if (snapshot !== undefined) expect(thaw(snapshot)).toStrictEqual(deserialize<{ value: unknown }>(serialized).value);
    }), { numRuns: 5000, seed: 20261204 });
    const d = Object.assign(Object.create(null) as Record<string, unknown>, { user_id: 'zhiliao', count: 3 });
    expect(serialize_entry(d, 1733356800123).serialized).toBe('{"value":{"user_id":"zhiliao","count":3},"expires":1733356800123}');
    expect(serialize_entry(d, undefined).serialized).toBe('{"value":{"user_id":"zhiliao","count":3}}');
  });

  it('a session dict without a prototype serializes like a plain object', () => {
    const d = Object.assign(Object.create(null) as Record<string, unknown>, { user_id: 'zhiliao', count: 3 });
    expect(serialize({ value: d, expires: 1 })).toBe('{"value":{"user_id":"zhiliao","count":3},"expires":1}');
    expect(serialize({ value: d, expires: 1 })).toBe(defaultSerialize({ value: d, expires: 1 }));
  });
});
