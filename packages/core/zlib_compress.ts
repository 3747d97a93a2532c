/**
 * CPython's `zlib.compress(data)` (level 6, zlib wrapper, 32 KB window,
 * memLevel 8, default strategy), through pako's public `deflate()`, which
 * gives the same bytes (held to CPython by the Django-made vectors in
 * signing.test.ts and the interop suite against Django). Node's own zlib is
 * not used: its bundled zlib (Chromium's) may choose other matches and so
 * other, equally valid, bytes.
 *
 * This used to drive pako's internal zlib port (pako/lib/zlib) on one reused
 * stream to spare a fresh deflate state per call; that reached into pako's
 * private fields and is gone (docs/internals.md).
 */
import { deflate } from 'pako';

/** The bytes of CPython's `zlib.compress(data)`. */
export function zlib_compress(data: Uint8Array): Buffer {
  const out = deflate(data, { level: 6 });
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}
