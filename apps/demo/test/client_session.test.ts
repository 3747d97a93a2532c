/**
 * client.session() (django.test.Client.session): read what views stored in
 * the client's session, and pre-set data before a request, for each kind of
 * engine — a database row, a cache entry, and a signed cookie whose value
 * changes on every save.
 */
import { Client } from '@tango/core/testing';
import { User } from '@tango/auth';
import { force_login } from '@tango/auth/testing';
import { configure_demo_site, demo_login, type DemoEngine } from './demo_site';

describe.each<DemoEngine>(['db', 'cache', 'signed_cookies'])('client.session() on %s', (engine) => {
  let teardown: () => Promise<void>;
  let client: Client;

  beforeAll(async () => {
    teardown = await configure_demo_site(engine);
  });
  afterAll(() => teardown());
  beforeEach(() => {
    client = new Client();
  });
  afterEach(() => client.close());

  it('reads the session a view wrote', async () => {
    await demo_login(client, 'alice');
    const session = await client.session();
    expect(session.get('_auth_user_id')).toBe(String((await User.get_by_natural_key('alice'))!.id));
    expect(session.session_key).toBe(client.cookies.get('sessionid')!.value);
  });

  it('pre-set data is what the next request sees', async () => {
    const bob = (await User.get_by_natural_key('bob'))!;
    const session = await client.session();
    // What login() stores, written directly (force_login does this for tests).
    session.set('_auth_user_id', String(bob.id));
    session.set('_auth_user_backend', 'django.contrib.auth.backends.ModelBackend');
    session.set('_auth_user_hash', bob.get_session_auth_hash());
    session.set('user_id', 'zhiliao');
    await session.save();
    expect((await client.get('/get_session/')).text).toBe('user_id: zhiliao');
    expect((await client.get('/whoami/')).text).toContain('You are <strong>bob</strong>.');
  });

  it('without a cookie, a new session is saved and its cookie put in the jar', async () => {
    expect(client.cookies.get('sessionid')).toBeUndefined();
    const session = await client.session();
    const key = client.cookies.get('sessionid')?.value;
    expect(key).toBe(session.session_key);
    if (engine !== 'signed_cookies') {
      expect(key).toMatch(/^[a-z0-9]{32}$/);
      expect(await session.exists(key!)).toBe(true);
    }
  });

  it('changes made to an existing session are kept alongside what the views stored', async () => {
    await client.get('/add_session/');
    const session = await client.session();
    session.set('extra', [1, 2]);
    await session.save();
    expect((await client.get('/session_items/')).json()).toEqual({ items: [['user_id', 'zhiliao'], ['extra', [1, 2]]] });
  });

  it('flush() through the client logs the client out and drops its cookie', async () => {
    await demo_login(client, 'alice');
    await (await client.session()).flush();
    expect(client.cookies.get('sessionid')).toBeUndefined();
    expect((await client.get('/whoami/')).text).toContain('You are not signed in.');
  });

  it('cycle_key() moves the cookie to the new key and keeps the data', async () => {
    await force_login(client, (await User.get_by_natural_key('carol'))!);
    const session = await client.session();
    const before = client.cookies.get('sessionid')!.value;
    await session.cycle_key();
    // A signed cookie's cycle_key is a re-save: within the same second it signs the same value.
    if (engine !== 'signed_cookies') expect(client.cookies.get('sessionid')!.value).not.toBe(before);
    expect(client.cookies.get('sessionid')!.value).toBe(session.session_key);
    expect((await client.get('/whoami/')).text).toContain('You are <strong>carol</strong>.');
  });
});
