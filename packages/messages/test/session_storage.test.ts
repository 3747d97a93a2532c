/**
 * SessionStorage and FallbackStorage (django/contrib/messages/storage/
 * session.py, fallback.py), MESSAGE_STORAGE resolution, and the cost rule:
 * a request that does not touch messages costs no store round trip.
 */
import { configure, override_settings } from '@tango/core/conf';
import { ImproperlyConfigured } from '@tango/core/errors';
import { capture_logs, set_stderr_logging } from '@tango/core/log';
import { HttpRequest } from '@tango/core/http/request';
import { HttpResponse } from '@tango/core/http/response';
import { close_caches } from '@tango/core/cache';
import { BaseStorage, FallbackStorage, Message, SessionStorage, get_messages, get_storage_class, info, CookieStorage } from '..';
import { MessageMiddleware } from '../middleware';
import MessageMiddlewareDefault from '../middleware';
import type { GetResult } from '../storage/base';
import { calls } from './fixtures/counting_engine';
import { Browser, COUNTING_ENGINE, SECRET_KEY } from './helpers';

const BASE = { SECRET_KEY, SESSION_ENGINE: COUNTING_ENGINE, CACHES: { default: { BACKEND: 'locmem', LOCATION: 'messages-tests' } } };

beforeAll(() => set_stderr_logging(false));
afterAll(async () => {
  set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1');
  await close_caches();
});
beforeEach(() => {
  configure(BASE);
  calls.load = 0;
});

const texts = (r: HttpRequest) => [...get_messages(r)].map(String);

// Pseudo-random letters, so zlib cannot fit many of them in the 2048-byte cookie.
function noise(i: number, n = 300): string {
  let x = i * 104729 + 7;
  let out = `m${i} `;
  for (let k = 0; k < n; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += String.fromCharCode(97 + (x % 26));
  }
  return out;
}

describe('SessionStorage', () => {
  beforeEach(() => configure({ ...BASE, MESSAGE_STORAGE: '@tango/messages/storage/session.SessionStorage' }));

  it('keeps messages in the session under _messages, as Django\'s MessageEncoder text', async () => {
    const browser = new Browser();
    const ex = await browser.get((r) => {
      info(r, 'Héllo', 'tag');
      info(r, 'plain');
    });
    expect(ex.request.session.get('_messages')).toBe('[["__json_message", 0, 20, "H\\u00e9llo", "tag"], ["__json_message", 0, 20, "plain", ""]]');
    expect(ex.response.cookies.has('messages')).toBe(false);
    expect(ex.response.cookies.has('sessionid')).toBe(true);
    const next = await browser.get((r) => {
      expect(texts(r)).toEqual(['Héllo', 'plain']);
    });
    // Read: the key is gone from the session.
    expect(next.request.session.has('_messages')).toBe(false);
  });

  it('reads Django\'s text, and logs and ignores anything else in the key', () => {
    const request = new HttpRequest();
    request.defer_session(() => ({ get: () => undefined }) as never);
    const storage = new SessionStorage(request);
    expect(storage.deserialize_messages('[["__json_message", 1, 25, "<b>ok</b>"]]')?.map((m) => [m.level, String(m.message), m.extra_tags]))
      .toEqual([[25, '<b>ok</b>', null]]);
    const logs = capture_logs();
    expect(storage.deserialize_messages('not json')).toBeNull();
    expect(storage.deserialize_messages({ a: 1 })).toBeNull();
    logs.stop();
    expect(logs.records.map((r) => r.name)).toEqual(['tango.security.messages', 'tango.security.messages']);
  });

  it('without SessionMiddleware is ImproperlyConfigured, as in Django', async () => {
    const handler = MessageMiddleware(async () => new HttpResponse('ok'));
    await expect(handler(new HttpRequest())).rejects.toThrow(ImproperlyConfigured);
    expect(() => new SessionStorage(new HttpRequest())).toThrow(ImproperlyConfigured);
    expect(() => new SessionStorage(new HttpRequest())).toThrow(/requires session middleware to be installed, and come before the message middleware/);
  });
});

describe('FallbackStorage (the default)', () => {
  it('is the default MESSAGE_STORAGE', () => {
    expect(get_storage_class()).toBe(FallbackStorage);
  });

  it('puts what fits in the cookie; a small set never touches the session', async () => {
    const browser = new Browser();
    const ex = await browser.get((r) => info(r, 'small'));
    expect(ex.cookies.messages).toBeTruthy();
    expect(ex.response.cookies.has('sessionid')).toBe(false);
    expect(ex.request.session_built).toBe(false);
    const next = await browser.get((r) => expect(texts(r)).toEqual(['small']));
    expect(next.request.session_built).toBe(false);
  });

  it('sends the rest to the session, keeps the order, and empties both once read', async () => {
    const browser = new Browser();
    const all = Array.from({ length: 12 }, (_, i) => noise(i));
    const ex = await browser.get((r) => all.forEach((t) => info(r, t)));
    expect(ex.cookies.messages.length).toBeLessThanOrEqual(2048);
    expect(ex.cookies.sessionid).toMatch(/^[a-z0-9]{32}$/);
    const in_session = ex.request.session.get<string>('_messages') as string;
    // The cookie kept the oldest; the newest went to the session.
    expect(in_session).toContain(all[11]);
    expect(in_session).not.toContain(all[0]);
    const read = await browser.get((r) => expect(texts(r)).toEqual(all));
    expect(read.lines.messages).toMatch(/^messages=""; expires=Thu, 01 Jan 1970/);
    expect(read.request.session.has('_messages')).toBe(false);
    await browser.get((r) => expect(texts(r)).toEqual([]));
  });

  it('a bad messages cookie is ignored, logged, and deleted once messages are read; new ones replace it', async () => {
    const browser = new Browser();
    browser.jar.set('messages', 'W1siX19qc29uX21lc3NhZ2UiXV0:1r31eq:forged');
    const logs = capture_logs();
    const untouched = await browser.get(() => new HttpResponse('plain'));
    expect(untouched.response.cookies.size).toBe(0);
    const read = await browser.get((r) => expect(texts(r)).toEqual([]));
    logs.stop();
    expect(logs.records.filter((l) => l.name === 'tango.security.messages')).toHaveLength(1);
    expect(read.lines.messages).toMatch(/^messages=""; expires=Thu, 01 Jan 1970/);
    expect(read.request.session_built).toBe(false);
    browser.jar.set('messages', 'garbage');
    const replaced = await browser.get((r) => info(r, 'fresh'));
    await browser.get((r) => expect(texts(r)).toEqual(['fresh']));
    expect(replaced.cookies.messages).not.toBe('garbage');
  });

  it('bad data under the session\'s _messages is ignored and removed once messages are read', async () => {
    const browser = new Browser();
    await browser.get((r) => r.session.set('_messages', '{"not": "a list"}'));
    await override_settings({ MESSAGE_STORAGE: '@tango/messages/storage/session.SessionStorage' }, async () => {
      const logs = capture_logs();
      const read = await browser.get((r) => expect(texts(r)).toEqual([]));
      logs.stop();
      expect(logs.records.map((l) => l.msg)).toEqual(["Ignored the session's _messages: not a list of messages."]);
      expect(read.request.session.has('_messages')).toBe(false);
    });
  });

  it('MESSAGE_STORAGE takes Django\'s dotted names, a class, and refuses a name that is no storage', async () => {
    expect(get_storage_class('django.contrib.messages.storage.cookie.CookieStorage')).toBe(CookieStorage);
    expect(get_storage_class('django.contrib.messages.storage.session.SessionStorage')).toBe(SessionStorage);
    class Mine extends BaseStorage {
      _get(): GetResult {
        return [[new Message(20, 'from mine')], true];
      }

      _store(): Message[] {
        return [];
      }
    }
    expect(get_storage_class(Mine)).toBe(Mine);
    await override_settings({ MESSAGE_STORAGE: Mine }, async () => {
      await new Browser().get((r) => expect(texts(r)).toEqual(['from mine']));
    });
    expect(() => get_storage_class('@tango/messages/storage/nothing.Nope')).toThrow(
      "Invalid setting MESSAGE_STORAGE = '@tango/messages/storage/nothing.Nope': expected a class extending BaseStorage or a module path naming one ('module.ClassName').",
    );
    // A bad setting stops start-up: the middleware is built at start.
    await override_settings({ MESSAGE_STORAGE: './no/such/module.Storage' }, () => {
      expect(() => MessageMiddleware(async () => new HttpResponse(''))).toThrow(ImproperlyConfigured);
    });
    expect(MessageMiddlewareDefault).toBe(MessageMiddleware);
  });
});

describe('cost: a request that does not touch messages', () => {
  it('with a session cookie: the one load SessionMiddleware does, no Vary from messages, nothing written', async () => {
    const browser = new Browser();
    // A session exists (something else stored in it).
    await browser.get((r) => r.session.set('cart', 3));
    calls.load = 0;
    const ex = await browser.get(() => new HttpResponse('plain page'));
    expect(calls.load).toBe(1);
    expect(ex.response.cookies.size).toBe(0);
    expect(ex.response.headers.get('Vary')).toBeUndefined();
  });

  it('without cookies: no session is even built, no store round trip', async () => {
    const browser = new Browser();
    const ex = await browser.get(() => new HttpResponse('plain page'));
    expect(calls.load).toBe(0);
    expect(ex.request.session_built).toBe(false);
    expect(ex.response.cookies.size).toBe(0);
  });

  it('reading messages with no messages cookie does not touch the session (fallback stops at the cookie)', async () => {
    const browser = new Browser();
    await browser.get((r) => r.session.set('cart', 3));
    calls.load = 0;
    const ex = await browser.get((r) => expect(texts(r)).toEqual([]));
    expect(calls.load).toBe(1);
    expect(ex.request.session.accessed).toBe(false);
  });
});
