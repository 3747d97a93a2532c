/**
 * CookieStorage (django/contrib/messages/storage/cookie.py, 5.2): the signed
 * `messages` cookie byte for byte, read-once semantics, the 2048-byte rule
 * with the not-finished sentinel, the cookie's attributes, and bad cookies
 * ignored with a logged reason.
 */
import { configure, override_settings } from '@tango/core/conf';
import { mark_safe, SafeString } from '@tango/core/html';
import { capture_logs, set_stderr_logging } from '@tango/core/log';
import { HttpRequest } from '@tango/core/http/request';
import { HttpResponse } from '@tango/core/http/response';
import { get_cookie_signer } from '@tango/core/http/signed_cookies';
import { get_messages, info, messages, Message } from '..';
import { CookieStorage, bisect_keep_left, bisect_keep_right } from '../storage/cookie';
import { Browser, SECRET_KEY, exchange } from './helpers';

const STORAGE = '@tango/messages/storage/cookie.CookieStorage';
const DELETION = 'messages=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';

// Computed with Django's signing (get_cookie_signer(salt='django.contrib.messages').sign_object(..., compress=True))
// over Django 5.2's MessageEncoder output, SECRET_KEY 'messages-test-secret', at T.
const DJANGO_TWO = '.eJyLjlaKj88qzs-Lz00tLk5MT1XSMdAxMtBR8kjNyclX0lFSitXBVGKoYwJU4pyYFlNqYJBqqWCTZAdUWlqUnppXohQbCwCD6BpK:1r31eq:-3WjhMlrFCc7X2FEfn7u4fO4VeetTbuZrjyn5G_8M08';
const DJANGO_SAVED = 'W1siX19qc29uX21lc3NhZ2UiLDAsMjUsIlNhdmVkLiIsIiJdXQ:1r31eq:m-lOEN10ITMG1qGGUQOeKH0T1pbqIDRV1c_hcYuP-hI';

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));
beforeEach(() => configure({ SECRET_KEY, MESSAGE_STORAGE: STORAGE }));

function seen(request: HttpRequest): Array<[number, string, string | null, boolean]> {
  return [...get_messages(request)].map((m) => [m.level, String(m.message), m.extra_tags, m.message instanceof SafeString]);
}

function storage_for(cookie_value?: string): CookieStorage {
  return new CookieStorage(new HttpRequest({ headers: cookie_value === undefined ? {} : { cookie: `messages=${cookie_value}` } }));
}

describe('the cookie, as Django writes it', () => {
  it('matches Django 5.2 byte for byte (compressed, and not)', async () => {
    const two = await exchange((r) => {
      messages.info(r, 'Hello');
      messages.error(r, mark_safe('Café <b>'), 'urgent');
    });
    expect(two.cookies.messages).toBe(DJANGO_TWO);
    const one = await exchange((r) => messages.success(r, 'Saved.'));
    expect(one.cookies.messages).toBe(DJANGO_SAVED);
  });

  it('reads what Django wrote: levels, text, extra_tags and the safe flag', async () => {
    const ex = await exchange((r) => {
      expect(seen(r)).toEqual([[20, 'Hello', '', false], [40, 'Café <b>', 'urgent', true]]);
    }, `messages=${DJANGO_TWO}`);
    // Read: the cookie is deleted.
    expect(ex.lines.messages).toBe(DELETION);
  });

  it('is a browser-session cookie with SESSION_COOKIE_DOMAIN, _SECURE, _HTTPONLY and _SAMESITE', async () => {
    const plain = await exchange((r) => info(r, 'x'));
    expect(plain.lines.messages).toBe(`messages=${plain.cookies.messages}; HttpOnly; Path=/; SameSite=Lax`);
    await override_settings({
      SESSION_COOKIE_DOMAIN: '.example.com', SESSION_COOKIE_SECURE: true, SESSION_COOKIE_HTTPONLY: false, SESSION_COOKIE_SAMESITE: 'Strict',
    }, async () => {
      const ex = await exchange((r) => info(r, 'x'));
      expect(ex.lines.messages).toBe(`messages=${ex.cookies.messages}; Domain=.example.com; Path=/; SameSite=Strict; Secure`);
      const read = await exchange((r) => void [...get_messages(r)], `messages=${ex.cookies.messages}`);
      expect(read.lines.messages).toBe('messages=""; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Strict');
    });
  });

  it('with an empty extra_tags writes "" (Django 5.2) and reads a message without one (Django 3.2) as null', () => {
    const storage = storage_for();
    const encoded = storage._encode([new Message(20, 'a', ''), new Message(20, 'b', null)]) as string;
    const decoded = storage._decode(encoded);
    expect(decoded?.messages.map((m) => m.extra_tags)).toEqual(['', null]);
  });
});

describe('read once, unread kept', () => {
  it('messages added on one request are shown on the next, then gone', async () => {
    const browser = new Browser();
    const first = await browser.get((r) => info(r, 'Welcome back.'));
    expect(first.cookies.messages).toBeTruthy();
    const second = await browser.get((r) => {
      expect(seen(r)).toEqual([[20, 'Welcome back.', '', false]]);
    });
    expect(second.lines.messages).toBe(DELETION);
    expect(browser.jar.has('messages')).toBe(false);
    await browser.get((r) => {
      expect(seen(r)).toEqual([]);
    });
  });

  it('a page that does not read them leaves the cookie alone (no Set-Cookie)', async () => {
    const browser = new Browser();
    await browser.get((r) => info(r, 'Kept.'));
    const untouched = await browser.get(() => undefined);
    expect(untouched.response.cookies.size).toBe(0);
    await browser.get((r) => expect(seen(r)).toEqual([[20, 'Kept.', '', false]]));
  });

  it('adding to unread messages stores old and new together', async () => {
    const browser = new Browser();
    await browser.get((r) => info(r, 'one'));
    await browser.get((r) => info(r, 'two'));
    await browser.get((r) => expect(seen(r).map((m) => m[1])).toEqual(['one', 'two']));
  });

  it('a message added after the messages were read waits for the next page', async () => {
    const browser = new Browser();
    await browser.get((r) => info(r, 'old'));
    const ex = await browser.get((r) => {
      expect(seen(r).map((m) => m[1])).toEqual(['old']);
      info(r, 'new');
    });
    expect(ex.cookies.messages).toBeTruthy();
    await browser.get((r) => expect(seen(r).map((m) => m[1])).toEqual(['new']));
  });

  it('messages added and read on the same request are not stored', async () => {
    const ex = await exchange((r) => {
      info(r, 'shown now');
      expect(seen(r).map((m) => m[1])).toEqual(['shown now']);
    });
    expect(ex.lines.messages).toBe(DELETION);
  });

  it('length and includes() do not mark them read', async () => {
    const browser = new Browser();
    await browser.get((r) => info(r, 'one'));
    const ex = await browser.get((r) => {
      const storage = get_messages(r) as CookieStorage;
      expect(storage.length).toBe(1);
      expect(storage.includes(new Message(20, 'one'))).toBe(true);
      expect(storage.used).toBe(false);
    });
    expect(ex.response.cookies.size).toBe(0);
  });
});

describe('the 2048-byte rule', () => {
  // Pseudo-random letters (a fixed LCG), so zlib cannot shrink the cookie under the limit.
  const text = (i: number): string => {
    let x = i * 7919 + 1;
    let out = `message ${i} `;
    for (let n = 0; n < 300; n++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      out += String.fromCharCode(97 + (x % 26));
    }
    return out;
  };

  it('keeps the newest that fit, ends with the sentinel, returns the dropped oldest', () => {
    const storage = storage_for();
    const all = Array.from({ length: 12 }, (_, i) => new Message(20, text(i)));
    const response = new HttpResponse('');
    const unstored = storage._store([...all], response);
    const value = response.cookies.get('messages')?.value as string;
    expect(value.length).toBeLessThanOrEqual(CookieStorage.max_cookie_size);
    expect(unstored.length).toBeGreaterThan(0);
    const decoded = storage._decode(value);
    expect(decoded?.all_retrieved).toBe(false);
    // The oldest went: the cookie holds the rest, in order.
    expect(unstored).toEqual(all.slice(0, unstored.length));
    expect(decoded?.messages.map(String)).toEqual(all.slice(unstored.length).map(String));
    // The sentinel is inside the signed data, never a message.
    expect(decoded?.messages.every((m) => m instanceof Message)).toBe(true);
    // One more message would not have fitted (the cut is as late as possible).
    const one_more = storage._encode([...all.slice(unstored.length - 1), CookieStorage.not_finished]) as string;
    expect(one_more.length).toBeGreaterThan(CookieStorage.max_cookie_size);
  });

  it('with remove_oldest false keeps the oldest (what FallbackStorage asks for)', () => {
    const storage = storage_for();
    const all = Array.from({ length: 12 }, (_, i) => new Message(20, text(i)));
    const response = new HttpResponse('');
    const unstored = storage._store([...all], response, false);
    const decoded = storage._decode(response.cookies.get('messages')?.value);
    expect(unstored).toEqual(all.slice(all.length - unstored.length));
    expect(decoded?.messages.map(String)).toEqual(all.slice(0, all.length - unstored.length).map(String));
    expect(decoded?.all_retrieved).toBe(false);
  });

  it('under DEBUG, messages that did not fit are an error, as in Django', async () => {
    const many = (r: HttpRequest) => {
      for (let i = 0; i < 12; i++) info(r, text(i));
    };
    await override_settings({ DEBUG: true }, async () => {
      await expect(exchange(many)).rejects.toThrow('Not all temporary messages could be stored.');
    });
    const quiet = await exchange(many);
    expect(quiet.cookies.messages.length).toBeLessThanOrEqual(2048);
  });

  it('bisect_keep_left / bisect_keep_right find the cut as Django\'s do', () => {
    const a = [1, 2, 3, 4, 5];
    const sum = (p: number[]) => p.reduce((x, y) => x + y, 0);
    expect(bisect_keep_left(a, (p) => sum(p) > 6)).toBe(3);
    expect(bisect_keep_right(a, (p) => sum(p) > 9)).toBe(3);
    expect(bisect_keep_left([], () => true)).toBe(0);
  });
});

describe('bad cookies: ignored with a logged reason, never a 500', () => {
  async function refused(value: string): Promise<{ reasons: string[]; ex: Awaited<ReturnType<typeof exchange>> }> {
    const logs = capture_logs();
    try {
      const ex = await exchange((r) => {
        expect(seen(r)).toEqual([]);
      }, `messages=${value}`);
      return { reasons: logs.records.filter((l) => l.name === 'tango.security.messages').map((l) => l.msg), ex };
    } finally {
      logs.stop();
    }
  }

  it('a cookie signed with another SECRET_KEY', async () => {
    const other = await override_settings({ SECRET_KEY: 'another-key' }, () => exchange((r) => info(r, 'x')));
    const { reasons, ex } = await refused(other.cookies.messages);
    expect(reasons).toEqual(['Ignored the messages cookie: its signature does not match (signed with another SECRET_KEY, or altered).']);
    expect(ex.response.status_code).toBe(200);
    // Read (used), so the bad cookie is deleted.
    expect(ex.lines.messages).toBe(DELETION);
  });

  it('a tampered cookie, garbage, and a valid signature over something that is not messages', async () => {
    const tampered = DJANGO_SAVED.replace('W1siX', 'W1tiX');
    expect((await refused(tampered)).reasons[0]).toMatch(/signature does not match/);
    expect((await refused('garbage')).reasons[0]).toMatch(/signature does not match/);
    const signer = storage_for();
    const not_a_list = signer._encode(['just a string']) as string;
    // ['just a string'] is a list holding no message: refused as not messages.
    expect((await refused(not_a_list)).reasons[0]).toBe('Ignored the messages cookie: its content does not decode (a list item is not a message).');
  });

  it('a message with the wrong shape inside a valid signature', () => {
    const storage = storage_for();
    const sign = (json: string) => get_cookie_signer('django.contrib.messages').sign_object(JSON.parse(json), { compress: true });
    for (const json of ['[["__json_message",0,"high","x"]]', '[["__json_message",0,20,{"a":1}]]', '[["__json_message",0,20]]', '{"a":1}']) {
      const logs = capture_logs();
      expect(storage._decode(sign(json))).toBeNull();
      logs.stop();
      expect(logs.records).toHaveLength(1);
    }
  });

  it('an old key in SECRET_KEY_FALLBACKS still reads', async () => {
    const old = await override_settings({ SECRET_KEY: 'old-key' }, () => exchange((r) => info(r, 'from before the rotation')));
    await override_settings({ SECRET_KEY: 'new-key', SECRET_KEY_FALLBACKS: ['old-key'] }, () => exchange((r) => {
      expect(seen(r).map((m) => m[1])).toEqual(['from before the rotation']);
    }, `messages=${old.cookies.messages}`));
  });
});

describe('cost', () => {
  it('a request that does not touch messages reads no cookie and sets none', async () => {
    const ex = await exchange(() => undefined, `messages=${DJANGO_SAVED}`);
    expect(ex.response.cookies.size).toBe(0);
    expect((ex.request._messages as CookieStorage).used).toBe(false);
  });
});
