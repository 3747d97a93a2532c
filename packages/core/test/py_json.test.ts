/**
 * py_json against Python's json.dumps(obj, separators=(',', ':')). The
 * expected strings were produced by CPython 3.11 (Lib/json/encoder.py).
 */
import { randomUUID } from 'node:crypto';
import * as fc from 'fast-check';
import { py_float_repr, py_json_dumps, py_json_loads, py_str } from '../py_json';

// repr() of each float as CPython prints it.
const PYTHON_FLOAT_REPRS = [
  '0.1', '0.5', '1.5', '-2.25', '1e-07', '1000000000000000.5', '123.456', '0.0001', '1e-05', '5e-324',
  '0.30000000000000004', '-2.5e-10', '12345678901234.5', '2.2250738585072014e-308', '0.00012345', '3.14159',
  '1e-300', '123456789.123', '0.001', '0.3333333333333333', '6.666666666666666e+19', '4.35',
  '-2.522753946247637e-223', '-5.674664918136216e+64', '7.654927133881691e-231', '2.7715077941825975e-163',
  '-66926478731690.96', '2.2790121708605243e+274', '8.445496795513092e-50', '-1.039999246087972e+177',
  '-3.367304008780077e-176', '524560.1649158839', '-995787.8932977786', '-109225.61189039715',
  // Integral floats, which only py_float_repr (not py_json_dumps) writes as floats.
  '1e+16', '1.5e+300', '9999999999999998.0', '1.7976931348623157e+308', '1e+21', '1.0', '-0.0', '0.0',
];

describe('py_float_repr', () => {
  test.each(PYTHON_FLOAT_REPRS)('%s', (repr) => {
    expect(py_float_repr(Number(repr))).toBe(repr);
  });

  test('non-finite values', () => {
    expect(py_float_repr(NaN)).toBe('NaN');
    expect(py_float_repr(Infinity)).toBe('Infinity');
    expect(py_float_repr(-Infinity)).toBe('-Infinity');
  });

  test('round-trips every double and uses Python layout', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const repr = py_float_repr(x);
        expect(Object.is(Number(repr), x)).toBe(true);
        // Fixed notation always has a '.', exponent notation has a signed two-or-more-digit exponent.
        expect(repr).toMatch(/^-?(\d+\.\d+|\d(\.\d+)?e[+-]\d{2,3})$/);
        const exp = Math.floor(Math.log10(Math.abs(x)));
        if (x !== 0 && (exp < -5 || exp > 16)) expect(repr).toContain('e');
        if (x !== 0 && exp > -4 && exp < 15) expect(repr).not.toContain('e');
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe('py_json_dumps', () => {
  test('ensure_ascii escaping, per UTF-16 unit, lowercase', () => {
    expect(py_json_dumps('\x00\x1f\b\f\n\r\t"\\/ ~\x7f\x80é\u2028\uffff😀\ud800')).toBe(
      '"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/ ~\\u007f\\u0080\\u00e9\\u2028\\uffff\\ud83d\\ude00\\ud800"');
  });

  test('compact separators and nesting', () => {
    expect(py_json_dumps({ a: [1, { b: null }], c: 'x' })).toBe('{"a":[1,{"b":null}],"c":"x"}');
    expect(py_json_dumps({})).toBe('{}');
    expect(py_json_dumps([])).toBe('[]');
    expect(py_json_dumps(true)).toBe('true');
    expect(py_json_dumps(null)).toBe('null');
  });

  test('a Map keeps insertion order, a plain object moves integer-like keys first', () => {
    const ordered = new Map<string, unknown>([
      ['b', 1], ['1', 2], ['small', 1e-7], ['u', '\u00e9\ud83d\ude00'], ['del', '\u007f'],
    ]);
    expect(py_json_dumps(ordered)).toBe('{"b":1,"1":2,"small":1e-07,"u":"\\u00e9\\ud83d\\ude00","del":"\\u007f"}');
    expect(py_json_dumps({ b: 1, 1: 2 })).toBe('{"1":2,"b":1}');
  });

  test('numbers: integral values as ints, others as Python floats, non-finite as Python writes them', () => {
    expect(py_json_dumps([NaN, Infinity, -Infinity, 0, -0, 1e21, 1.5, 1e-7, 1e16, 123.456])).toBe(
      '[NaN,Infinity,-Infinity,0,0,1000000000000000000000,1.5,1e-07,10000000000000000,123.456]');
    expect(py_json_dumps(12345678901234567890n)).toBe('12345678901234567890');
  });

  test('Map keys are converted as Python converts dict keys', () => {
    const m = new Map<unknown, number>([[true, 1], [null, 2], [1.5, 3], [2, 4]]);
    expect(py_json_dumps(m)).toBe('{"true":1,"null":2,"1.5":3,"2":4}');
    expect(() => py_json_dumps(new Map([[{}, 1]]))).toThrow(TypeError);
  });

  test('JS-only values', () => {
    expect(py_json_dumps({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(py_json_dumps([undefined])).toBe('[null]');
    expect(py_json_dumps(new Date(Date.UTC(2023, 10, 14, 22, 13, 20)))).toBe('"2023-11-14T22:13:20.000Z"');
    expect(py_json_dumps({ toJSON: () => ({ x: 1 }) })).toBe('{"x":1}');
    expect(() => py_json_dumps(undefined)).toThrow('Object of type undefined is not JSON serializable');
    expect(() => py_json_dumps({ f: () => 1 })).toThrow('Object of type function is not JSON serializable');
    expect(() => py_json_dumps(new Set([1]))).toThrow('Object of type Set is not JSON serializable');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => py_json_dumps(loop)).toThrow('Circular reference detected');
    const shared = { x: 1 };
    expect(py_json_dumps([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });

  test('a "__proto__" member is data', () => {
    const obj = JSON.parse('{"__proto__":{"x":1}}') as unknown;
    expect(py_json_dumps(obj)).toBe('{"__proto__":{"x":1}}');
  });

  test('matches JSON.stringify once ASCII-escaped and with Python floats (property)', () => {
    // Independent reference: JSON.stringify, then Python's ensure_ascii, float
    // repr, and int digits where JSON.stringify would use an exponent (>= 1e21).
    const nonce = randomUUID();
    const py_number = (n: number): string => (Number.isInteger(n) ? BigInt(n).toString() : py_float_repr(n));
    const reference = (v: unknown): string =>
      JSON.stringify(v, (_k, x: unknown) =>
        (typeof x === 'number' && (!Number.isInteger(x) || Math.abs(x) >= 1e21) ? `${nonce}${x}` : x))
        .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .replace(new RegExp(`"${nonce}([^"]*)"`, 'g'), (_m, n: string) => py_number(Number(n)));
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => {
        const out = py_json_dumps(v);
        expect(out).toBe(reference(v));
        expect(out).toMatch(/^[ -~]*$/);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe('py_json_loads', () => {
  test('plain JSON', () => {
    expect(py_json_loads('{"a":[1,2.5,"\\u00e9"],"b":null}')).toEqual({ a: [1, 2.5, 'é'], b: null });
    expect(() => py_json_loads('{bad')).toThrow(SyntaxError);
  });

  test('NaN and Infinity tokens, as Python reads them', () => {
    expect(py_json_loads('[NaN,Infinity,-Infinity,{"k":"NaN \\" \\\\ \\u00e9","n":-1.5e+3}]')).toEqual(
      [NaN, Infinity, -Infinity, { k: 'NaN " \\ é', n: -1500 }]);
    expect(py_json_loads(' { "a" : [ ] , "b" : { } , "c" : NaN } ')).toEqual({ a: [], b: {}, c: NaN });
    const proto = py_json_loads('{"__proto__":{"x":NaN}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(() => py_json_loads('[NaN,]')).toThrow(SyntaxError);
    expect(() => py_json_loads('[NaN] x')).toThrow(SyntaxError);
    expect(() => py_json_loads('["NaN\n"]')).toThrow(SyntaxError);
  });

  test('round-trips what py_json_dumps writes (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => {
        expect(py_json_loads(py_json_dumps(v))).toStrictEqual(JSON.parse(JSON.stringify(v)));
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

describe('py_str', () => {
  test('Python str() of scalars', () => {
    expect(py_str('x')).toBe('x');
    expect(py_str(123)).toBe('123');
    expect(py_str(1.23)).toBe('1.23');
    expect(py_str(1e-7)).toBe('1e-07');
    expect(py_str(true)).toBe('True');
    expect(py_str(false)).toBe('False');
    expect(py_str(null)).toBe('None');
    expect(py_str(10n)).toBe('10');
  });
});
