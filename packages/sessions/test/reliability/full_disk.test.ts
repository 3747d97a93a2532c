/**
 * Issue 19, item 2: the file engine on a full or a read-only disk, through a
 * real listening server whose SESSION_FILE_PATH is a 256 KB tmpfs mounted by
 * the test (see tmpfs.ts; needs root).
 *
 * The promise: a write or a delete that did not reach the disk is never
 * acknowledged. It answers 503 with the reason logged, sends no cookie (no
 * new one, no deletion), and the data stored before stays as it was; no
 * 0-byte or temporary file is left behind. A logout that could not delete the
 * session file is a 503, not a redirect with a deletion cookie: otherwise a
 * copy of the cookie (another device, a thief) would stay signed in while the
 * user believes they signed out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { configure, create_app, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, path as route } from '@tango/core';
import { capture_logs, set_stderr_logging, type LogRecord } from '@tango/core/log';
import { SessionMiddleware } from '../../middleware';
import { report, SECRET_KEY, SessionUser, urlpatterns, type Outcome } from './helpers';
import { describe_with_tmpfs, type Tmpfs } from './tmpfs';

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

/** django.contrib.auth.login's session handling: a new key (cycle_key), then the user id written under it. */
async function login(request: HttpRequest): Promise<HttpResponse> {
  await request.session.cycle_key();
  request.session.set('user', request.GET.get('user', 'alice'));
  return new HttpResponseRedirect('/whoami/');
}

/** django.contrib.auth.logout: flush() empties the session and deletes its record. */
async function logout(request: HttpRequest): Promise<HttpResponse> {
  await request.session.flush();
  return new HttpResponseRedirect('/');
}

function whoami(request: HttpRequest): HttpResponse {
  return new JsonResponse({ user: request.session.get('user', null), n: request.session.get('n', null) });
}

const SIZE = '256k';

describe_with_tmpfs(SIZE)('the file engine on a full or read-only disk', (disk: () => Tmpfs) => {
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  let logs: { records: LogRecord[]; stop: () => void };

  beforeAll(async () => {
    dir = disk().dir;
    configure({ SECRET_KEY, SESSION_ENGINE: 'file', SESSION_FILE_PATH: dir });
    const routes = [...urlpatterns, route('login/', login), route('logout/', logout), route('whoami/', whoami)];
    app = await create_app({ urlpatterns: routes, middleware: [SessionMiddleware] });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    logs = capture_logs();
  });
  afterEach(() => logs.stop());

  /** Every file in the session directory but the filler, with its size. */
  const listing = (): Record<string, number> =>
    Object.fromEntries(fs.readdirSync(dir).filter((n) => n !== 'filler').sort().map((n) => [n, fs.statSync(path.join(dir, n)).size]));
  const file_of = (key: string | null) => path.join(dir, `sessionid${key}`);
  /** The reasons the server logged for its 503s since the test started. */
  const reasons = () => logs.records.filter((r) => r.name === 'tango.request' && r.level === 'error').map((r) => r.msg);

  /** Every refused request, for the figures. */
  const refusals: Array<{ what: string; ms: number }> = [];

  /** A 503, with no Set-Cookie for the session: neither a new cookie nor a deletion. */
  function refused(out: Outcome, what: string): void {
    expect({ status: out.status, set_session: out.set_session }).toEqual({ status: 503, set_session: undefined });
    refusals.push({ what, ms: out.ms });
  }

  afterAll(() => {
    if (refusals.length) report(`file engine, disk full / read-only: ${refusals.map((r) => `${r.what} → 503 in ${r.ms.toFixed(1)} ms`).join('; ')}`);
  });

  async function signed_up(user: SessionUser, times: number): Promise<string> {
    for (let i = 1; i <= times; i++) {
      const out = await user.request(`/incr/?owner=${user.id}`);
      expect(out.status).toBe(200);
      expect(JSON.parse(out.body)).toEqual({ n: i, owner: String(user.id) });
    }
    return user.cookie as string;
  }

  describe('full (a filler file took every block)', () => {
    let filler: string;
    let alice: SessionUser;
    let alice_key: string;
    let stored: string;

    beforeAll(async () => {
      alice = new SessionUser(1, base);
      alice_key = await signed_up(alice, 2);
      stored = fs.readFileSync(file_of(alice_key), 'ascii');
      filler = disk().fill();
      expect(disk().free()).toBe(0);
    });
    afterAll(() => fs.rmSync(filler, { force: true }));

    it('a write to an existing session answers 503 with the reason logged; the old data stays and loads', async () => {
      const before = listing();
      refused(await alice.request('/incr/?owner=1'), 'full: write');
      expect(reasons()).toEqual([
        `Service Unavailable: /incr/: Could not write the file of session ${alice_key.slice(0, 4)}…: ENOSPC: no space left on device, write`]);
      expect(fs.readFileSync(file_of(alice_key), 'ascii')).toBe(stored);
      // No temp file (_out_) or lock file (_lock) left behind.
      expect(listing()).toEqual(before);
      const read = await alice.request('/read/');
      expect(read.status).toBe(200);
      expect(JSON.parse(read.body)).toEqual({ n: 2, owner: '1' });
    });

    it('a new session answers 503, gets no cookie and leaves no file (no 0-byte one)', async () => {
      const before = listing();
      const bob = new SessionUser(2, base);
      refused(await bob.request('/incr/?owner=2'), 'full: new session');
      expect(bob.cookie).toBeNull();
      expect(listing()).toEqual(before);
      expect(reasons()).toEqual([expect.stringMatching(/^Service Unavailable: \/incr\/: .*ENOSPC/)]);
    });

    it('a login (cycle_key, then a write) answers 503, not a redirect; the user is not signed in, the old session stays', async () => {
      const before = listing();
      refused(await alice.request('/login/', 'POST'), 'full: login');
      expect(alice.cookie).toBe(alice_key);
      expect(listing()).toEqual(before);
      expect(fs.readFileSync(file_of(alice_key), 'ascii')).toBe(stored);
      const who = await alice.request('/whoami/');
      expect(JSON.parse(who.body)).toEqual({ user: null, n: 2 });
    });

    it('a logout still works (a delete frees space): 302, a deletion cookie, the file gone', async () => {
      const carol = new SessionUser(3, base);
      const carol_key = await (async () => {
        // Made while there was room: free one block, sign up, fill again.
        fs.truncateSync(filler, fs.statSync(filler).size - 8192);
        const key = await signed_up(carol, 1);
        disk().fill();
        return key;
      })();
      const out = await carol.request('/logout/', 'POST');
      expect({ status: out.status, set_session: out.set_session }).toEqual({ status: 302, set_session: '' });
      expect(fs.existsSync(file_of(carol_key))).toBe(false);
    });

    it('once space is back, the same session saves again from where it was', async () => {
      fs.rmSync(filler);
      const out = await alice.request('/incr/?owner=1');
      expect(out.status).toBe(200);
      expect(JSON.parse(out.body)).toEqual({ n: 3, owner: '1' });
      report(`full disk (${SIZE} tmpfs): write → 503, new session → 503 and no file, login → 503; after freeing space the session went on at n=3`);
    });
  });

  describe('read-only (remounted ro)', () => {
    let dave: SessionUser;
    let dave_key: string;
    let stored: string;
    let erin: SessionUser;
    let erin_key: string;

    beforeAll(async () => {
      dave = new SessionUser(4, base);
      dave_key = await signed_up(dave, 1);
      stored = fs.readFileSync(file_of(dave_key), 'ascii');
      // A session past SESSION_COOKIE_AGE by its mtime: load() deletes it and makes a new one, which it cannot here.
      erin = new SessionUser(5, base);
      erin_key = await signed_up(erin, 1);
      const old = new Date(Date.now() - 15 * 86_400_000);
      fs.utimesSync(file_of(erin_key), old, old);
      disk().read_only();
    });
    afterAll(() => disk().read_write());

    it('a write answers 503 (not 500) with the reason logged; the old data stays', async () => {
      refused(await dave.request('/incr/?owner=4'), 'ro: write');
      expect(reasons()).toEqual([expect.stringMatching(/^Service Unavailable: \/incr\/: .*EROFS/)]);
      expect(fs.readFileSync(file_of(dave_key), 'ascii')).toBe(stored);
      expect(JSON.parse((await dave.request('/read/')).body)).toEqual({ n: 1, owner: '4' });
    });

    it('a new session answers 503 and gets no cookie', async () => {
      const frank = new SessionUser(6, base);
      refused(await frank.request('/incr/?owner=6'), 'ro: new session');
      expect(frank.cookie).toBeNull();
    });

    it('a logout that cannot delete the file answers 503 with no deletion cookie; the session is still there', async () => {
      const copied = new SessionUser(7, base);
      copied.cookie = dave_key;
      refused(await dave.request('/logout/', 'POST'), 'ro: logout');
      // The log names the session by its first four characters only, in the OS error's path too.
      const shown = `${dave_key.slice(0, 4)}…`;
      expect(reasons()).toEqual([
        `Service Unavailable: /logout/: Could not delete the file of session ${shown}: EROFS: read-only file system, open '${dir}/sessionid${shown}_lock'`]);
      expect(dave.cookie).toBe(dave_key);
      expect(fs.readFileSync(file_of(dave_key), 'ascii')).toBe(stored);
      // The user was told the logout failed; it did not happen, for any copy of the cookie either.
      expect(JSON.parse((await copied.request('/read/')).body)).toEqual({ n: 1, owner: '4' });
    });

    it('an expired session still reads as no session (200), though its file cannot be deleted', async () => {
      const out = await erin.request('/read/');
      expect(out.status).toBe(200);
      expect(JSON.parse(out.body)).toEqual({ n: null, owner: null });
      expect(fs.existsSync(file_of(erin_key))).toBe(true);
    });

    it('writable again: the logout goes through, and the copied cookie no longer works', async () => {
      disk().read_write();
      const copied = new SessionUser(8, base);
      copied.cookie = dave_key;
      const out = await dave.request('/logout/', 'POST');
      expect({ status: out.status, set_session: out.set_session }).toEqual({ status: 302, set_session: '' });
      expect(fs.existsSync(file_of(dave_key))).toBe(false);
      expect(JSON.parse((await copied.request('/read/')).body)).toEqual({ n: null, owner: null });
      report('read-only disk: write → 503, new session → 503, logout → 503 with no deletion cookie (the file and the session stay); writable again, the logout ends it');
    });
  });
});
