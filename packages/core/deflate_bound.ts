/**
 * A proof, cheaper than trying, that zlib cannot make small data shorter.
 *
 * signing.dumps(compress=True) keeps the compressed form only when it is at
 * least two bytes shorter than the data, and running deflate on a small
 * session (most are a few dozen bytes) costs more than the rest of a save.
 * For data in which no 3-byte sequence occurs twice, deflate can find no
 * match, so its single block holds only literals and the end-of-block code.
 * A stored block is n + 5 bytes and a fixed-Huffman one at least n bytes, so
 * only a dynamic block could win, and it cannot be shorter than:
 *
 *   29 bits  block type, HLIT, HDIST, HCLEN and at least four 3-bit
 *            code-length code lengths,
 *   ½ bit    per non-zero code length sent (the used bytes, end of block and
 *            the two distance codes zlib always sends): a repeat code covers
 *            at most six of them for at least three bits,
 *   min(r,4) bits for each run of r unused byte values between them (a run
 *            needs an explicit zero; four or more zeros cost at least four bits),
 *   Σ c·log2(N/c) bits of literals and end of block, N = n + 1 symbols: no
 *            prefix code does better than the data's own entropy,
 *
 * plus the zlib header and checksum (6 bytes). When that lower bound is
 * already too long, compressing would be wasted work: the caller's result is
 * the same either way, which the tests check against real deflate.
 */

/** Above this, entropy coding alone can win and the check would rarely answer yes. */
const MAX_CHECKED = 64;

const counts = new Uint16Array(256);
/** Which byte values occur, one bit each: the scan below visits only those, in ascending order. */
const seen = new Uint32Array(8);
/** log2(i) for every count and symbol total the check can meet (N ≤ MAX_CHECKED + 1). */
const LOG2 = Float64Array.from({ length: MAX_CHECKED + 2 }, (_, i) => (i === 0 ? 0 : Math.log2(i)));

/** True when deflate (zlib format, one block) cannot give fewer than `data.length - 1` bytes. */
export function deflate_cannot_shorten(data: Uint8Array): boolean {
  const n = data.length;
  if (n > MAX_CHECKED) return false;
  if (n <= 8) return true; // zlib's 6-byte frame plus any block is already n - 1 bytes or more
  if (!count_without_repeated_trigram(data)) return false;

  const N = n + 1; // the literals and the end-of-block code
  const log2_N = LOG2[N];
  // Σ c·log2(N/c) = Σ c·(log2 N − log2 c), with the end-of-block code seen once.
  let entropy_bits = log2_N;
  let used = 0;
  let zero_run_bits = 0;
  let next = 0; // the byte value after the last used one
  for (let w = 0; w < 8; w++) {
    let word = seen[w];
    seen[w] = 0;
    while (word !== 0) {
      const low = word & -word;
      word ^= low;
      const b = (w << 5) | (31 - Math.clz32(low));
      const c = counts[b];
      counts[b] = 0; // left clean for the next call
      // The run of unused values before b.
      if (b > next) zero_run_bits += Math.min(b - next, 4);
      next = b + 1;
      used++;
      entropy_bits += c * (log2_N - LOG2[c]);
    }
  }
  // The run reaching up to the end-of-block code (symbol 256, always used).
  if (next < 256) zero_run_bits += Math.min(256 - next, 4);
  const nonzero_lengths = used + 1 + 2;
  const bits = 29 + nonzero_lengths / 2 + zero_run_bits + entropy_bits;
  const shortest = 6 + Math.ceil(bits / 8);
  return shortest >= n - 1;
}

// An open-addressing set of the 3-byte sequences seen, reused across calls:
// a slot belongs to this call when its stamp is the call's.
const SLOTS = 128; // a power of two, over twice the MAX_CHECKED - 2 sequences
const slot_key = new Int32Array(SLOTS);
const slot_stamp = new Int32Array(SLOTS);
// Kept below 2^30 so it stays a small integer (no heap number per call).
let stamp = 0;

/**
 * Counts the byte values into `counts` and `seen` while looking for a 3-byte
 * sequence that occurs twice, in one pass. On a repeat it clears what it
 * counted and answers false.
 */
function count_without_repeated_trigram(data: Uint8Array): boolean {
  let st = stamp + 1;
  if (st === 0x4000_0000) {
    slot_stamp.fill(0);
    st = 1;
  }
  stamp = st;
  const n = data.length;
  let b0 = data[0];
  let b1 = data[1];
  tally(b0);
  tally(b1);
  for (let i = 2; i < n; i++) {
    const b2 = data[i];
    tally(b2);
    const t = (b0 << 16) | (b1 << 8) | b2;
    let h = Math.imul(t, 0x9e3779b1) >>> 25;
    while (slot_stamp[h] === st) {
      if (slot_key[h] === t) {
        for (let j = 0; j <= i; j++) counts[data[j]] = 0;
        seen.fill(0);
        return false;
      }
      h = (h + 1) & (SLOTS - 1);
    }
    slot_stamp[h] = st;
    slot_key[h] = t;
    b0 = b1;
    b1 = b2;
  }
  return true;
}

function tally(b: number): void {
  if (counts[b]++ === 0) seen[b >>> 5] |= 1 << (b & 31);
}
