/**
 * The file engine: the contract, then its own rules
 * (django/contrib/sessions/backends/file.py; FileSessionTests) and the hardening for shared directories: path-like keys,
 * planted symlinks and FIFOs, temp files, and the per-session lock that
 * serializes saves over an existing file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configure, override_settings } from '../../core/conf';
import { freeze_time } from '../../core/clock';
import { capture_logs, set_stderr_logging } from '../../core/log';
import { ImproperlyConfigured, StoreUnavailable } from '../../core/errors';
import { SessionStore } from '../backends/file';
import { CreateError, InvalidSessionKey, UpdateError } from '../exceptions';
import { describe_session_engine, frozen_now, TEST_SECRET_KEY } from './contract';

const contract_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-sessions-contract-'));

describe_session_engine('file', {
  settings: { SESSION_ENGINE: 'file', SESSION_FILE_PATH: contract_dir },
  after: async () => fs.rmSync(contract_dir, { recursive: true, force: true }),
});

describe('file engine specifics', () => {
  let dir: string;
  let unfreeze: () => void;

  // Planted symlinks are logged as security events on purpose.
  beforeAll(() => set_stderr_logging(false));
  afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-sessions-file-'));
    configure({ SECRET_KEY: TEST_SECRET_KEY, SESSION_ENGINE: 'file', SESSION_FILE_PATH: dir });
    unfreeze = freeze_time(frozen_now() * 1000);
  });

  afterEach(() => {
    unfreeze();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const files = () => fs.readdirSync(dir).sort();

  it('a missing SESSION_FILE_PATH is ImproperlyConfigured at construction (60)', async () => {
    const missing = path.join(dir, 'nope');
    await override_settings({ SESSION_FILE_PATH: missing }, () => {
      expect(() => new SessionStore()).toThrow(ImproperlyConfigured);
      expect(() => new SessionStore()).toThrow(`The session storage path '${missing}' doesn't exist.`);
    });
  });

  it('no SESSION_FILE_PATH means the OS temp dir', async () => {
    await override_settings({ SESSION_FILE_PATH: null }, () => {
      expect(new SessionStore().storage_path).toBe(os.tmpdir());
    });
  });

  it.each([
    'a\\b\\c', 'a/b/c', '../../etc/passwd', '/etc/passwd', 'abc\0defgh', 'ABCDEFGHIJKL', 'abcdefgh.', 'abcdefgh ', 'abcdéfgh',
  ])('key %j never becomes a path (61)', (key) => {
    const s = new SessionStore();
    expect(() => s._key_to_file(key)).toThrow(InvalidSessionKey);
    expect(() => s._key_to_file(key)).toThrow('Invalid characters in session key');
  });

  it.each(['../../etc/passwd', '/etc/passwd', 'abc\0defgh/../../x', 'ABCDEFGHIJKL'])(
    'loading key %j reads nothing and drops the key (64)', async (key) => {
      const s = new SessionStore(key);
      expect(await s.load()).toEqual({});
      expect(s.session_key).toBeNull();
      await expect(s.exists(key)).rejects.toThrow(InvalidSessionKey);
    });

  it('the file is SESSION_COOKIE_NAME + key, holds exactly encode(), mode 0600 (63)', async () => {
    const s = new SessionStore();
    s.set('foo', 'bar');
    await s.save();
    const file = path.join(dir, `sessionid${s.session_key}`);
    expect(files()).toEqual([`sessionid${s.session_key}`]);
    expect(fs.readFileSync(file, 'ascii')).toBe(s.encode({ foo: 'bar' }));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('the prefix follows SESSION_COOKIE_NAME', async () => {
    await override_settings({ SESSION_COOKIE_NAME: 'sid' }, async () => {
      const s = new SessionStore();
      await s.save();
      expect(files()).toEqual([`sid${s.session_key}`]);
    });
  });

  it('an empty file loads as {} and keeps its key (65)', async () => {
    const key = 'k'.repeat(32);
    fs.writeFileSync(path.join(dir, `sessionid${key}`), '');
    const s = new SessionStore(key);
    expect(await s.load()).toEqual({});
    expect(s.session_key).toBe(key);
  });

  it('saving over a deleted file is UpdateError (66)', async () => {
    const s = new SessionStore();
    s.set('x', 1);
    await s.save();
    fs.unlinkSync(path.join(dir, `sessionid${s.session_key}`));
    s.set('x', 2);
    await expect(s.save()).rejects.toThrow(UpdateError);
    expect(files()).toEqual([]);
  });

  it('corrupt content loads as {} and keeps the key', async () => {
    const key = 'c'.repeat(32);
    fs.writeFileSync(path.join(dir, `sessionid${key}`), 'bad:encoded:value');
    const s = new SessionStore(key);
    expect(await s.load()).toEqual({});
    expect(s.session_key).toBe(key);
  });

  it('clearsessions with SESSION_COOKIE_AGE=0 keeps only the unexpired session (62)', async () => {
    await override_settings({ SESSION_COOKIE_AGE: 0 }, async () => {
      const now = Date.now();
      const future = new SessionStore();
      future.set_expiry(new Date(now + 3600_000));
      await future.save();
      const past = new SessionStore();
      past.set_expiry(new Date(now - 3600_000));
      await past.save();
      const none = new SessionStore();
      none.set('x', 1);
      await none.save();
      // Files written by others that clear_expired must leave alone.
      fs.writeFileSync(path.join(dir, `sessionid${future.session_key}_out_abc123`), 'partial');
      fs.writeFileSync(path.join(dir, 'unrelated.txt'), 'keep');
      expect(files()).toHaveLength(5);
      unfreeze();
      unfreeze = freeze_time(now + 1000);
      await expect(SessionStore.clear_expired()).resolves.toBe(2);
      expect(files()).toEqual([
        `sessionid${future.session_key}`, `sessionid${future.session_key}_out_abc123`, 'unrelated.txt',
      ].sort());
    });
  });

  describe('clear_expired over many files at once', () => {
    const key_of = (kind: string, i: number) => `${kind}${String(i).padStart(32 - kind.length, '0')}`;
    /** A session file holding `data`, last modified `age_s` seconds ago. */
    const write = (key: string, data: Record<string, unknown>, age_s: number): string =>
      write_raw(key, new SessionStore().encode(data), age_s);
    /** A session file holding exactly `content`, last modified `age_s` seconds ago. */
    const write_raw = (key: string, content: string, age_s: number): string => {
      const file = path.join(dir, `sessionid${key}`);
      fs.writeFileSync(file, content);
      const t = new Date(Date.now() - age_s * 1000);
      fs.utimesSync(file, t, t);
      return file;
    };

    it('removes empty and undecodable files past SESSION_COOKIE_AGE by their mtime, and keeps recent ones (issue 19)', async () => {
      await override_settings({ SESSION_COOKIE_AGE: 3600 }, async () => {
        const kept = [
          write_raw(key_of('empty', 0), '', 3000),
          write_raw(key_of('garbage', 0), 'not:a:session', 3000),
          write_raw(key_of('tampered', 0), `${new SessionStore().encode({ a: 1 })}x`, 3000),
        ].map((f) => path.basename(f));
        write_raw(key_of('empty', 1), '', 3700);
        write_raw(key_of('garbage', 1), 'not:a:session', 3700);
        write_raw(key_of('tampered', 1), `${new SessionStore().encode({ a: 1 })}x`, 3700);
        await expect(SessionStore.clear_expired()).resolves.toBe(3);
        expect(files()).toEqual(kept.sort());
      });
    });

    it('removes every expired file and only those, counting them and reporting progress', async () => {
      await override_settings({ SESSION_COOKIE_AGE: 3600 }, async () => {
        const keep: string[] = [];
        for (let i = 0; i < 2100; i++) write(key_of('old', i), { i }, 7200);
        for (let i = 0; i < 60; i++) keep.push(path.basename(write(key_of('new', i), { i }, 60)));
        // Old by mtime but with an expiry still ahead, and the reverse.
        keep.push(path.basename(write(key_of('ahead', 0), { _session_expiry: new Date(Date.now() + 60_000).toISOString() }, 7200)));
        write(key_of('passed', 0), { _session_expiry: new Date(Date.now() - 60_000).toISOString() }, 60);
        // An empty placeholder a save is about to fill (recent), a name too short to be a key, a directory under a session name.
        keep.push(path.basename(write_raw(key_of('empty', 0), '', 60)));
        for (const name of ['sessionidabc', `sessionid${key_of('dir', 0)}`]) {
          if (name.includes('dir')) fs.mkdirSync(path.join(dir, name));
          else fs.writeFileSync(path.join(dir, name), 'x');
          fs.utimesSync(path.join(dir, name), new Date(0), new Date(0));
          keep.push(name);
        }
        // An empty file older than SESSION_COOKIE_AGE is no placeholder any more (removed, issue 19).
        write_raw(key_of('stale', 0), '', 7200);
        const seen: number[] = [];
        await expect(SessionStore.clear_expired((n) => seen.push(n))).resolves.toBe(2102);
        expect(seen).toEqual([1000, 2000]);
        expect(files()).toEqual(keep.sort());
      });
    });

    it('keeps a file that a save replaced while the purge waited for its lock', async () => {
      await override_settings({ SESSION_COOKIE_AGE: 3600 }, async () => {
        const key = key_of('raced', 0);
        const file = write(key, { v: 'old' }, 7200);
        const lock = `${file}_lock`;
        fs.writeFileSync(lock, '');
        const purge = SessionStore.clear_expired();
        // Long enough for the purge to read the expired file and wait on the lock (were it slower, it would read the new one).
        await new Promise((resolve) => setTimeout(resolve, 300));
        const fresh = new SessionStore().encode({ v: 'new' });
        fs.writeFileSync(`${file}_out_test`, fresh);
        fs.renameSync(`${file}_out_test`, file);
        fs.unlinkSync(lock);
        await expect(purge).resolves.toBe(0);
        expect(fs.readFileSync(file, 'ascii')).toBe(fresh);
      });
    });

    it('fails with the error one file raised, after the other files settle', async () => {
      for (let i = 0; i < 50; i++) write(key_of('old', i), { i }, 10 * 86_400 * 365);
      // A naive datetime under USE_TZ=true: load() raises on it too (Python cannot compare the two).
      write(key_of('naive', 0), { _session_expiry: '2000-01-01T00:00:00' }, 60);
      await override_settings({ USE_TZ: true }, async () => {
        await expect(SessionStore.clear_expired()).rejects.toThrow("can't subtract offset-naive and offset-aware datetimes");
      });
    });
  });

  it('an expired file is removed on load and replaced by a new session', async () => {
    const s = new SessionStore();
    s.set('foo', 'bar');
    s.set_expiry(new Date(Date.now() - 1000));
    await s.save();
    const old = s.session_key as string;
    const again = new SessionStore(old);
    expect(await again.load()).toEqual({});
    expect(again.session_key).not.toBe(old);
    expect(again.session_key).toMatch(/^[a-z0-9]{32}$/);
    expect(files()).toEqual([`sessionid${again.session_key}`]);
  });

  it('an expired file read after preload: the new key and `modified` appear on first access', async () => {
    const s = new SessionStore();
    s.set('foo', 'bar');
    s.set_expiry(new Date(Date.now() - 1000));
    await s.save();
    const old = s.session_key as string;
    const again = new SessionStore(old);
    await again.preload();
    expect(again.session_key).toBe(old);
    expect(again.modified).toBe(false);
    expect(again.get('foo')).toBeUndefined();
    expect(again.session_key).not.toBe(old);
    expect(again.session_key).toMatch(/^[a-z0-9]{32}$/);
    expect(again.modified).toBe(true);
  });

  it('mtime + SESSION_COOKIE_AGE decides when there is no _session_expiry', async () => {
    const s = new SessionStore();
    s.set('foo', 'bar');
    await s.save();
    const file = path.join(dir, `sessionid${s.session_key}`);
    const old = new Date(Date.now() - 1209601 * 1000);
    fs.utimesSync(file, old, old);
    const again = new SessionStore(s.session_key);
    expect(await again.load()).toEqual({});
    expect(fs.existsSync(file)).toBe(false);
  });

  it('an integer _session_expiry never expires here (a quirk of django/contrib/sessions/backends/file.py)', async () => {
    const s = new SessionStore();
    s.set('foo', 'bar');
    s.set_expiry(60);
    await s.save();
    const file = path.join(dir, `sessionid${s.session_key}`);
    const old = new Date(Date.now() - 3 * 1209600 * 1000);
    fs.utimesSync(file, old, old);
    const again = new SessionStore(s.session_key);
    expect(await again.load()).toEqual({ foo: 'bar', _session_expiry: 60 });
  });

  it('leaves no temp files behind', async () => {
    const s = new SessionStore();
    for (let i = 0; i < 5; i++) {
      s.set('i', i);
      await s.save();
    }
    expect(files()).toEqual([`sessionid${s.session_key}`]);
  });

  describe('the per-session lock of a save over an existing file', () => {
    async function saved(): Promise<{ s: SessionStore; file: string }> {
      const s = new SessionStore();
      s.set('x', 1);
      await s.save();
      s.set('x', 2);
      return { s, file: path.join(dir, `sessionid${s.session_key}`) };
    }

    it('a save waits while another holds the lock, then writes', async () => {
      const { s, file } = await saved();
      fs.writeFileSync(`${file}_lock`, '');
      let done = false;
      const pending = s.save().then(() => { done = true; });
      await new Promise((r) => setTimeout(r, 60));
      expect(done).toBe(false);
      fs.unlinkSync(`${file}_lock`);
      await pending;
      expect(new SessionStore().decode(fs.readFileSync(file, 'ascii'))).toEqual({ x: 2 });
      expect(files()).toEqual([`sessionid${s.session_key}`]);
    });

    it('a stale lock (its holder died) is taken over, with a warning', async () => {
      const { s, file } = await saved();
      fs.writeFileSync(`${file}_lock`, '');
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(`${file}_lock`, old, old);
      const logs = capture_logs();
      try {
        await s.save();
      } finally {
        logs.stop();
      }
      expect(new SessionStore().decode(fs.readFileSync(file, 'ascii'))).toEqual({ x: 2 });
      expect(logs.records.filter((r) => r.name === 'tango.sessions' && r.level === 'warn').map((r) => r.msg))
        .toEqual([`Took over the stale lock of session file sessionid${s.session_key}`]);
      expect(files()).toEqual([`sessionid${s.session_key}`]);
    });

    it('a lock that a live holder keeps fresh fails the save with StoreUnavailable, not a hang', async () => {
      const { s, file } = await saved();
      fs.writeFileSync(`${file}_lock`, '');
      const keep_fresh = setInterval(() => {
        const now = new Date();
        fs.utimesSync(`${file}_lock`, now, now);
      }, 200);
      try {
        const started = Date.now();
        await expect(s.save()).rejects.toThrow(StoreUnavailable);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        clearInterval(keep_fresh);
        fs.unlinkSync(`${file}_lock`);
      }
      expect(new SessionStore().decode(fs.readFileSync(file, 'ascii'))).toEqual({ x: 1 });
    });

    it('must_create never writes over an existing file', async () => {
      const { s, file } = await saved();
      const before = fs.readFileSync(file, 'ascii');
      await expect(s.save(true)).rejects.toThrow(CreateError);
      expect(fs.readFileSync(file, 'ascii')).toBe(before);
    });
  });

  describe('a symlink planted in the directory', () => {
    let outside: string;
    let secret: string;
    const key = 's'.repeat(32);

    beforeEach(() => {
      outside = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-sessions-outside-'));
      secret = path.join(outside, 'secret');
      // Valid session content, so following the link would visibly "work".
      const signer = new SessionStore();
      fs.writeFileSync(secret, signer.encode({ stolen: true }));
      fs.symlinkSync(secret, path.join(dir, `sessionid${key}`));
    });

    afterEach(() => fs.rmSync(outside, { recursive: true, force: true }));

    it('is not followed by load (the key is dropped)', async () => {
      const s = new SessionStore(key);
      expect(await s.load()).toEqual({});
      expect(s.session_key).toBeNull();
    });

    it('is not deleted by delete_session or flush', async () => {
      const s = new SessionStore(key);
      await s.delete_session(key);
      expect(fs.lstatSync(path.join(dir, `sessionid${key}`)).isSymbolicLink()).toBe(true);
      expect(fs.existsSync(secret)).toBe(true);
    });

    it('is not written through by save', async () => {
      const s = new SessionStore(key);
      await s.preload();
      s.set('x', 1);
      await s.save();
      expect(s.session_key).not.toBe(key);
      expect(fs.readFileSync(secret, 'ascii')).toBe(new SessionStore().encode({ stolen: true }));
      expect(fs.lstatSync(path.join(dir, `sessionid${key}`)).isSymbolicLink()).toBe(true);
    });

    it('is an update conflict, not a write target, when it replaces a live record', async () => {
      const s = new SessionStore();
      s.set('x', 1);
      await s.save();
      const file = path.join(dir, `sessionid${s.session_key}`);
      fs.unlinkSync(file);
      fs.symlinkSync(secret, file);
      s.set('x', 2);
      await expect(s.save()).rejects.toThrow(UpdateError);
      expect(fs.readFileSync(secret, 'ascii')).toBe(new SessionStore().encode({ stolen: true }));
    });

    it('makes the key count as taken', async () => {
      expect(await new SessionStore().exists(key)).toBe(true);
    });

    it('is skipped (not followed, not deleted) by clear_expired', async () => {
      await override_settings({ SESSION_COOKIE_AGE: 0 }, async () => {
        await expect(SessionStore.clear_expired()).resolves.toBe(0);
      });
      expect(fs.lstatSync(path.join(dir, `sessionid${key}`)).isSymbolicLink()).toBe(true);
      expect(fs.existsSync(secret)).toBe(true);
    });
  });

  it('a FIFO planted under a session name is not waited on', async () => {
    const key = 'f'.repeat(32);
    const fifo = path.join(dir, `sessionid${key}`);
    execFileSync('mkfifo', [fifo]);
    const s = new SessionStore(key);
    expect(await s.load()).toEqual({});
    expect(s.session_key).toBeNull();
  });
});
