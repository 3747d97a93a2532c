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
 * into memory.
 */
import { constants as C, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { settings, on_settings_changed } from '@tango/core/conf';
import { get_random_string, VALID_KEY_CHARS } from '@tango/core/crypto';
import { ImproperlyConfigured, SuspiciousOperation } from '@tango/core/errors';
import { get_logger } from '@tango/core/log';
import { SessionBase, new_dict, type SessionDict } from '../base';
import { CreateError, InvalidSessionKey, UpdateError } from '../exceptions';

const log = get_logger('tango.sessions');
const securityLog = get_logger('tango.security.SuspiciousSession');

const VALID_KEY = new RegExp(`^[${VALID_KEY_CHARS}]+$`);
const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const FILE_MODE = 0o600;

// Resolved and checked once per SESSION_FILE_PATH value (Django caches it on the class).
let storagePath: { setting: string | null; dir: string } | null = null;
on_settings_changed(() => {
  storagePath = null;
});

function storage_path(): string {
  const setting = settings.SESSION_FILE_PATH;
  if (storagePath?.setting === setting) return storagePath.dir;
  // A relative path is read from BASE_DIR, like the SQLite NAME, not from wherever the process started.
  const dir = setting ? path.resolve(settings.BASE_DIR, setting) : os.tmpdir();
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new ImproperlyConfigured(
      `The session storage path '${dir}' doesn't exist. Please set your SESSION_FILE_PATH setting to an existing directory in which Tango can store session data.`);
  }
  storagePath = { setting, dir };
  return dir;
}

// Duck-typed: errors from node's fs may come from another realm (vm contexts, jest), failing instanceof Error.
function is_os_error(err: unknown): err is NodeJS.ErrnoException {
  return typeof err === 'object' && err !== null && typeof (err as NodeJS.ErrnoException).code === 'string' &&
    typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** Reads a regular file without following a symlink; anything else at that name counts as missing. */
async function read_regular_file(file: string): Promise<{ text: string; mtime_ms: number }> {
  const handle = await fs.open(file, READ_FLAGS).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') securityLog.warn(`Session file ${path.basename(file)} is a symbolic link; ignored`);
    throw err;
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'ENOENT', syscall: 'open' });
    return { text: await handle.readFile('ascii'), mtime_ms: st.mtimeMs };
  } finally {
    await handle.close();
  }
}

export class SessionStore extends SessionBase {
  readonly storage_path: string;
  readonly file_prefix: string;
  /** Set when load() removed an expired file (clear_expired counts these). */
  private expired_removed = false;

  constructor(session_key: string | null = null) {
    super(session_key);
    this.storage_path = storage_path();
    this.file_prefix = settings.SESSION_COOKIE_NAME;
  }

  /** Django's _key_to_file: the key must be [a-z0-9] before it is allowed near a path (no traversal). */
  _key_to_file(session_key: string): string {
    if (!VALID_KEY.test(session_key)) throw new InvalidSessionKey('Invalid characters in session key');
    return path.join(this.storage_path, this.file_prefix + session_key);
  }

  async load(): Promise<SessionDict> {
    let data = new_dict();
    try {
      const file = this._key_to_file(this.session_key ?? '');
      const { text, mtime_ms } = await this.io(read_regular_file(file), 'file read');
      // An empty file is a placeholder another save is about to fill: not corrupt.
      if (text) {
        data = this.decode(text);
        const expiry = data._session_expiry || new Date(mtime_ms + this.get_session_cookie_age() * 1000);
        if (this.get_expiry_age({ expiry: expiry as number | string | Date }) <= 0) {
          data = new_dict();
          await this.delete_session();
          this.expired_removed = true;
          await this.create();
        }
      }
    } catch (err) {
      if (!is_os_error(err) && !(err instanceof SuspiciousOperation)) throw err;
      this._session_key = null;
    }
    return data;
  }

  async save(must_create = false): Promise<void> {
    if (this.session_key === null) return this.create();
    // Take the data before touching the file that holds it.
    const data = await this._aget_session(must_create);
    const file = this._key_to_file(this.session_key);
    // Make sure the target exists (must_create: that it did not) before writing the new content beside it.
    const flags = C.O_WRONLY | C.O_NOFOLLOW | C.O_NONBLOCK | (must_create ? C.O_CREAT | C.O_EXCL : 0);
    try {
      await this.io(fs.open(file, flags, FILE_MODE).then((h) => h.close()), 'file open');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (must_create && code === 'EEXIST') throw new CreateError();
      // ELOOP: a symlink took the record's place; it is not ours to write through.
      if (!must_create && (code === 'ENOENT' || code === 'ELOOP')) throw new UpdateError();
      throw err;
    }
    await this.io(this._write_atomically(file, this.encode(data)), 'file write');
  }

  /**
   * Writes to a temp file in the same directory, then renames it over the
   * record: readers see the old or the new content, never half of it, and no
   * lock files are needed (Django ticket #8616). Write errors are ignored, as
   * Django ignores them, but logged.
   */
  private async _write_atomically(file: string, content: string): Promise<void> {
    // Django's mkstemp prefix: '<name>_out_'. The '_' keeps temp files out of clear_expired (not a key character).
    const tmp = `${file}_out_${get_random_string(8, VALID_KEY_CHARS)}`;
    let renamed = false;
    try {
      const handle = await fs.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, FILE_MODE);
      try {
        await handle.writeFile(content, 'ascii');
      } finally {
        await handle.close();
      }
      // rename() replaces the name itself and never follows a symlink at the destination.
      await fs.rename(tmp, file);
      renamed = true;
    } catch (err) {
      if (!is_os_error(err)) throw err;
      log.warn(`Could not write session file ${path.basename(file)}: ${err.message}`);
    } finally {
      if (!renamed) await fs.unlink(tmp).catch(() => undefined);
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

  async delete_session(session_key?: string | null): Promise<void> {
    const key = session_key ?? this.session_key;
    if (key === null) return;
    const file = this._key_to_file(key);
    try {
      // Only a regular file is a session; a symlink planted under the name is left alone.
      if (!(await this.io(fs.lstat(file), 'file stat')).isFile()) return;
      await this.io(fs.unlink(file), 'file delete');
    } catch (err) {
      if (!is_os_error(err)) throw err;
    }
  }

  /**
   * Loads every session file with create() disabled; load() deletes expired
   * ones. Temp files and anything that is not a regular file are skipped.
   */
  static override async clear_expired(): Promise<number> {
    const prefix = settings.SESSION_COOKIE_NAME;
    let removed = 0;
    const dir = await fs.opendir(storage_path());
    for await (const entry of dir) {
      if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
      const key = entry.name.slice(prefix.length);
      if (!VALID_KEY.test(key)) continue;
      const session = new this(key);
      // An expired file is replaced by a fresh one on a normal load; not here.
      session.create = async () => undefined;
      await session.load();
      if (session.expired_removed) removed++;
    }
    return removed;
  }
}
