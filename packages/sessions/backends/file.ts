/**
 * django.contrib.sessions.backends.file: one file per session, named
 * SESSION_COOKIE_NAME + key in SESSION_FILE_PATH (or the OS temp dir),
 * holding exactly encode(data). Expiry is `_session_expiry`, else the file's
 * mtime + SESSION_COOKIE_AGE.
 *
 * Hardening beyond Django, because the directory may be shared (/tmp): every
 * key is checked against [a-z0-9] before it becomes a path; files are opened
 * with O_NOFOLLOW and O_NONBLOCK, so a symlink or FIFO planted under a session
 * name is never followed, read or waited on (it reads as "no session"), and
 * never deleted; clear_expired() streams the directory instead of listing it
 * into memory, and works on several files at a time.
 *
 * A full or read-only disk (beyond Django, which ignores a failed write and
 * leaves a 0-byte placeholder): a write or delete that did not reach the disk
 * is never acknowledged. It raises StoreUnavailable (a 503, the OS error in
 * the message), whether the error came at open, write, close or rename; the
 * file as it was stays, and a new file that could not be filled is removed.
 * Writes are not fsync'ed, as in Django: every filesystem Tango is likely to
 * run on (ext4, XFS, tmpfs, NFS at close) reports ENOSPC by then, and a sync
 * per save would cost a disk flush per request.
 *
 * Concurrent saves (see SessionBase): a save over an existing file reads it,
 * compares it with what this session loaded and renames the new content over
 * it, holding `<file>_lock` (created with O_EXCL) so that no other save or
 * delete of that session runs in between. Django takes no such lock: a Django
 * site writing the same directory is not serialized with Tango's saves.
 */
import { close as close_cb, constants as C, fstat as fstat_cb, open as open_cb, read as read_cb, statSync, write as write_cb } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { settings } from '@tango/core/conf';
import { get_random_string, VALID_KEY_CHARS } from '@tango/core/crypto';
import { ImproperlyConfigured, StoreUnavailable, SuspiciousOperation } from '@tango/core/errors';
import { get_logger } from '@tango/core/log';
import { register_memo } from '@tango/core/memos';
import { SessionBase, is_key_text } from '../base';
import { new_dict, type SessionDict } from '../session_dict';
import type { CasResult, StoredState } from '../store_io';
import { CreateError, InvalidSessionKey } from '../exceptions';

const log = get_logger('tango.sessions');
const security_log = get_logger('tango.security.SuspiciousSession');

const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const FILE_MODE = 0o600;
/** A lock is held for one read and one rename (milliseconds); one this old was left by a process that died holding it. */
const LOCK_STALE_MS = 2000;
/** How long a writer waits for a live lock before giving up with a 503 (under the default SESSION_STORE_TIMEOUT). */
const LOCK_WAIT_MS = 4000;
/**
 * Files clear_expired() works on at once. Each file is a few syscalls, each a
 * round trip through libuv's thread pool; one at a time leaves the pool idle
 * between them.
 */
const CLEAR_CONCURRENCY = 16;

// Resolved and checked once per SESSION_FILE_PATH value (Django caches it on the class).
let resolved_path: { setting: string | null; dir: string } | null = null;
register_memo('sessions.file.storage_path', () => {
  resolved_path = null;
}, { settings: true });

function storage_path(): string {
  const setting = settings.SESSION_FILE_PATH;
  if (resolved_path?.setting === setting) return resolved_path.dir;
  // A relative path is read from BASE_DIR, like the SQLite NAME, not from wherever the process started.
  const dir = setting ? path.resolve(settings.BASE_DIR, setting) : os.tmpdir();
  let is_dir = false;
  try {
    is_dir = statSync(dir).isDirectory();
  } catch {
    is_dir = false;
  }
  if (!is_dir) {
    throw new ImproperlyConfigured(
      `The session storage path '${dir}' doesn't exist. Please set your SESSION_FILE_PATH setting to an existing directory in which Tango can store session data.`);
  }
  resolved_path = { setting, dir };
  return dir;
}

// Duck-typed: errors from node's fs may come from another realm (vm contexts, jest), failing instanceof Error.
function is_os_error(err: unknown): err is NodeJS.ErrnoException {
  return typeof err === 'object' && err !== null && typeof (err as NodeJS.ErrnoException).code === 'string' &&
    typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

// Raw fds: a FileHandle is an EventEmitter with a promise per call, which costs
// more main-thread time than the syscalls themselves (a load, a save, and
// 100,000 files going by in clear_expired).
const open_fd = promisify(open_cb);
const fstat_fd = promisify(fstat_cb);
const read_fd = promisify(read_cb);
const write_fd = promisify(write_cb);
const close_fd = promisify(close_cb);

/** Reads a regular file without following a symlink; anything else at that name counts as missing. */
async function read_regular_file(file: string): Promise<{ text: string; mtime_ms: number }> {
  let read: Awaited<ReturnType<typeof read_session_file>>;
  try {
    read = await read_session_file(file);
  } catch (err) {
    if (is_os_error(err) && err.code === 'ELOOP') security_log.warn(`Session file ${path.basename(file)} is a symbolic link; ignored`);
    throw err;
  }
  if (read === null) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'ENOENT', syscall: 'open' });
  return read;
}

/**
 * A session file in the fewest syscalls (open without following a symlink,
 * fstat, read, close), with the inode so clear_expired() can tell whether the
 * name still holds this file. null: not a regular file.
 */
async function read_session_file(file: string): Promise<{ text: string; mtime_ms: number; ino: number; dev: number } | null> {
  const fd = await open_fd(file, READ_FLAGS);
  try {
    const st = await fstat_fd(fd);
    if (!st.isFile()) return null;
    const buf = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead: bytes_read } = await read_fd(fd, buf, filled, buf.length - filled, filled);
      if (bytes_read === 0) break;
      filled += bytes_read;
    }
    return { text: buf.toString('ascii', 0, filled), mtime_ms: st.mtimeMs, ino: st.ino, dev: st.dev };
  } finally {
    await close_fd(fd);
  }
}

/**
 * Creates `file` with `flags` (O_EXCL among them) and writes all of `content`
 * into it. If a write or the close fails (ENOSPC surfaces at either,
 * depending on the filesystem), the file it created is removed, so that no
 * empty or partial file is left under the name.
 */
async function write_new_file(file: string, flags: number, content: string): Promise<void> {
  const fd = await open_fd(file, flags, FILE_MODE);
  let closed = false;
  try {
    const buf = Buffer.from(content, 'ascii');
    let written = 0;
    while (written < buf.length) written += (await write_fd(fd, buf, written, buf.length - written)).bytesWritten;
    closed = true;
    await close_fd(fd);
  } catch (err) {
    if (!closed) await close_fd(fd).catch(() => undefined);
    await fs.unlink(file).catch(() => undefined);
    throw err;
  }
}

/**
 * An OS error on the way to the disk (ENOSPC, EROFS, EIO, EDQUOT…) as the 503
 * it is: the store cannot take the write now. Anything else is left as it is.
 * The message goes to the log (and to a DEBUG page): the session key in the
 * file name, which would let anyone reading it use the session, is cut to
 * its first four characters, here and in the OS error's path.
 */
function disk_failure(err: unknown, what: string, key: string): unknown {
  if (!is_os_error(err)) return err;
  const shown = `${key.slice(0, 4)}…`;
  const reason = err.message.split(key).join(shown);
  return new StoreUnavailable(`Could not ${what} the file of session ${shown}: ${reason}`);
}

/**
 * Runs `fn` holding `<file>_lock`, so that the writers of one session take
 * turns. The '_' keeps lock files out of clear_expired (not a key character),
 * as it does for temp files. A stale lock is taken over; the small window in
 * which two waiters could both take over the same stale lock only exists
 * after a crash.
 */
async function with_lock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}_lock`;
  const started = Date.now();
  for (;;) {
    try {
      await close_fd(await open_fd(lock, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, FILE_MODE));
      break;
    } catch (err) {
      if (!is_os_error(err) || err.code !== 'EEXIST') throw err;
    }
    const held = await fs.lstat(lock).catch(() => null);
    if (held !== null && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
      log.warn(`Took over the stale lock of session file ${path.basename(file)}`);
      await fs.unlink(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() - started > LOCK_WAIT_MS) {
      throw new StoreUnavailable(`Session file ${path.basename(file)} stayed locked for ${LOCK_WAIT_MS} ms; try again.`);
    }
    await sleep(1 + Math.random() * 4);
  }
  try {
    return await fn();
  } finally {
    await fs.unlink(lock).catch(() => undefined);
  }
}

export class SessionStore extends SessionBase {
  readonly storage_path: string = storage_path();
  readonly file_prefix: string = settings.SESSION_COOKIE_NAME;

  /** Django's _key_to_file: the key must be [a-z0-9] before it is allowed near a path (no traversal). */
  _key_to_file(session_key: string): string {
    if (!is_key_text(session_key)) throw new InvalidSessionKey('Invalid characters in session key');
    return path.join(this.storage_path, this.file_prefix + session_key);
  }

  async load(): Promise<SessionDict> {
    let data = new_dict();
    try {
      const file = this._key_to_file(this.session_key ?? '');
      const { text, mtime_ms } = await this.io(read_regular_file(file), 'file read');
      this.set_stored_state(this.#state_of(text));
      // An empty file is a placeholder another save is about to fill: not corrupt.
      if (text) {
        data = this.decode(text);
        const expiry = data._session_expiry || new Date(mtime_ms + this.get_session_cookie_age() * 1000);
        if (this.get_expiry_age({ expiry: expiry as number | string | Date }) <= 0) {
          data = new_dict();
          await this.#replace_expired();
        }
      }
    } catch (err) {
      if (!is_os_error(err) && !(err instanceof SuspiciousOperation)) throw err;
      this._session_key = null;
    }
    return data;
  }

  /**
   * Django's `self.delete(); self.create()` for an expired file. On a disk
   * that takes no writes the expired session still reads as none (the request
   * goes on without a session, as before this check existed): the file stays
   * until the disk is back and clearsessions or the next visit removes it, and
   * it can never be loaded again, being expired.
   */
  async #replace_expired(): Promise<void> {
    try {
      await this.delete_session();
      await this.create();
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      log.warn(`An expired session could not be replaced: ${err.message}`);
      this._session_key = null;
    }
  }

  /** The file's exact content is the version a save compares. */
  #state_of(text: string): StoredState {
    return { version: text, data: async () => (text ? this.decode(text) : new_dict()) };
  }

  /**
   * must_create: O_EXCL claims the name (or finds someone's record:
   * CreateError) and the content is written straight into it. No temp file
   * and rename: nobody knows a new key yet, and a reader that somehow came
   * early sees an empty file, which loads as a placeholder, not as corrupt.
   * A write that fails removes the file it claimed (write_new_file) and is a
   * 503: Django ignores it and sends a cookie for a 0-byte file.
   */
  protected override async insert_record(data: SessionDict): Promise<void> {
    const file = this._key_to_file(this.session_key as string);
    const content = this.encode(data);
    try {
      await this.io(write_new_file(file, C.O_WRONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_CREAT | C.O_EXCL, content), 'file write');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CreateError();
      throw disk_failure(err, 'write', this.session_key as string);
    }
    this.set_stored_state(this.#state_of(content));
  }

  protected override async read_stored_state(): Promise<StoredState | null> {
    if (this.session_key === null) return null;
    try {
      return this.#state_of((await this.io(read_regular_file(this._key_to_file(this.session_key)), 'file read')).text);
    } catch (err) {
      if (is_os_error(err)) return null;
      throw err;
    }
  }

  protected override async compare_and_swap(expected: StoredState | null, data: SessionDict): Promise<CasResult> {
    const file = this._key_to_file(this.session_key as string);
    const content = this.encode(data);
    // The lock file cannot be made on a read-only disk (EROFS): a 503 as well.
    return this.io(with_lock(file, async (): Promise<CasResult> => {
      let current: string;
      try {
        current = (await read_regular_file(file)).text;
      } catch (err) {
        // Missing, or a symlink that took the record's place (ELOOP): not ours to write through.
        if (is_os_error(err)) return 'gone';
        throw err;
      }
      if (expected !== null && current !== expected.version) return 'conflict';
      await this.#write_atomically(file, content);
      this.set_stored_state(this.#state_of(content));
      return 'ok';
    }), 'file write', (err) => disk_failure(err, 'write', this.session_key as string));
  }

  /**
   * Writes to a temp file in the same directory, then renames it over the
   * record: readers see the old or the new content, never half of it (Django
   * ticket #8616). A failure at any step (ENOSPC at write or close, an error
   * at rename) leaves the record as it was, removes the temp file and is
   * thrown (a 503 through disk_failure), where Django ignores it.
   */
  async #write_atomically(file: string, content: string): Promise<void> {
    // Django's mkstemp prefix: '<name>_out_'. The '_' keeps temp files out of clear_expired (not a key character).
    const tmp = `${file}_out_${get_random_string(8, VALID_KEY_CHARS)}`;
    await write_new_file(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, content);
    try {
      // rename() replaces the name itself and never follows a symlink at the destination.
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async exists(session_key: string): Promise<boolean> {
    // lstat: anything at that name, a planted symlink included, makes the key unusable.
    try {
      await this.io(fs.lstat(this._key_to_file(session_key)), 'file stat');
      return true;
    } catch (err) {
      if (is_os_error(err)) return false;
      throw err;
    }
  }

  /**
   * A missing file is already deleted. Any other failure (a read-only disk:
   * EROFS on the lock or the unlink) is a 503, never swallowed: the caller
   * (logout's flush()) must not report a session ended while its file, and
   * every copy of its cookie, still work. Django ignores it.
   */
  async delete_session(session_key?: string | null): Promise<void> {
    const key = session_key ?? this.session_key;
    if (key === null) return;
    const file = this._key_to_file(key);
    const gone = (err: unknown): boolean => is_os_error(err) && err.code === 'ENOENT';
    try {
      // Nothing there, nothing to lock: a missing record cannot come back (a save over it finds it 'gone').
      if (!(await this.io(fs.lstat(file), 'file stat')).isFile()) return;
      // Under the lock: a save between its compare and its rename would otherwise bring the session back.
      await this.io(with_lock(file, async () => {
        // Only a regular file is a session; a symlink planted under the name is left alone.
        if ((await fs.lstat(file)).isFile()) await fs.unlink(file);
      }), 'file delete');
    } catch (err) {
      if (gone(err)) return;
      throw disk_failure(err, 'delete', key);
    }
  }

  /**
   * Removes the session files that load() would find expired, CLEAR_CONCURRENCY
   * at a time. Only names made of the prefix and a valid key are considered,
   * and only regular files are read or removed (see #remove_if_expired). The
   * directory is streamed, so memory stays flat however many files it holds.
   */
  static override async clear_expired(on_progress?: (removed: number) => void): Promise<number> {
    const prefix = settings.SESSION_COOKIE_NAME;
    const entries = (await fs.opendir(storage_path(), { bufferSize: 256 }))[Symbol.asyncIterator]();
    let removed = 0;
    let failure: { err: unknown } | null = null;
    // The workers share one directory iterator: an async generator queues concurrent next() calls.
    const worker = async (): Promise<void> => {
      try {
        while (failure === null) {
          const next = await entries.next();
          if (next.done) return;
          const entry = next.value;
          // Known symlinks, directories, FIFOs… are skipped unopened; an unknown type (DT_UNKNOWN) is checked by fstat.
          const unknown_type = !entry.isFile() && !entry.isSymbolicLink() && !entry.isDirectory() && !entry.isFIFO() &&
            !entry.isSocket() && !entry.isCharacterDevice() && !entry.isBlockDevice();
          if (!(entry.isFile() || unknown_type) || !entry.name.startsWith(prefix)) continue;
          const key = entry.name.slice(prefix.length);
          if (!is_key_text(key)) continue;
          const session = new this(key);
          // Too short for a session key (SessionBase validation): never a session's file.
          if (session.session_key === null) continue;
          if (await session.#remove_if_expired() && ++removed % 1000 === 0) on_progress?.(removed);
        }
      } catch (err) {
        failure ??= { err };
      }
    };
    // Workers never reject: every one has stopped before the failure, if any, is thrown.
    await Promise.all(Array.from({ length: CLEAR_CONCURRENCY }, worker));
    // Closes the directory when a failure stopped the workers early (a no-op after the last entry).
    await entries.return?.(undefined);
    if (failure !== null) throw (failure as { err: unknown }).err;
    return removed;
  }

  /**
   * clear_expired() for this session's file: the expiry rule of load(), without
   * load()'s create() and lookups. The file is read through an O_NOFOLLOW fd
   * that must fstat as a regular file. The unlink happens under the session's
   * lock and only while the name still holds the inode that was read (one
   * lstat): a save that renamed fresh content over it after the read keeps its
   * session, and nothing else that took the name (a symlink) is removed.
   */
  async #remove_if_expired(): Promise<boolean> {
    const file = this._key_to_file(this.session_key as string);
    try {
      const read = await read_session_file(file).catch(async (err: unknown) => {
        // Unreadable by this process (EACCES: left by another user, root running a command): load() cannot use it
        // either, and it has no expiry to read, so its mtime decides, as for an undecodable file.
        if (!is_os_error(err) || err.code !== 'EACCES') throw err;
        const st = await fs.lstat(file);
        return st.isFile() ? { text: '', mtime_ms: st.mtimeMs, ino: st.ino, dev: st.dev } : null;
      });
      if (read === null || !this.#expired(read.text, read.mtime_ms)) return false;
      return await with_lock(file, async () => {
        const st = await fs.lstat(file);
        if (!st.isFile() || st.ino !== read.ino || st.dev !== read.dev) return false;
        await fs.unlink(file);
        return true;
      });
    } catch (err) {
      // Gone meanwhile, a symlink (ELOOP), unreadable; or locked by a save that is still running, hence live.
      if (is_os_error(err) || err instanceof StoreUnavailable) return false;
      throw err;
    }
  }

  /**
   * load()'s rule: `_session_expiry`, else mtime + SESSION_COOKIE_AGE. An
   * empty file (a placeholder never filled: a crash between create and write,
   * or Django's engine on a full disk), an undecodable and an unreadable one
   * (passed in as empty) have no expiry
   * of their own, so their mtime decides: a placeholder a save is filling now
   * is seconds old, never SESSION_COOKIE_AGE.
   */
  #expired(text: string, mtime_ms: number): boolean {
    const data = text ? this.decode(text) : new_dict();
    const expiry = data._session_expiry || new Date(mtime_ms + this.get_session_cookie_age() * 1000);
    return this.get_expiry_age({ expiry: expiry as number | string | Date }) <= 0;
  }
}
