/** `request.session['key']` reads and writes data; it never silently shadows a method. */
import { configure } from '@tango/core';
import { with_bracket_access } from '@tango/sessions';
import { SessionStore } from '@tango/sessions/backends/signed_cookies';

describe('bracket access', () => {
  beforeAll(() => configure({ SECRET_KEY: 'bracket-secret' }));

  it('reads and writes session keys', () => {
    const s = with_bracket_access(new SessionStore()) as unknown as Record<string, unknown> & SessionStore;
    s['user_id'] = 'zhiliao';
    expect(s.get('user_id')).toBe('zhiliao');
    expect(s['user_id']).toBe('zhiliao');
    expect(s.modified).toBe(true);
    delete s['user_id'];
    expect(s.has('user_id')).toBe(false);
  });

  it('refuses to assign over a method name, pointing to set()', () => {
    const s = with_bracket_access(new SessionStore()) as unknown as Record<string, unknown>;
    expect(() => {
      s['items'] = [1, 2];
    }).toThrow("'items' is a session method, not a key: use session.set('items', value).");
    expect(typeof s['items']).toBe('function');
    (s as unknown as SessionStore).set('items', [1, 2]);
    expect((s as unknown as SessionStore).get('items')).toEqual([1, 2]);
  });

  it('still lets code set the documented flags', () => {
    const s = with_bracket_access(new SessionStore());
    s.modified = true;
    expect(s.modified).toBe(true);
  });
});
