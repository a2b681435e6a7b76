/**
 * Archived log segments (common/backup/segment.ts), the replay plan
 * (segment-plan.ts), the log's retention floor and --point-in-time on
 * the command line (issue #15). Pure.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeSegment, encodeSegment, parseSegmentKey, segmentKey, SegmentFormatError, type SegmentRecord } from '../../common/backup/segment.js';
import { ArchiveGapError, lastArchivedSeq, planReplay } from '../../common/backup/segment-plan.js';
import { retentionKeepFrom } from '../../node/replication/log.js';
import { parseCommandLine } from '../../operator/cli/args.js';
import { UsageError } from '../../operator/cli/errors.js';

const recordsArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 42 }), fc.uint8Array({ maxLength: 64 })), { minLength: 1, maxLength: 12 })
  .chain((parts) => fc.integer({ min: 1, max: 1_000_000 }).map((start) => {
    let seq = start;
    return parts.map(([gap, len, t, bytes]): SegmentRecord => {
      const firstSeq = seq + gap - 1;
      seq = firstSeq + len + 1;
      return { firstSeq, lastSeq: firstSeq + len, committedAt: t, batch: Buffer.from(bytes) };
    });
  }));

describe('archive segments', () => {
  it('round-trip any records and epoch', () => {
    fc.assert(fc.property(recordsArb, fc.integer({ min: 0, max: 2 ** 31 }), (records, epoch) => {
      const got = decodeSegment(encodeSegment({ epoch, records }), 'x');
      expect(got.epoch).to.equal(epoch);
      expect(got.records.map((r) => ({ ...r, batch: Buffer.from(r.batch) }))).to.deep.equal(records.map((r) => ({ ...r, batch: Buffer.from(r.batch) })));
    }));
  });

  it('detect any flipped byte, naming the object', () => {
    fc.assert(fc.property(recordsArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (records, at, bit) => {
      const body = encodeSegment({ epoch: 3, records });
      body[at % body.length]! ^= 1 << bit;
      expect(() => decodeSegment(body, 'file:///b/archive/shard-0/x.irseg')).to.throw(SegmentFormatError, 'file:///b/archive/shard-0/x.irseg');
    }));
  });

  it('refuse truncated objects and never decode garbage as a segment', () => {
    const body = encodeSegment({ epoch: 1, records: [{ firstSeq: 1, lastSeq: 2, committedAt: 5, batch: Buffer.from('ab') }] });
    for (let n = 0; n < body.length; n++) expect(() => decodeSegment(body.subarray(0, n), 'o')).to.throw(SegmentFormatError);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      expect(() => decodeSegment(Buffer.from(b), 'o')).to.throw(SegmentFormatError);
    }));
  });

  it('refuse records out of order when writing', () => {
    expect(() => encodeSegment({ epoch: 1, records: [] })).to.throw(RangeError);
    const r = (firstSeq: number, lastSeq: number): SegmentRecord => ({ firstSeq, lastSeq, committedAt: 1, batch: Buffer.alloc(0) });
    expect(() => encodeSegment({ epoch: 1, records: [r(5, 6), r(6, 7)] })).to.throw(RangeError, 'out of order');
    expect(() => encodeSegment({ epoch: 1, records: [r(5, 4)] })).to.throw(RangeError, 'bad sequence range');
  });

  it('name objects so that they sort by first sequence, and parse names back', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 50 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom('shard-0', 'shard-12'), (first, len, epoch, shard) => {
      const n = { shard, firstSeq: first, lastSeq: first + len, epoch };
      expect(parseSegmentKey(segmentKey(n))).to.deep.equal(n);
    }));
    expect(segmentKey({ shard: 'shard-0', firstSeq: 9, lastSeq: 10, epoch: 1 }) < segmentKey({ shard: 'shard-0', firstSeq: 10, lastSeq: 10, epoch: 0 })).to.equal(true);
    for (const k of ['archive/shard-0/x.irseg', 'archive/shard-0/0000000000000002-0000000000000001-e0000000001.irseg', 'archive/a/b/0000000000000001-0000000000000001-e0000000001.irseg', 'other']) expect(parseSegmentKey(k), k).to.equal(null);
    expect(() => segmentKey({ shard: '../x', firstSeq: 1, lastSeq: 1, epoch: 0 })).to.throw(RangeError);
  });
});

describe('archive replay plan', () => {
  const seg = (firstSeq: number, lastSeq: number, epoch: number) => ({ shard: 's', firstSeq, lastSeq, epoch, key: `${firstSeq}-${lastSeq}-e${epoch}` });

  it('replays from the backup end on, contiguous, skipping what the backup holds', () => {
    const plan = planReplay('s', [seg(1, 10, 1), seg(11, 20, 1), seg(21, 25, 1)], 15);
    expect(plan).to.deep.equal([{ key: '11-20-e1', fromSeq: 15, toSeq: 20 }, { key: '21-25-e1', fromSeq: 21, toSeq: 25 }]);
    expect(planReplay('s', [seg(1, 10, 1)], 11)).to.deep.equal([]);
    expect(planReplay('s', [], 1)).to.deep.equal([]);
  });

  it('fails on a hole, naming the segments around it', () => {
    expect(() => planReplay('s', [seg(1, 10, 1), seg(21, 25, 1)], 1)).to.throw(ArchiveGapError, 'seq 11 (after 1-10-e1, next is 21-25-e1)');
    expect(() => planReplay('s', [seg(5, 10, 1)], 2)).to.throw(ArchiveGapError, 'seq 2');
  });

  it('lets a newer epoch supersede what an older one archived from its first sequence on', () => {
    // The old primary archived 1..30; the new one (epoch 2) held only up to 24 and wrote 25.. again.
    const plan = planReplay('s', [seg(1, 20, 1), seg(21, 30, 1), seg(25, 40, 2)], 1);
    expect(plan).to.deep.equal([{ key: '1-20-e1', fromSeq: 1, toSeq: 20 }, { key: '21-30-e1', fromSeq: 21, toSeq: 24 }, { key: '25-40-e2', fromSeq: 25, toSeq: 40 }]);
    // A straddling first batch of the new epoch (it starts below the archived end): no duplicate, no hole.
    expect(planReplay('s', [seg(1, 20, 1), seg(18, 30, 2), seg(31, 35, 2)], 1)).to.deep.equal([
      { key: '1-20-e1', fromSeq: 1, toSeq: 17 }, { key: '18-30-e2', fromSeq: 18, toSeq: 30 }, { key: '31-35-e2', fromSeq: 31, toSeq: 35 },
    ]);
    // A zombie old primary archiving after the failover is ignored past the new epoch's start.
    expect(planReplay('s', [seg(1, 20, 1), seg(21, 30, 2), seg(21, 28, 1), seg(29, 50, 1)], 1).map((p) => p.key)).to.deep.equal(['1-20-e1', '21-30-e2']);
  });

  it('covers every sequence exactly once for any segmentation without holes', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 100 }), (lens, start) => {
      const segs = [];
      let s = 1;
      for (const l of lens) {
        segs.push(seg(s, s + l - 1, 1));
        s += l;
      }
      const plan = planReplay('s', segs, start);
      const covered = plan.flatMap((p) => Array.from({ length: p.toSeq - p.fromSeq + 1 }, (_, i) => p.fromSeq + i));
      const want = Array.from({ length: Math.max(0, s - start) }, (_, i) => start + i);
      expect(covered).to.deep.equal(want);
      expect(lastArchivedSeq(segs)).to.equal(s - 1);
    }));
  });
});

describe('log retention with an archive', () => {
  it('keeps what the archive has not stored, unless the archive let go', () => {
    expect(retentionKeepFrom(1000, null)).to.equal(1000);
    expect(retentionKeepFrom(1000, 400)).to.equal(400);
    expect(retentionKeepFrom(300, 400)).to.equal(300);
  });
});

describe('local up --point-in-time and --archive-destination', () => {
  it('parses an RFC 3339 time with a zone', () => {
    const c = parseCommandLine(['local', 'up', '--restore-from', 'file:///b', '--point-in-time', '2026-12-06T10:30:00.250+01:00', '--archive-destination', 'file:///a']);
    expect(c).to.deep.include({ archiveDestination: 'file:///a' });
    expect((c as { restore: { pointInTime: number } }).restore.pointInTime).to.equal(Date.UTC(2026, 11, 6, 9, 30, 0, 250));
  });

  it('backup window needs a destination', () => {
    expect(parseCommandLine(['backup', 'window', '--destination', 'file:///b'])).to.deep.include({ kind: 'backup', action: 'window', destination: 'file:///b' });
    expect(() => parseCommandLine(['backup', 'window'])).to.throw(UsageError, '--destination');
  });

  it('refuses a time without a zone, nonsense, or without --restore-from', () => {
    for (const bad of [['--restore-from', 'file:///b', '--point-in-time', '2026-12-06T10:30:00'], ['--restore-from', 'file:///b', '--point-in-time', 'yesterday'], ['--point-in-time', '2026-12-06T10:30:00Z']]) {
      expect(() => parseCommandLine(['local', 'up', ...bad]), bad.join(' ')).to.throw(UsageError, '--point-in-time');
    }
  });
});
