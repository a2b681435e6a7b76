/**
 * Encryption at rest, pure parts: the value codec over compression x
 * encryption x key ids, tampering and unknown keys (typed errors, never
 * garbage), the replication-log envelope, and the keyring file parser.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { FLAG_COMPRESSION_MASK, FLAG_ENCRYPTED, FLAG_RAW, ValueCodec, decodeValue } from '../../node/engine/codec.js';
import { Keyring, sealedKeyId } from '../../node/crypto/keyring.js';
import { parseKeyringFile, type EncryptionKey } from '../../node/crypto/keyring-file.js';
import { DecryptionError, KeyringFileError, NoKeyringError, UnknownKeyIdError } from '../../node/crypto/errors.js';
import { isSealedLogBody, logBodyKeyId, openLogBody, sealLogBody } from '../../node/crypto/log-envelope.js';
import { encodeBatch } from '../../node/replication/batch-codec.js';

const b = (s: string): Buffer => Buffer.from(s);
const key = (id: string): EncryptionKey => ({ id, key: randomBytes(32) });
const source = (k: Keyring) => ({ current: k });

describe('encryption at rest: codec', () => {
  const k1 = key('k1');
  const k2 = key('2026-12.rot_b');
  const both = new Keyring([k1, k2]);

  it('round-trips any value over compression x key id, flags say encrypted, stored bytes never hold the value', () => {
    const algorithms = fc.constantFrom('none' as const, 'zlib' as const, 'brotli' as const);
    const value = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 200 })).map(([s, n]) => b(s.repeat(n))),
    );
    const rings = fc.constantFrom(new Keyring([k1]), new Keyring([k2]), both, new Keyring([k2, k1]));
    fc.assert(
      fc.property(algorithms, fc.integer({ min: 0, max: 64 }), rings, value, fc.uint8Array({ minLength: 1, maxLength: 40 }), (alg, threshold, ring, v, rk) => {
        const redisKey = Buffer.from(rk);
        const codec = new ValueCodec(alg, threshold, source(ring));
        const stored = codec.encode(v, redisKey);
        const flags = codec.lastFlags;
        expect(flags & FLAG_ENCRYPTED).to.equal(FLAG_ENCRYPTED);
        expect(sealedKeyId(stored, 'x')).to.equal(ring.active.id);
        // Readable with any keyring holding the key it names (rotation keeps old keys readable).
        expect(decodeValue(stored, flags, redisKey, both).equals(v)).to.equal(true);
        expect(codec.decode(stored, flags, redisKey).equals(v)).to.equal(true);
        if (v.length >= 8) expect(stored.includes(v)).to.equal(false);
      }),
      { numRuns: 300 },
    );
  });

  it('compresses before encrypting (compressible values stay small)', () => {
    const codec = new ValueCodec('zlib', 16, source(both));
    const v = b('abcdefgh'.repeat(1000));
    const stored = codec.encode(v, b('k'));
    expect(codec.lastFlags & FLAG_COMPRESSION_MASK).to.not.equal(FLAG_RAW);
    expect(stored.length).to.be.lessThan(200);
  });

  it('the same value encrypts differently every time (random nonce)', () => {
    const codec = new ValueCodec('none', 0, source(both));
    expect(codec.encode(b('same'), b('k')).equals(codec.encode(b('same'), b('k')))).to.equal(false);
  });

  it('tampered ciphertext, tag or header -> DecryptionError naming the key id', () => {
    const codec = new ValueCodec('none', 0, source(both));
    const stored = codec.encode(b('secret value'), b('k'));
    fc.assert(
      fc.property(fc.integer({ min: 3 + k2.id.length, max: stored.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = Buffer.from(stored);
        bad[at]! ^= x;
        expect(() => decodeValue(bad, codec.lastFlags, b('k'), both)).to.throw(DecryptionError, /key id '2026-12.rot_b'/);
      }),
      { numRuns: 100 },
    );
    expect(() => decodeValue(stored.subarray(0, stored.length - 1), codec.lastFlags, b('k'), both)).to.throw(DecryptionError);
    expect(() => decodeValue(stored.subarray(0, 10), codec.lastFlags, b('k'), both)).to.throw(DecryptionError);
    expect(() => decodeValue(b('\x07junk'), FLAG_ENCRYPTED, b('k'), both)).to.throw(DecryptionError, /not sealed data/);
  });

  it('a value moved to another Redis key does not decrypt', () => {
    const codec = new ValueCodec('none', 0, source(both));
    const stored = codec.encode(b('belongs to a'), b('a'));
    expect(() => decodeValue(stored, codec.lastFlags, b('b'), both)).to.throw(DecryptionError, /authentication failed/);
  });

  it('a value under a key id the keyring lacks -> UnknownKeyIdError naming it; no keyring -> NoKeyringError', () => {
    const codec = new ValueCodec('none', 0, source(new Keyring([k1])));
    const stored = codec.encode(b('v'), b('mykey'));
    const err = (() => {
      try {
        decodeValue(stored, codec.lastFlags, b('mykey'), new Keyring([k2]));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).to.be.instanceOf(UnknownKeyIdError);
    expect((err as UnknownKeyIdError).keyId).to.equal('k1');
    expect((err as Error).message).to.match(/value of key 'mykey' is encrypted with key id 'k1', which is not in the encryption keyring/);
    expect(() => decodeValue(stored, codec.lastFlags, b('mykey'), null)).to.throw(NoKeyringError, /key id 'k1'/);
    // A key id of the same name but other key bytes fails authentication, not silently.
    expect(() => decodeValue(stored, codec.lastFlags, b('mykey'), new Keyring([key('k1')]))).to.throw(DecryptionError);
  });
});

describe('encryption at rest: replication log envelope', () => {
  const ring = new Keyring([key('a'), key('b')]);
  const batch = encodeBatch([{ seq: 7, m: { op: 'set', key: b('k'), value: b('VALUE-MARKER'), expiresAt: null } }]);

  it('seals a batch (bound to its first seq), opens it, passes plain batches through', () => {
    const sealed = sealLogBody(ring, batch, 7);
    expect(isSealedLogBody(sealed)).to.equal(true);
    expect(isSealedLogBody(batch)).to.equal(false);
    expect(sealed.includes(b('VALUE-MARKER'))).to.equal(false);
    expect(logBodyKeyId(sealed, 7)).to.equal('b');
    expect(logBodyKeyId(batch, 7)).to.equal(null);
    expect(openLogBody(ring, sealed, 7).equals(batch)).to.equal(true);
    expect(openLogBody(null, batch, 7)).to.equal(batch);
    expect(() => openLogBody(ring, sealed, 8)).to.throw(DecryptionError, /replication log batch 8/);
    expect(() => openLogBody(null, sealed, 7)).to.throw(NoKeyringError, /key id 'b'/);
    expect(() => openLogBody(new Keyring([key('a')]), sealed, 7)).to.throw(UnknownKeyIdError, /key id 'b'/);
  });
});

describe('encryption at rest: keyring file', () => {
  const k = (): string => randomBytes(32).toString('base64');

  it('parses ids and keys; the last line is active; comments and blank lines are skipped', () => {
    const a = k();
    const c = k();
    const keys = parseKeyringFile(`# rotated 2026-12\n\nk1 ${a}\r\n  k2   ${c}  \n`, 'keys.txt');
    expect(keys.map((x) => x.id)).to.deep.equal(['k1', 'k2']);
    expect(keys[0]!.key.equals(Buffer.from(a, 'base64'))).to.equal(true);
    expect(new Keyring(keys).active.id).to.equal('k2');
  });

  const bad: Array<[string, RegExp]> = [
    ['', /keys.txt: holds no key/],
    ['# only a comment\n', /holds no key/],
    [`k1\n`, /keys.txt:1: expected "<key-id> <base64 key>", found 1 field/],
    [`k1 ${Buffer.alloc(32).toString('base64')} extra\n`, /keys.txt:1: .*found 3 field/],
    [`\nbad/id ${Buffer.alloc(32).toString('base64')}\n`, /keys.txt:2: key id 'bad\/id' must be 1 to 32/],
    [`${'x'.repeat(33)} ${Buffer.alloc(32).toString('base64')}\n`, /must be 1 to 32/],
    [`k1 not*base64\n`, /keys.txt:1: key 'k1' is not base64/],
    [`k1 ${Buffer.alloc(16).toString('base64')}\n`, /keys.txt:1: key 'k1' is 16 bytes; AES-256 needs exactly 32/],
    [`k1 ${Buffer.alloc(32).toString('base64')}\nk1 ${Buffer.alloc(32).toString('base64')}\n`, /keys.txt:2: key id 'k1' appears twice/],
  ];
  for (const [text, re] of bad) {
    it(`refuses ${JSON.stringify(text.slice(0, 30))} with a clear error`, () => {
      expect(() => parseKeyringFile(text, 'keys.txt')).to.throw(KeyringFileError, re);
    });
  }

  it('never throws anything but KeyringFileError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseKeyringFile(text, 'f');
        } catch (e) {
          expect(e).to.be.instanceOf(KeyringFileError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
