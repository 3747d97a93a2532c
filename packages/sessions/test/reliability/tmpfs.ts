/**
 * A small tmpfs of the test's own, to make a disk full or read-only without
 * touching anyone else's (issue 19, item 2). Mounting needs root (CI runs as
 * root): elsewhere the suites that need it skip with a printed reason, and
 * under REQUIRE_SERVICES=1 they fail instead, like a missing service.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe_needing, type Needed } from '@tango/core/testing';

export class Tmpfs {
  private constructor(readonly dir: string, readonly size: string) {}

  /** Mounts a tmpfs of `size` (mount's syntax: '256k') on a fresh temp dir; the reason when it cannot. */
  static mount(size: string): Tmpfs | { reason: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tango-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
      return new Tmpfs(dir, size);
    } catch (err) {
      fs.rmdirSync(dir);
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      return { reason: `cannot mount a tmpfs (${stderr || (err as Error).message}); mounting needs root` };
    }
  }

  read_only(): void {
    execFileSync('mount', ['-o', 'remount,ro', this.dir], { stdio: 'pipe' });
  }

  read_write(): void {
    execFileSync('mount', ['-o', 'remount,rw', this.dir], { stdio: 'pipe' });
  }

  /** Writes a filler file until the disk refuses (ENOSPC); returns the filler's path. */
  fill(name = 'filler'): string {
    const file = path.join(this.dir, name);
    const fd = fs.openSync(file, 'a');
    const chunk = Buffer.alloc(4096, 0x66);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      fs.closeSync(fd);
    }
    return file;
  }

  /** Bytes the filesystem still gives an ordinary file. */
  free(): number {
    const st = fs.statfsSync(this.dir);
    return st.bavail * st.bsize;
  }

  unmount(): void {
    execFileSync('umount', [this.dir], { stdio: 'pipe' });
    fs.rmdirSync(this.dir);
  }
}

/**
 * `describe` with a mounted tmpfs, or `describe.skip` with the printed reason
 * (a failure under REQUIRE_SERVICES=1). The tmpfs is unmounted after the suite.
 */
export function describe_with_tmpfs(size: string): (title: string, fn: (disk: () => Tmpfs) => void) => void {
  return (title, fn) => {
    const mounted = Tmpfs.mount(size);
    const needed: Needed<() => Tmpfs> = mounted instanceof Tmpfs
      ? { value: () => mounted }
      : { missing: mounted.reason, stand_in: () => { throw new Error('no tmpfs'); } };
    describe_needing(title, needed, (disk) => {
      fn(disk);
      // Declared after the suite's own hooks, so that its server is closed first.
      if (mounted instanceof Tmpfs) afterAll(() => mounted.unmount());
    });
  };
}
