import { get_or_set_bounded, set_bounded } from '../bounded_map';

describe('set_bounded', () => {
  it('holds at most `limit` entries and drops the oldest first, over many evictions', () => {
    const m = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      set_bounded(m, `k${i}`, i, 100);
      expect(m.size).toBe(Math.min(i + 1, 100));
    }
    expect([...m.keys()]).toEqual(Array.from({ length: 100 }, (_, j) => `k${9900 + j}`));
  });

  it('setting a held key again replaces its value and keeps its place', () => {
    const m = new Map<string, number>();
    for (const k of ['a', 'b', 'c']) set_bounded(m, k, 1, 3);
    set_bounded(m, 'a', 2, 3);
    set_bounded(m, 'd', 1, 3);
    expect([...m]).toEqual([['b', 1], ['c', 1], ['d', 1]]);
  });

  it('copes with keys deleted or cleared behind its back, and with entries it never set', () => {
    const m = new Map<string, number>([['x', 0], ['y', 0]]);
    set_bounded(m, 'a', 1, 3);
    m.delete('x');
    set_bounded(m, 'b', 1, 3);
    set_bounded(m, 'c', 1, 3);
    expect([...m.keys()]).toEqual(['a', 'b', 'c']);
    m.clear();
    for (const k of ['d', 'e', 'f', 'g']) set_bounded(m, k, 1, 3);
    expect([...m.keys()]).toEqual(['e', 'f', 'g']);
  });
});

describe('get_or_set_bounded', () => {
  it('makes a value once per key and evicts the oldest past the limit', () => {
    const map = new Map<string, number>();
    let made = 0;
    const make = () => ++made;
    expect([get_or_set_bounded(map, 'a', 2, make), get_or_set_bounded(map, 'a', 2, make)]).toEqual([1, 1]);
    get_or_set_bounded(map, 'b', 2, make);
    get_or_set_bounded(map, 'c', 2, make);
    expect([...map.keys()]).toEqual(['b', 'c']);
    expect(made).toBe(3);
    expect(() => get_or_set_bounded(map, 'd', 2, () => { throw new Error('refused'); })).toThrow('refused');
    expect([...map.keys()]).toEqual(['b', 'c']);
  });
});
