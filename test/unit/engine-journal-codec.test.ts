/**
 * The write journal's record codec and reader (pure): what is written reads
 * back; a tail torn at any byte or a flipped byte stops reading right there;
 * the reader never returns a record that was not written.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { RECORD_HEADER_BYTES, decodeRecords, encodeRecord, type JournalRecord } from '../../node/engine/journal-codec.js';

const recordsArb = fc
  .array(fc.record({ count: fc.integer({ min: 1, max: 5 }), payload: fc.uint8Array({ maxLength: 64 }) }), { minLength: 1, maxLength: 12 })
  .chain((rs) => fc.integer({ min: 1, max: 2 ** 40 }).map((start) => {
    let seq = start;
    return rs.map(({ count, payload }): JournalRecord => {
      const r = { firstSeq: seq, lastSeq: seq + count - 1, payload: Buffer.from(payload) };
      seq += count;
      return r;
    });
  }));

const plain = (rs: readonly JournalRecord[]): Array<{ firstSeq: number; lastSeq: number; payload: string }> =>
  rs.map((r) => ({ firstSeq: r.firstSeq, lastSeq: r.lastSeq, payload: r.payload.toString('hex') }));

/** Byte offsets where each record ends. */
function ends(rs: readonly JournalRecord[]): number[] {
  let pos = 0;
  return rs.map((r) => (pos += RECORD_HEADER_BYTES + r.payload.length));
}

describe('engine: write journal records', () => {
  it('reads back exactly what was written', () => {
    fc.assert(fc.property(recordsArb, (rs) => {
      const buf = Buffer.concat(rs.map(encodeRecord));
      const d = decodeRecords(buf);
      expect(d.torn).to.equal(null);
      expect(d.validBytes).to.equal(buf.length);
      expect(plain(d.records)).to.deep.equal(plain(rs));
    }));
  });

  it('stops at a tail torn at any byte and returns the whole records before it', () => {
    fc.assert(fc.property(recordsArb, (rs) => {
      const buf = Buffer.concat(rs.map(encodeRecord));
      const e = ends(rs);
      for (let cut = 0; cut < buf.length; cut++) {
        const d = decodeRecords(buf.subarray(0, cut));
        const whole = e.filter((x) => x <= cut).length;
        expect(plain(d.records)).to.deep.equal(plain(rs.slice(0, whole)));
        expect(d.validBytes).to.equal(whole === 0 ? 0 : e[whole - 1]);
        expect(d.torn === null).to.equal(cut === d.validBytes);
      }
    }), { numRuns: 40 });
  });

  it('stops at the record holding a flipped byte and never returns one that was not written', () => {
    fc.assert(fc.property(recordsArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (rs, at, xor) => {
      const buf = Buffer.concat(rs.map(encodeRecord));
      const pos = at % buf.length;
      buf[pos] ^= xor;
      const d = decodeRecords(buf);
      const e = ends(rs);
      const damaged = e.findIndex((x) => pos < x);
      // Every record before the damaged one, then a stop at its start.
      expect(plain(d.records)).to.deep.equal(plain(rs.slice(0, damaged)));
      expect(d.torn).to.not.equal(null);
      expect(d.torn!.offset).to.equal(damaged === 0 ? 0 : e[damaged - 1]);
    }));
  });

  it('refuses to encode an impossible sequence range', () => {
    expect(() => encodeRecord({ firstSeq: 5, lastSeq: 4, payload: Buffer.alloc(0) })).to.throw(RangeError);
    expect(() => encodeRecord({ firstSeq: 0, lastSeq: 1, payload: Buffer.alloc(0) })).to.throw(RangeError);
  });
});
