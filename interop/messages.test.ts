/**
 * Issue 21, part 3: django.contrib.messages shared with real Django 3.2.
 * The cookie and session formats are Django's, so messages added on one side
 * are shown on the other, for the cookie, session and fallback storages.
 *
 * Django 3.2 and 5.2 write the same cookie (sign_object over the compact
 * MessageEncoder JSON, compressed, salt 'django.contrib.messages') with one
 * difference: an empty extra_tags is left out by 3.2 and written as "" by
 * 5.2 (and Tango). Each side reads both forms, so only the bytes differ, and
 * they are compared byte for byte where extra_tags is not empty.
 */
import { freeze_time } from '../packages/core/clock';
import { configure, override_settings } from '../packages/core/conf';
import { mark_safe, SafeString } from '../packages/core/html';
import { HttpRequest } from '../packages/core/http/request';
import { HttpResponse } from '../packages/core/http/response';
import { set_stderr_logging } from '../packages/core/log';
import { add_message, get_messages } from '../packages/messages';
import { MessageMiddleware } from '../packages/messages/middleware';
import { SessionMiddleware } from '../packages/sessions/middleware';
import { close_connections } from '../packages/core/db';
import { sqlite_shared, type SharedDatabase } from './databases';
import { Django, describe_with_django, must } from './django';
import { cookie_pair } from './session_requests';

jest.setTimeout(60000);

const SECRET_KEY = 'django-insecure-messages-interop-secret';
const T = 1700000000;

type Storage = 'cookie' | 'session' | 'fallback';
/** [level, text, extra_tags, safe] */
type Add = [number, string, string, boolean];
/** [level, text, extra_tags, tags, safe] as each side read it */
type Read = [number, string, string | null, string, boolean];

interface Outcome {
  read: Read[] | null;
  session_messages: string | null;
  set_cookie: Record<string, string>;
}

const STORAGES: Record<Storage, string> = {
  cookie: '@tango/messages/storage/cookie.CookieStorage',
  session: '@tango/messages/storage/session.SessionStorage',
  fallback: '@tango/messages/storage/fallback.FallbackStorage',
};

/** The driver's messages_request op, on Tango: SessionMiddleware, MessageMiddleware, a view that adds and reads. */
async function tango(storage: Storage, actions: { cookie_header?: string; add?: Add[]; read?: boolean }, now = T): Promise<Outcome> {
  const restore = freeze_time(now * 1000);
  try {
    let read: Read[] | null = null;
    let request_seen: HttpRequest | undefined;
    const handler = SessionMiddleware(MessageMiddleware(async (request) => {
      request_seen = request;
      for (const [level, text, extra_tags, safe] of actions.add ?? []) add_message(request, level, safe ? mark_safe(text) : text, extra_tags);
      if (actions.read) {
        read = [...get_messages(request)].map((m) => [m.level, String(m.message), m.extra_tags, m.tags, m.message instanceof SafeString]);
      }
      return new HttpResponse('ok');
    }));
    const response = await override_settings({ MESSAGE_STORAGE: STORAGES[storage] }, () =>
      handler(new HttpRequest({ url: '/', headers: actions.cookie_header ? { cookie: actions.cookie_header } : {} })));
    const session = (request_seen as HttpRequest).session;
    return {
      read,
      session_messages: (session.get('_messages') as string | undefined) ?? null,
      set_cookie: Object.fromEntries([...response.cookies].map(([name, m]) => [name, m.output()])),
    };
  } finally {
    restore();
  }
}

/** The Cookie header a browser sends after `set_cookie` (deleted cookies left out). */
function cookies_after(set_cookie: Record<string, string>): string {
  return Object.values(set_cookie).filter((line) => !/Max-Age=0/.test(line)).map(cookie_pair).join('; ');
}

function value_of(set_cookie: Record<string, string>, name: string): string | undefined {
  const line = set_cookie[name];
  return line === undefined ? undefined : cookie_pair(line).slice(name.length + 1);
}

// Pseudo-random letters (a fixed LCG): many of them cannot fit in the 2048-byte cookie however zlib tries.
function noise(i: number, n = 300): string {
  let x = i * 104729 + 7;
  let out = `m${i} `;
  for (let k = 0; k < n; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += String.fromCharCode(97 + (x % 26));
  }
  return out;
}

const TAGGED: Add[] = [
  [20, 'Signed in as zhiliao.', 'login', false],
  [25, 'Profile saved — 清風 😀', 'profile fade', false],
  [40, '<b>Card declined</b>', 'payment', true],
  [31, 'custom level', 'x', false],
];
const TAGGED_READ: Read[] = [
  [20, 'Signed in as zhiliao.', 'login', 'login info', false],
  [25, 'Profile saved — 清風 😀', 'profile fade', 'profile fade success', false],
  [40, '<b>Card declined</b>', 'payment', 'payment error', true],
  [31, 'custom level', 'x', 'x', false],
];
const UNTAGGED: Add[] = [[20, 'Hello', '', false], [30, 'Careful', '', false]];
const MANY: Add[] = Array.from({ length: 12 }, (_, i) => [20 + (i % 3) * 5, noise(i), `t${i}`, false] as Add);

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

describe_with_django('messages shared with Django 3.2', () => {
  const django = new Django({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' });
  const dj = async (storage: Storage, actions: { cookie_header?: string; add?: Add[]; read?: boolean }, now = T): Promise<Outcome> =>
    must(await django.one({ op: 'messages_request', storage, ...actions, now })) as unknown as Outcome;

  beforeEach(() => configure({ SECRET_KEY, SESSION_ENGINE: 'signed_cookies' }));

  describe('CookieStorage', () => {
    it('the same messages at the same instant make the same cookie, byte for byte', async () => {
      const d = await dj('cookie', { add: TAGGED });
      const t = await tango('cookie', { add: TAGGED });
      expect(value_of(t.set_cookie, 'messages')).toMatch(/^\.[\w-]+:[\w-]+:[\w-]+$/);
      expect(value_of(t.set_cookie, 'messages')).toBe(value_of(d.set_cookie, 'messages'));
      expect(t.set_cookie.messages).toBe(d.set_cookie.messages);
    });

    it('Django writes, Tango reads (tags, safe flag, Unicode), then deletes the cookie as Django would', async () => {
      const d = await dj('cookie', { add: [...TAGGED, ...UNTAGGED] });
      const t = await tango('cookie', { cookie_header: cookies_after(d.set_cookie), read: true });
      expect(t.read).toEqual([...TAGGED_READ, [20, 'Hello', null, 'info', false], [30, 'Careful', null, 'warning', false]]);
      const d_read = await dj('cookie', { cookie_header: cookies_after(d.set_cookie), read: true });
      expect(t.set_cookie.messages).toBe(d_read.set_cookie.messages);
    });

    it('Tango writes, Django reads', async () => {
      const t = await tango('cookie', { add: [...TAGGED, ...UNTAGGED] });
      const d = await dj('cookie', { cookie_header: cookies_after(t.set_cookie), read: true });
      expect(d.read).toEqual([...TAGGED_READ, [20, 'Hello', '', 'info', false], [30, 'Careful', '', 'warning', false]]);
    });

    it('over 2048 bytes: the same cut and sentinel on both sides, and each reads the other\'s', async () => {
      const d = await dj('cookie', { add: MANY });
      const t = await tango('cookie', { add: MANY });
      const value = value_of(t.set_cookie, 'messages') as string;
      expect(value.length).toBeLessThanOrEqual(2048);
      expect(value).toBe(value_of(d.set_cookie, 'messages'));
      const d_reads = await dj('cookie', { cookie_header: cookies_after(t.set_cookie), read: true });
      const t_reads = await tango('cookie', { cookie_header: cookies_after(d.set_cookie), read: true });
      expect(t_reads.read).toEqual(d_reads.read);
      // The oldest were dropped; the newest are there, without the sentinel.
      const texts = (t_reads.read as Read[]).map((r) => r[1]);
      expect(texts.length).toBeGreaterThan(0);
      expect(texts.length).toBeLessThan(MANY.length);
      expect(texts).toEqual(MANY.slice(MANY.length - texts.length).map((a) => a[1]));
    });

    it('a cookie signed with another key is ignored on both sides (and deleted once read)', async () => {
      const theirs = await new Django({ SECRET_KEY: 'another-key', SESSION_ENGINE: 'signed_cookies' }).one({
        op: 'messages_request', storage: 'cookie', add: TAGGED, now: T,
      }) as unknown as Outcome;
      const t = await tango('cookie', { cookie_header: cookies_after(theirs.set_cookie), read: true });
      expect(t.read).toEqual([]);
      expect(t.set_cookie.messages).toMatch(/^messages=""; expires=Thu, 01 Jan 1970/);
      const ours = await override_settings({ SECRET_KEY: 'another-key' }, () => tango('cookie', { add: TAGGED }));
      const d = await dj('cookie', { cookie_header: cookies_after(ours.set_cookie), read: true });
      expect(d.read).toEqual([]);
    });
  });

  describe('SessionStorage (signed_cookies sessions)', () => {
    it('the same messages give the same `_messages` text', async () => {
      const d = await dj('session', { add: TAGGED });
      const t = await tango('session', { add: TAGGED });
      expect(t.session_messages).toBe(d.session_messages);
      expect(t.session_messages).toMatch(/^\[\["__json_message", 0, 20, /);
    });

    it('Django writes, Tango reads; Tango writes, Django reads', async () => {
      const d = await dj('session', { add: [...TAGGED, ...UNTAGGED] });
      const t = await tango('session', { cookie_header: cookies_after(d.set_cookie), read: true });
      expect(t.read).toEqual([...TAGGED_READ, [20, 'Hello', null, 'info', false], [30, 'Careful', null, 'warning', false]]);
      const t2 = await tango('session', { add: [...TAGGED, ...UNTAGGED] });
      const d2 = await dj('session', { cookie_header: cookies_after(t2.set_cookie), read: true });
      expect(d2.read).toEqual([...TAGGED_READ, [20, 'Hello', '', 'info', false], [30, 'Careful', '', 'warning', false]]);
      // Read on the Django side: the key is gone from the session it saves.
      expect(d2.session_messages).toBeNull();
    });
  });

  describe('FallbackStorage', () => {
    it('Django spills to the session, Tango reads all in order; and the other way round', async () => {
      const d = await dj('fallback', { add: MANY });
      expect(d.set_cookie.messages).toBeDefined();
      expect(d.set_cookie.sessionid).toBeDefined();
      const t = await tango('fallback', { cookie_header: cookies_after(d.set_cookie), read: true });
      expect((t.read as Read[]).map((r) => r[1])).toEqual(MANY.map((a) => a[1]));

      const t2 = await tango('fallback', { add: MANY });
      expect(value_of(t2.set_cookie, 'messages')).toBe(value_of(d.set_cookie, 'messages'));
      expect(t2.session_messages).toContain(MANY[11][1]);
      expect(t2.session_messages).toBe(d.session_messages);
      const d2 = await dj('fallback', { cookie_header: cookies_after(t2.set_cookie), read: true });
      expect((d2.read as Read[]).map((r) => r[1])).toEqual(MANY.map((a) => a[1]));
    });

    it('a few messages stay in the cookie on both sides', async () => {
      const d = await dj('fallback', { add: TAGGED });
      const t = await tango('fallback', { add: TAGGED });
      expect(d.set_cookie.sessionid).toBeUndefined();
      expect(t.set_cookie.sessionid).toBeUndefined();
      expect(t.set_cookie.messages).toMatch(/^messages=\S+; HttpOnly; Path=\/; SameSite=Lax$/);
      expect(t.set_cookie.messages).toBe(d.set_cookie.messages);
    });
  });
});

describe_with_django('messages in db sessions shared with Django 3.2 (one SQLite django_session table)', () => {
  let db: SharedDatabase;
  let django: Django;
  const dj = async (storage: Storage, actions: { cookie_header?: string; add?: Add[]; read?: boolean }): Promise<Outcome> =>
    must(await django.one({ op: 'messages_request', storage, ...actions, now: T })) as unknown as Outcome;

  beforeAll(async () => {
    db = sqlite_shared();
    django = new Django({ SECRET_KEY, database: db.django, SESSION_ENGINE: 'db' });
    expect((await django.one({ op: 'migrate' })).stdout).toContain('Applying sessions.0001_initial... OK');
  });
  afterAll(async () => {
    await django?.close();
    await close_connections();
    await db?.drop();
  });
  beforeEach(() => configure({ SECRET_KEY, DATABASES: { default: db.tango }, SESSION_ENGINE: 'db' }, __dirname));

  it('SessionStorage: Django stores messages in its session row, Tango shows them and removes them from the row', async () => {
    const d = await dj('session', { add: TAGGED });
    const key = value_of(d.set_cookie, 'sessionid') as string;
    expect(key).toMatch(/^[a-z0-9]{32}$/);
    const t = await tango('session', { cookie_header: `sessionid=${key}`, read: true });
    expect(t.read).toEqual(TAGGED_READ);
    expect(t.session_messages).toBeNull();
    // Tango saved the row without them: Django finds none.
    const again = await dj('session', { cookie_header: `sessionid=${key}`, read: true });
    expect(again.read).toEqual([]);
  });

  it('FallbackStorage: Tango spills into its session row, Django shows all of them in order', async () => {
    const t = await tango('fallback', { add: MANY });
    expect(value_of(t.set_cookie, 'sessionid')).toMatch(/^[a-z0-9]{32}$/);
    const d = await dj('fallback', { cookie_header: cookies_after(t.set_cookie), read: true });
    expect((d.read as Read[]).map((r) => r[1])).toEqual(MANY.map((a) => a[1]));
  });
});
