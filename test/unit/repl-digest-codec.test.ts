/**
 * The DigestReply body (digest-codec.ts): the binary format 2 round-trips any
 * table, a format-1 JSON reply (older replicas) decodes to the same table,
 * every pairing of old and new primary/replica agrees on a format, diffTables
 * finds exactly the slots diffDigests finds, and corrupt input is a FrameError
 * naming what is wrong, never a wrong table.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { FrameError } from '../../common/frame-fields.js';
import { SLOT_COUNT } from '../../common/slot.js';
import {
  DIGEST_FORMAT_BINARY, DIGEST_FORMAT_JSON, DIGEST_FORMAT_LATEST, decodeDigestReply, encodeDigestReply, replyFormat,
} from '../../node/replication/digest-codec.js';
import { DigestAccumulator, diffDigests, diffTables, digestsFromTable, emptyDigestTable, tableFromDigests, type SlotDigestTable } from '../../node/replication/digest.js';
import { parseDigestRequest } from '../../node/replication/messages.js';

/** A table with a few non-empty slots anywhere in 0..16383 (counts ≥ 1, any 32-bit hash halves). */
const tableArb: fc.Arbitrary<SlotDigestTable> = fc
  .uniqueArray(
    fc.record({
      slot: fc.integer({ min: 0, max: SLOT_COUNT - 1 }),
      count: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      hi: fc.nat({ max: 0xffffffff }),
      lo: fc.nat({ max: 0xffffffff }),
    }),
    { selector: (e) => e.slot, maxLength: 60 },
  )
  .map((entries) => {
    const t = emptyDigestTable();
    for (const e of entries) {
      t.counts[e.slot] = e.count;
      t.his[e.slot] = e.hi;
      t.los[e.slot] = e.lo;
    }
    return t;
  });

const ids = fc.nat({ max: Number.MAX_SAFE_INTEGER });

function expectSameTable(a: SlotDigestTable, b: SlotDigestTable): void {
  expect(diffTables(a, b)).to.deep.equal([]);
  expect(digestsFromTable(a)).to.deep.equal(digestsFromTable(b));
}

function expectFrameError(body: Buffer, pattern: RegExp): void {
  expect(() => decodeDigestReply(body)).to.throw(FrameError, pattern);
}

describe('digest reply codec (binary format 2, JSON format 1)', () => {
  it('round-trips any table in the binary format, with its id and sequence', () => {
    fc.assert(fc.property(tableArb, ids, ids, (t, id, seq) => {
      const body = encodeDigestReply(DIGEST_FORMAT_BINARY, id, seq, t);
      expect(body[0]).to.equal(DIGEST_FORMAT_BINARY);
      const back = decodeDigestReply(body);
      expect(back.id).to.equal(id);
      expect(back.seq).to.equal(seq);
      expectSameTable(back.table, t);
    }));
  });

  it('decodes a JSON reply (what an older replica sends) to the same table', () => {
    fc.assert(fc.property(tableArb, ids, ids, (t, id, seq) => {
      const body = encodeDigestReply(DIGEST_FORMAT_JSON, id, seq, t);
      // Exactly the old wire text: {"id","seq","slots":[{slot,count,hash}]}.
      expect(JSON.parse(body.toString('utf8'))).to.deep.equal({ id, seq, slots: digestsFromTable(t) });
      const back = decodeDigestReply(body);
      expect([back.id, back.seq]).to.deep.equal([id, seq]);
      expectSameTable(back.table, t);
    }));
  });

  it('sends a full table of 16,384 slots in 18 bytes per slot', () => {
    const acc = new DigestAccumulator();
    for (let slot = 0; slot < SLOT_COUNT; slot++) acc.add(slot, Buffer.from(`k${slot}`), Buffer.from('v'), null);
    const body = encodeDigestReply(DIGEST_FORMAT_BINARY, 1, 2, acc.table());
    expect(body.length).to.equal(21 + 18 * SLOT_COUNT);
    expect(digestsFromTable(decodeDigestReply(body).table)).to.deep.equal(acc.result());
  });

  it('diffTables finds exactly the slots diffDigests finds', () => {
    fc.assert(fc.property(tableArb, tableArb, (a, b) => {
      expect(diffTables(a, b)).to.deep.equal(diffDigests(digestsFromTable(a), digestsFromTable(b)));
      expect(diffTables(a, tableFromDigests(digestsFromTable(a)))).to.deep.equal([]);
    }));
  });

  it('every old/new pairing agrees on a format: an older primary gets JSON, a newer one at most what this node writes', () => {
    // An older primary's request has no format field.
    const old = parseDigestRequest(Buffer.from(JSON.stringify({ id: 7 })));
    expect(old).to.deep.equal({ id: 7, format: DIGEST_FORMAT_JSON });
    expect(replyFormat(old.format)).to.equal(DIGEST_FORMAT_JSON);
    expect(replyFormat(parseDigestRequest(Buffer.from(JSON.stringify({ id: 7, format: DIGEST_FORMAT_LATEST }))).format)).to.equal(DIGEST_FORMAT_BINARY);
    // A future primary asking for format 9 gets the latest this node writes, which that primary still reads.
    expect(replyFormat(9)).to.equal(DIGEST_FORMAT_LATEST);
    expect(() => parseDigestRequest(Buffer.from(JSON.stringify({ id: 7, format: -1 })))).to.throw(FrameError, /format/);
  });

  it('rejects corrupt binary bodies with a FrameError naming the fault', () => {
    const t = emptyDigestTable();
    t.counts[5] = 3;
    t.counts[9] = 1;
    const good = encodeDigestReply(DIGEST_FORMAT_BINARY, 1, 10, t);
    expectFrameError(Buffer.alloc(0), /empty body/);
    expectFrameError(Buffer.from([3, 0, 0]), /format 3 is not one this node reads/);
    expectFrameError(good.subarray(0, 10), /shorter than its 21-byte header/);
    expectFrameError(good.subarray(0, good.length - 1), /2 slot entries need 57 bytes, the body has 56/);
    expectFrameError(Buffer.concat([good, Buffer.alloc(1)]), /the body has 58/);
    const tooMany = Buffer.from(good);
    tooMany.writeUInt32BE(SLOT_COUNT + 1, 17);
    expectFrameError(tooMany, /16385 slot entries, more than the 16384 slots/);
    const unordered = Buffer.from(good);
    unordered.writeUInt16BE(5, 21 + 18); // second entry's slot equals the first's
    expectFrameError(unordered, /entry 1 has slot 5, not ascending after 5/);
    const outOfRange = Buffer.from(good);
    outOfRange.writeUInt16BE(SLOT_COUNT, 21 + 18);
    expectFrameError(outOfRange, /slot 16384/);
    const zeroCount = Buffer.from(good);
    zeroCount.writeDoubleBE(0, 21 + 2);
    expectFrameError(zeroCount, /entry 0 \(slot 5\) has count 0/);
    const fractional = Buffer.from(good);
    fractional.writeDoubleBE(1.5, 21 + 18 + 2);
    expectFrameError(fractional, /count 1.5/);
    const badSeq = Buffer.from(good);
    badSeq.writeDoubleBE(-1, 9);
    expectFrameError(badSeq, /seq is -1/);
    expectFrameError(Buffer.from('{"id":1,"seq":2,"slots":[{"slot":1,"count":1,"hash":"xyz"}]}'), /hash/);
  });

  it('any corruption of a valid body is a FrameError or decodes to a well-formed table, never a crash of another kind', () => {
    fc.assert(fc.property(tableArb, fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 40 }), (t, at, byte, cut) => {
      const body = Buffer.from(encodeDigestReply(DIGEST_FORMAT_BINARY, 1, 2, t));
      body[at % body.length] = byte;
      const input = body.subarray(0, Math.max(0, body.length - cut));
      try {
        const back = decodeDigestReply(input);
        for (let slot = 0; slot < SLOT_COUNT; slot++) expect(Number.isSafeInteger(back.table.counts[slot])).to.equal(true);
      } catch (err) {
        expect(err).to.be.instanceOf(FrameError);
      }
    }));
  });
});
