/**
 * HmacKey gives exactly crypto.createHmac's bytes: every supported hash, keys
 * shorter and longer than the block, messages across the block boundary and
 * past the reused buffer's first and largest sizes, non-ASCII text, keys used in turn.
 */
import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { HmacKey } from '../hmac';

const ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha512-256'];

function reference(algorithm: string, key: Buffer, message: string): string {
  return crypto.createHmac(algorithm, key).update(message, 'utf8').digest('hex');
}

describe('HmacKey', () => {
  it.each(ALGORITHMS)('%s: equals createHmac at block edges and beyond the scratch buffer', (algorithm) => {
    for (const key_len of [0, 1, 32, 63, 64, 65, 128, 129, 200]) {
      const key = crypto.randomBytes(key_len);
      const hmac = new HmacKey(algorithm, key);
      for (const n of [0, 1, 55, 63, 64, 65, 127, 128, 129, 1023, 1024, 5000, 21_800, 21_900, 100_000]) {
        const message = 'a'.repeat(n);
        expect(hmac.digest(message).toString('hex')).toBe(reference(algorithm, key, message));
      }
    }
  });

  it('gives the same digest as text: base64url and hex equal createHmac, on either path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALGORITHMS),
        fc.uint8Array({ maxLength: 160 }),
        fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.constant('x'.repeat(70_000))),
        (algorithm, key_bytes, message) => {
          const key = Buffer.from(key_bytes);
          const hmac = new HmacKey(algorithm, key);
          const hex = reference(algorithm, key, message);
          expect(hmac.digest(message, 'hex')).toBe(hex);
          expect(hmac.digest(message, 'base64url')).toBe(Buffer.from(hex, 'hex').toString('base64url'));
          expect(hmac.digest(message).toString('hex')).toBe(hex);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('equals createHmac for any text and key (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALGORITHMS),
        fc.uint8Array({ maxLength: 160 }),
        fc.string({ unit: 'binary', maxLength: 600 }),
        (algorithm, key_bytes, message) => {
          const key = Buffer.from(key_bytes);
          expect(new HmacKey(algorithm, key).digest(message).toString('hex')).toBe(reference(algorithm, key, message));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keys used in turn do not see each other (shared buffers)', () => {
    const a = new HmacKey('sha256', Buffer.from('key a'));
    const b = new HmacKey('sha256', Buffer.from('key b'));
    const first_a = a.digest('message');
    const first_b = b.digest('a much longer message, so the scratch holds more of it '.repeat(40));
    expect(a.digest('message')).toEqual(first_a);
    expect(first_a.toString('hex')).toBe(reference('sha256', Buffer.from('key a'), 'message'));
    expect(first_b.toString('hex')).toBe(reference('sha256', Buffer.from('key b'), 'a much longer message, so the scratch holds more of it '.repeat(40)));
    // A digest handed out earlier is not overwritten by later calls.
    b.digest('something else');
    expect(first_a.toString('hex')).toBe(reference('sha256', Buffer.from('key a'), 'message'));
  });

  it('an algorithm without a known block size still signs, through createHmac', () => {
    const key = Buffer.from('k');
    expect(new HmacKey('sha3-256', key).digest('m').toString('hex')).toBe(reference('sha3-256', key, 'm'));
  });
});
