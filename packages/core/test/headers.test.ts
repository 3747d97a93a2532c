import { BadHeaderError, ResponseHeaders } from '../http/headers';

describe('ResponseHeaders', () => {
  it('is case-insensitive and keeps the spelling a header was set with', () => {
    const h = new ResponseHeaders({ 'X-Frame-Options': 'DENY' });
    h.set('content-TYPE', 'text/plain');
    expect(h.get('x-frame-options')).toBe('DENY');
    expect(h.get('Content-Type')).toBe('text/plain');
    expect([...h]).toEqual([['X-Frame-Options', 'DENY'], ['content-TYPE', 'text/plain']]);
  });

  it('refuses a bad name every time, and a bad value under a name it accepted before', () => {
    const h = new ResponseHeaders();
    for (let i = 0; i < 2; i++) expect(() => h.set('Bad Name', 'x')).toThrow(BadHeaderError);
    h.set('X-Note', 'fine');
    for (const bad of ['a\r\nSet-Cookie: x=1', 'nul\u0000', 'del\u007f']) expect(() => h.set('X-Note', bad)).toThrow(/X-Note/);
    expect(h.get('X-Note')).toBe('fine');
    h.set('X-Note', 'tab\tis fine');
    expect(h.get('x-note')).toBe('tab\tis fine');
  });

  it('notes a value above U+007F, so the server writes the values as bytes', () => {
    const h = new ResponseHeaders({ Location: '/plain/' });
    expect(h.non_ascii).toBe(false);
    h.set('Location', '/caf\u00e9/');
    expect(h.non_ascii).toBe(true);
  });

  it('a value not scanned again (the last plain one under its name) still reads as plain, and others are scanned', () => {
    const plain = new ResponseHeaders({ 'X-Memo': 'same value' });
    const again = new ResponseHeaders({ 'X-Memo': 'same value' });
    expect([plain.non_ascii, again.non_ascii, again.get('x-memo')]).toEqual([false, false, 'same value']);
    const wide = new ResponseHeaders({ 'X-Memo': 'caf\u00e9' });
    expect(wide.non_ascii).toBe(true);
    expect(() => new ResponseHeaders({ 'X-Memo': 'same value\r\n' })).toThrow(BadHeaderError);
    expect(new ResponseHeaders({ 'X-Memo': 'same value' }).non_ascii).toBe(false);
  });

  it('takes any number of distinct names', () => {
    const h = new ResponseHeaders();
    for (let i = 0; i < 600; i++) h.set(`X-Name-${i}`, String(i));
    expect(h.size).toBe(600);
    expect(h.get('x-name-599')).toBe('599');
    expect(() => h.set('X Name 600', '')).toThrow(BadHeaderError);
  });
});
