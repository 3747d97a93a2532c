/**
 * HMAC (RFC 2104) for a key used over and over, as two one-shot hashes.
 *
 * `crypto.createHmac` builds a native Hmac object and prepares the key on
 * every call; a signer that signs or verifies with the same derived key on
 * every request pays for that each time. With the key's inner and outer pads
 * computed once, an HMAC is H(opad ‖ H(ipad ‖ message)): two `crypto.hash`
 * calls on reused buffers, with the very bytes createHmac gives (tested).
 * Where `crypto.hash` is missing (Node before 20.12) or the hash's block size
 * is unknown, createHmac is used.
 */
import * as nodeCrypto from 'node:crypto';

const BLOCK_BYTES: Readonly<Record<string, number>> = {
  md5: 64, sha1: 64, sha224: 64, sha256: 64, sha384: 128, sha512: 128, 'sha512-224': 128, 'sha512-256': 128,
};

/** Encodings a digest can be asked for as text. */
export type DigestEncoding = 'base64url' | 'hex';

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: DigestEncoding | 'latin1') => string;
const one_shot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

/** Message bytes go after the inner pad in this buffer, which grows up to SCRATCH_MAX. */
let scratch = Buffer.allocUnsafe(1024);
/** Longer messages go through createHmac: one huge value must not pin a huge buffer for good. */
const SCRATCH_MAX = 64 * 1024;

/** A key's inner pad, and its outer pad with room for the inner hash after it. */
interface Pads {
  readonly inner: Buffer;
  readonly outer: Buffer;
}

export class HmacKey {
  /** Null where createHmac does the work (no one-shot hash, or an unknown block size). */
  readonly #pads: Pads | null = null;

  readonly #key: Buffer;

  constructor(readonly algorithm: string, key: Buffer) {
    this.#key = key;
    const block = BLOCK_BYTES[algorithm];
    if (!one_shot || block === undefined) return;
    const k = key.length > block ? nodeCrypto.createHash(algorithm).update(key).digest() : key;
    const inner = Buffer.alloc(block, 0x36);
    const digest_bytes = nodeCrypto.createHash(algorithm).digest().length;
    const outer = Buffer.alloc(block + digest_bytes, 0x5c);
    for (let i = 0; i < k.length; i++) {
      inner[i] ^= k[i];
      outer[i] ^= k[i];
    }
    this.#pads = { inner, outer };
  }

  /** HMAC of the UTF-8 bytes of `message`, as bytes or as text in `encoding`. */
  digest(message: string): Buffer;
  digest(message: string, encoding: DigestEncoding): string;
  digest(message: string, encoding?: DigestEncoding): Buffer | string {
    const pads = this.#pads;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    const room = pads === null ? 0 : pads.inner.length + message.length * 3;
    if (pads === null || one_shot === undefined || room > SCRATCH_MAX) {
      const mac = nodeCrypto.createHmac(this.algorithm, this.#key).update(message, 'utf8');
      return encoding === undefined ? mac.digest() : mac.digest(encoding);
    }
    const { inner, outer } = pads;
    if (scratch.length < room) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(room, scratch.length * 2)));
    inner.copy(scratch, 0);
    const n = scratch.write(message, inner.length, 'utf8');
    // Hashes asked for as text: a Buffer result costs Node a native backing
    // store and a slow path through its encoding checks, three times the hash.
    const inner_hash = one_shot(this.algorithm, scratch.subarray(0, inner.length + n), 'latin1');
    // `outer` is only ever used here, synchronously: its tail can be overwritten each call.
    outer.write(inner_hash, inner.length, 'latin1');
    if (encoding !== undefined) return one_shot(this.algorithm, outer, encoding);
    return Buffer.from(one_shot(this.algorithm, outer, 'latin1'), 'latin1');
  }
}
