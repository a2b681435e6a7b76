/**
 * Per-slot digests: order-independent, sensitive to every key, value and
 * expiry, blind to how values are stored (compression), and computed from a
 * real node database; plus the rows a slot repair copies.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { keySlot } from '../../common/slot.js';
import type { SlotDigest } from '../../common/replication.js';
import { decodeValue } from '../../node/engine/codec.js';
import { DigestAccumulator, diffDigests } from '../../node/replication/digest.js';
import { decodeRows, encodeRows } from '../../node/replication/row-codec.js';
import { computeSlotDigests, readSlotRows } from '../../node/replication/slot-digests.js';
import { engineFixture } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);

interface Row {
  slot: number;
  key: Buffer;
  value: Buffer;
  expiresAt: number | null;
}

const digestOf = (rows: readonly Row[]): SlotDigest[] => {
  const acc = new DigestAccumulator();
  for (const r of rows) acc.add(r.slot, r.key, r.value, r.expiresAt);
  return acc.result();
};

/** Rows with distinct keys, a few slots so that slots hold several rows. */
const rowsArb: fc.Arbitrary<Row[]> = fc.uniqueArray(
  fc.record({
    slot: fc.integer({ min: 0, max: 5 }),
    key: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
    value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: null }),
  }),
  { selector: (r) => r.key.toString('hex'), maxLength: 30 },
);

describe('replication: digests', () => {
  describe('DigestAccumulator', () => {
    it('hashes one row as documented: two SHA-1 lanes, 16 hex chars', () => {
      const key = b('key');
      const value = b('value');
      const buf = Buffer.alloc(4 + 3 + 4 + 5 + 8);
      let p = buf.writeUInt32BE(3, 0);
      p += key.copy(buf, p);
      p = buf.writeUInt32BE(5, p);
      p += value.copy(buf, p);
      buf.writeDoubleBE(-1, p);
      const sha = createHash('sha1').update(buf).digest();
      expect(digestOf([{ slot: 7, key, value, expiresAt: null }])).to.deep.equal([{ slot: 7, count: 1, hash: sha.subarray(0, 8).toString('hex') }]);
    });

    it('hashes large rows (streamed) by the same layout as small ones', () => {
      for (const size of [0, 64 * 1024 - 17, 64 * 1024 - 16, 200_000]) {
        const key = b('k');
        const value = Buffer.alloc(size, 0x5a);
        const layout = Buffer.alloc(4 + 1 + 4 + size + 8);
        let p = layout.writeUInt32BE(1, 0);
        p += key.copy(layout, p);
        p = layout.writeUInt32BE(size, p);
        p += value.copy(layout, p);
        layout.writeDoubleBE(1234, p);
        const expected = createHash('sha1').update(layout).digest().subarray(0, 8).toString('hex');
        expect(digestOf([{ slot: 1, key, value, expiresAt: 1234 }])[0]!.hash, `value of ${size} bytes`).to.equal(expected);
      }
    });

    it('sums lanes mod 2^32 and lists non-empty slots ascending', () => {
      const rows: Row[] = [
        { slot: 9, key: b('a'), value: b('1'), expiresAt: null },
        { slot: 2, key: b('b'), value: b('2'), expiresAt: 5 },
        { slot: 9, key: b('c'), value: b('3'), expiresAt: null },
      ];
      const result = digestOf(rows);
      expect(result.map((d) => [d.slot, d.count])).to.deep.equal([
        [2, 1],
        [9, 2],
      ]);
      const lanes = (r: Row): [number, number] => {
        const d = digestOf([r])[0]!.hash;
        return [parseInt(d.slice(0, 8), 16), parseInt(d.slice(8), 16)];
      };
      const [a, c] = [lanes(rows[0]!), lanes(rows[2]!)];
      const hex = (n: number): string => (n % 2 ** 32).toString(16).padStart(8, '0');
      expect(result[1]!.hash).to.equal(hex(a[0] + c[0]) + hex(a[1] + c[1]));
      expect(new DigestAccumulator().result()).to.deep.equal([]);
    });

    it('does not depend on row order (property)', () => {
      fc.assert(
        fc.property(rowsArb, fc.infiniteStream(fc.nat()), (rows, seeds) => {
          const shuffled = rows.map((r) => ({ r, k: seeds.next().value as number })).sort((x, y) => x.k - y.k).map((x) => x.r);
          expect(digestOf(shuffled)).to.deep.equal(digestOf(rows));
          for (const d of digestOf(rows)) expect(d.hash).to.match(/^[0-9a-f]{16}$/);
        }),
        { numRuns: 200 },
      );
    });

    it('notices any changed key, value or expiry, and a missing or extra row (property)', () => {
      fc.assert(
        fc.property(rowsArb.filter((rows) => rows.length > 0), fc.nat(), fc.integer({ min: 0, max: 3 }), (rows, pick, how) => {
          const i = pick % rows.length;
          const r = rows[i]!;
          const changed = rows.slice();
          switch (how) {
            case 0:
              changed[i] = { ...r, value: Buffer.concat([r.value, b('!')]) };
              break;
            case 1:
              changed[i] = { ...r, expiresAt: r.expiresAt === null ? 1 : null };
              break;
            case 2:
              changed[i] = { ...r, key: Buffer.concat([r.key, b('\u00ff')]) };
              break;
            default:
              changed.splice(i, 1);
          }
          expect(diffDigests(digestOf(rows), digestOf(changed))).to.deep.equal([r.slot]);
        }),
        { numRuns: 200 },
      );
    });

    it('separates key and value bytes (length-prefixed)', () => {
      const x = digestOf([{ slot: 0, key: b('ab'), value: b('c'), expiresAt: null }]);
      const y = digestOf([{ slot: 0, key: b('a'), value: b('bc'), expiresAt: null }]);
      expect(x[0]!.hash).to.not.equal(y[0]!.hash);
    });

    it('refuses slots out of range', () => {
      expect(() => new DigestAccumulator().add(16384, b('k'), b('v'), null)).to.throw(RangeError);
      expect(() => new DigestAccumulator().add(-1, b('k'), b('v'), null)).to.throw(RangeError);
    });
  });

  describe('diffDigests', () => {
    const d = (slot: number, count: number, hash = '0000000000000001'): SlotDigest => ({ slot, count, hash });
    it('lists slots present on one side only, or with another count or hash, ascending', () => {
      expect(diffDigests([], [])).to.deep.equal([]);
      expect(diffDigests([d(1, 1), d(5, 2)], [d(1, 1), d(5, 2)])).to.deep.equal([]);
      expect(diffDigests([d(1, 1), d(5, 2), d(9, 1)], [d(0, 1), d(1, 1), d(5, 3)])).to.deep.equal([0, 5, 9]);
      expect(diffDigests([d(3, 1, 'aaaaaaaaaaaaaaaa')], [d(3, 1, 'bbbbbbbbbbbbbbbb')])).to.deep.equal([3]);
      expect(diffDigests([d(7, 1)], [])).to.deep.equal([7]);
    });
  });

  describe('from a node database', () => {
    const fxA = engineFixture();
    const fxB = engineFixture();
    const big = (n: number): Buffer => Buffer.from('compressible text '.repeat(n));

    it('match what the accumulator computes from the data, whatever the compression', () => {
      const raw = fxA.open({ compression: { algorithm: 'none', thresholdBytes: 1024 } });
      const zipped = fxB.open({ compression: { algorithm: 'zlib', thresholdBytes: 16 } });
      const rows: Row[] = [];
      for (let i = 0; i < 300; i++) {
        const key = b(`key:${i}`);
        const value = i % 3 === 0 ? big(20 + i) : b(`v${i}`);
        const expiresAt = i % 5 === 0 ? 4_000_000_000_000 + i : null;
        rows.push({ slot: keySlot(key), key, value, expiresAt });
        raw.keyspace.set(key, value, expiresAt);
        zipped.keyspace.set(key, value, expiresAt);
      }
      raw.commits.flushNow();
      zipped.commits.flushNow();
      const flags = zipped.db.prepare('SELECT COUNT(*) FROM kv WHERE flags != 0').pluck().get() as number;
      expect(flags).to.be.greaterThan(50); // really stored differently

      const expected = digestOf(rows);
      expect(computeSlotDigests(raw.db)).to.deep.equal(expected);
      expect(computeSlotDigests(zipped.db)).to.deep.equal(expected);

      const some = [expected[3]!.slot, expected[0]!.slot, 16000, expected[3]!.slot];
      const wanted = new Set(some);
      expect(computeSlotDigests(zipped.db, some)).to.deep.equal(expected.filter((x) => wanted.has(x.slot)));
      expect(computeSlotDigests(raw.db, [])).to.deep.equal([]);
      expect(() => computeSlotDigests(raw.db, [16384])).to.throw(RangeError);
    });

    it('count expired rows still present, and see a changed row', () => {
      const engine = fxA.open();
      engine.keyspace.set(b('{t}gone'), b('x'), 1); // expired long ago, not yet reclaimed
      engine.keyspace.set(b('{t}live'), b('y'), null);
      engine.commits.flushNow();
      const slot = keySlot('{t}');
      const before = computeSlotDigests(engine.db);
      expect(before).to.deep.equal([{ slot, count: 2, hash: before[0]!.hash }]);
      engine.db.prepare('UPDATE kv SET value = ? WHERE key = ?').run(b('z'), b('{t}live'));
      expect(diffDigests(before, computeSlotDigests(engine.db))).to.deep.equal([slot]);
    });

    it('readSlotRows returns the stored rows of one slot, ready to ship', () => {
      const engine = fxA.open({ compression: { algorithm: 'zlib', thresholdBytes: 16 } });
      const v1 = engine.keyspace.set(b('{s}a'), big(50), 4_000_000_000_000);
      const v2 = engine.keyspace.set(b('{s}b'), b('short'), null);
      engine.keyspace.set(b('{other}c'), b('elsewhere'), null);
      engine.commits.flushNow();
      const rows = readSlotRows(engine.db, keySlot('{s}'));
      const byKey = new Map(rows.map((r) => [r.key.toString(), r]));
      expect([...byKey.keys()].sort()).to.deep.equal(['{s}a', '{s}b']);
      const a = byKey.get('{s}a')!;
      expect(a.flags).to.not.equal(0);
      expect(a.value.length).to.be.lessThan(big(50).length);
      expect(decodeValue(a.value, a.flags, a.key).equals(big(50))).to.equal(true);
      expect(a.expiresAt).to.equal(4_000_000_000_000);
      expect(a.version).to.equal(v1);
      expect(byKey.get('{s}b')).to.deep.include({ flags: 0, expiresAt: null, version: v2 });
      const shipped = decodeRows(encodeRows(rows));
      expect(shipped.map((r) => r.value.toString('hex'))).to.deep.equal(rows.map((r) => r.value.toString('hex')));
      expect(readSlotRows(engine.db, 1)).to.deep.equal([]);
      expect(() => readSlotRows(engine.db, 1.5)).to.throw(RangeError);
    });
  });
});
