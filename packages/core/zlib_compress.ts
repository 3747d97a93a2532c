/**
 * CPython's `zlib.compress(data)` (level 6, zlib wrapper, 32 KB window,
 * memLevel 8, default strategy) from one long-lived pako deflate stream.
 *
 * pako.deflate() gives the right bytes (reference §4.6) but builds a fresh
 * deflate state every call: ~300 KB of typed arrays for a value that is often
 * under 1 KB, which made allocation and GC most of the cost of a compressed
 * signing.dumps(). pako's public API cannot reset a finished stream, so this
 * drives its zlib port (pako/lib/zlib, untyped, hence the interface below)
 * and resets the stream per call instead.
 */

/**
 * The parts of pako/lib/zlib/deflate.js's DeflateState used here. The index
 * signature is for the snapshot of its numeric fields (see openCompressor).
 */
interface PakoDeflateState {
  [field: string]: unknown;
  window: Uint8Array;
  prev: Uint16Array;
  head: Uint16Array;
  w_size: number;
}

interface PakoZStream {
  input: Uint8Array | null;
  next_in: number;
  avail_in: number;
  output: Uint8Array | null;
  next_out: number;
  avail_out: number;
  state: PakoDeflateState | null;
  msg: string;
}

interface PakoZlibDeflate {
  deflateInit2(
    strm: PakoZStream,
    level: number,
    method: number,
    windowBits: number,
    memLevel: number,
    strategy: number,
    legacyHash?: boolean,
  ): number;
  deflateResetKeep(strm: PakoZStream): number;
  deflate(strm: PakoZStream, flush: number): number;
}

const zdeflate = require('pako/lib/zlib/deflate.js') as PakoZlibDeflate;
const ZStream = require('pako/lib/zlib/zstream.js') as new () => PakoZStream;

// zlib.h constants (pako/lib/zlib/constants.js has the same values).
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_FINISH = 4;
const Z_DEFLATED = 8;
const LEVEL = 6; // Z_DEFAULT_COMPRESSION as zlib resolves it, and what zlib.compress() uses
const WINDOW_BITS = 15;
const MEM_LEVEL = 8;
const Z_DEFAULT_STRATEGY = 0;

interface Compressor {
  strm: PakoZStream;
  state: PakoDeflateState;
  /** Every numeric field of the state as deflateInit2 left it, i.e. freshly reset. */
  fresh: [string, number][];
}

let compressor: Compressor | undefined;
// How much of the window and prev table the last call may have written.
// pako, unlike C zlib, never zeroes the bytes past the input (its typed arrays
// start zeroed), and its longest-match search can read a few bytes past the end of
// the input. After a reset those bytes would still hold the previous input,
// so they are wiped to make the state what a fresh stream would see.
let dirty = 0;
// Output space kept between calls, up to SCRATCH_KEEP: one large value then
// only gets a buffer of its own instead of pinning that much for good.
const SCRATCH_KEEP = 64 * 1024;
let scratch = new Uint8Array(0);

function openCompressor(): Compressor {
  const strm = new ZStream();
  // legacyHash must be passed explicitly: pako's Deflate class defaults it to
  // true (zlib's hash, which CPython's zlib uses), the raw init to false.
  const status = zdeflate.deflateInit2(strm, LEVEL, Z_DEFLATED, WINDOW_BITS, MEM_LEVEL, Z_DEFAULT_STRATEGY, true);
  const state = strm.state;
  if (status !== Z_OK || state === null) throw new Error(`pako deflateInit2 failed: ${strm.msg || status}`);
  const fresh = Object.entries(state).filter((e): e is [string, number] => typeof e[1] === 'number');
  return { strm, state, fresh };
}

/**
 * deflateReset without its cost. pako's deflateReset clears the 64 KB hash
 * head table with an element-by-element loop, ~30 µs, more than compressing a
 * session takes. deflateResetKeep does the rest of zlib's reset (stream
 * counters, checksum, block and tree state); the scalar half of the
 * longest-match reset (lm_init) is done by restoring every numeric field to
 * its just-initialised value, which needs no knowledge of pako's field list,
 * and the table is cleared with a native fill.
 */
function resetCompressor(c: Compressor): void {
  const s = c.state;
  if (zdeflate.deflateResetKeep(c.strm) !== Z_OK) throw new Error(`pako deflateResetKeep failed: ${c.strm.msg}`);
  for (const [field, value] of c.fresh) s[field] = value;
  s.head.fill(0);
  if (dirty > 0) {
    s.window.fill(0, 0, Math.min(dirty, s.window.length));
    s.prev.fill(0, 0, Math.min(dirty, s.w_size));
  }
}

/** zlib's compressBound(): the most a zlib stream of `n` input bytes can take. */
function compressBound(n: number): number {
  return n + (n >>> 12) + (n >>> 14) + (n >>> 25) + 13;
}

/**
 * The bytes of CPython's `zlib.compress(data)`. The result is a fresh copy,
 * so callers may keep it; the stream and output scratch space are reused.
 */
export function zlib_compress(data: Uint8Array): Buffer {
  compressor ??= openCompressor();
  resetCompressor(compressor);
  const strm = compressor.strm;
  // Set before deflating, so a throw part-way still gets the window wiped next time.
  dirty = data.length;

  const bound = compressBound(data.length);
  let out: Uint8Array;
  if (bound > SCRATCH_KEEP) out = new Uint8Array(bound);
  else {
    if (scratch.length < bound) scratch = new Uint8Array(Math.min(SCRATCH_KEEP, Math.max(bound, 2 * scratch.length)));
    out = scratch;
  }
  strm.input = data;
  strm.next_in = 0;
  strm.avail_in = data.length;
  strm.output = out;
  strm.next_out = 0;
  strm.avail_out = out.length;
  try {
    const status = zdeflate.deflate(strm, Z_FINISH);
    // compressBound leaves room for everything, so one Z_FINISH call completes.
    if (status !== Z_STREAM_END) throw new Error(`pako deflate did not finish: ${strm.msg || status}`);
    const n = strm.next_out;
    // The shared scratch is copied out; a one-off buffer can be handed over as is.
    return out === scratch ? Buffer.from(out.subarray(0, n)) : Buffer.from(out.buffer, 0, n);
  } finally {
    // The stream would otherwise keep the caller's input and a one-off buffer alive.
    strm.input = null;
    strm.output = null;
  }
}
