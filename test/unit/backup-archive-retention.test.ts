import { expect } from 'chai';
import fc from 'fast-check';
import { planReplay } from '../../common/backup/segment-plan.js';
import { archiveRetention, type ArchivedSegment, type KeptBackup } from '../../operator/core/archive-retention.js';

function seg(shard: string, firstSeq: number, lastSeq: number, epoch = 1): ArchivedSegment {
  return { shard, firstSeq, lastSeq, epoch, key: `archive/${shard}/${firstSeq}-${lastSeq}-e${epoch}.irseg` };
}
const backup = (id: string, seqs: Record<string, number>): KeptBackup => ({ id, shardSeqs: new Map(Object.entries(seqs)) });

describe('archive retention (operator/core/archive-retention.ts)', () => {
  const shard0 = [seg('shard-0', 1, 100), seg('shard-0', 101, 200), seg('shard-0', 201, 300), seg('shard-0', 301, 400)];

  it('deletes the segments wholly at or below the oldest kept backup\'s sequence, lowest first', () => {
    const [r] = archiveRetention(shard0, [backup('b2', { 'shard-0': 350 }), backup('b1', { 'shard-0': 250 })]);
    expect(r!.delete).to.deep.equal([shard0[0]!.key, shard0[1]!.key]);
    expect(r!.kept).to.equal(2);
    expect(r!.held).to.equal(null);
  });

  it('keeps the segment holding the first sequence a backup replays (its snapshot ends mid-segment)', () => {
    const [r] = archiveRetention(shard0, [backup('b1', { 'shard-0': 150 })]);
    expect(r!.delete).to.deep.equal([shard0[0]!.key]);
  });

  it('deletes nothing without a complete backup, for a shard a kept backup lacks, or when a kept backup\'s replay has a gap', () => {
    expect(archiveRetention(shard0, [])[0]!.delete).to.deep.equal([]);
    const other = archiveRetention([...shard0, seg('shard-1', 1, 50)], [backup('b1', { 'shard-0': 400 })]);
    expect(other.find((r) => r.shard === 'shard-1')!.delete).to.deep.equal([]);
    expect(other.find((r) => r.shard === 'shard-1')!.held).to.match(/no snapshot of shard-1/);
    const gap = archiveRetention([seg('shard-0', 1, 100), seg('shard-0', 201, 300)], [backup('b1', { 'shard-0': 150 })]);
    expect(gap[0]!.delete).to.deep.equal([]);
    expect(gap[0]!.held).to.match(/gap/);
  });

  it('keeps an older epoch\'s segment a newer epoch does not override, and deletes the overridden part below the floor', () => {
    // The old primary archived 1-200; the new one (epoch 2) continued from 151 (151-200 of epoch 1 were never acknowledged).
    const segs = [seg('shard-0', 1, 100, 1), seg('shard-0', 101, 200, 1), seg('shard-0', 151, 250, 2), seg('shard-0', 251, 300, 2)];
    const [r] = archiveRetention(segs, [backup('b1', { 'shard-0': 120 })]);
    expect(r!.delete).to.deep.equal([segs[0]!.key]);
    const [later] = archiveRetention(segs, [backup('b1', { 'shard-0': 260 })]);
    expect(later!.delete).to.deep.equal([segs[0]!.key, segs[1]!.key, segs[2]!.key]);
  });

  it('keeps each shard\'s newest segment (where archiving continues), even below a newer backup', () => {
    const [r] = archiveRetention(shard0, [backup('b1', { 'shard-0': 500 })]);
    expect(r!.delete).to.deep.equal(shard0.slice(0, 3).map((s) => s.key));
    expect(r!.kept).to.equal(1);
  });

  it('caps the deletions per shard and round', () => {
    const many = Array.from({ length: 50 }, (_, i) => seg('shard-0', i * 10 + 1, i * 10 + 10));
    expect(archiveRetention(many, [backup('b', { 'shard-0': 500 })], 7)[0]!.delete).to.have.length(7);
  });

  it('never changes what a kept backup replays, after any prefix of the deletions (property)', () => {
    // Archives with failovers: each epoch starts at or below where the previous one ended, segments contiguous within an epoch.
    const archive = fc.array(fc.record({ back: fc.integer({ min: 0, max: 30 }), sizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 4 });
    fc.assert(fc.property(archive, fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 3 }), (epochs, seqs) => {
      const segs: ArchivedSegment[] = [];
      let next = 1;
      epochs.forEach((e, i) => {
        let at = Math.max(1, next - e.back);
        for (const size of e.sizes) {
          segs.push(seg('shard-0', at, at + size - 1, i + 1));
          at += size;
        }
        next = at;
      });
      const kept = seqs.map((s, i) => backup(`b${i}`, { 'shard-0': s }));
      const plan = (list: readonly ArchivedSegment[], start: number): string => {
        try {
          return JSON.stringify(planReplay('shard-0', list, start));
        } catch (err) {
          return (err as Error).name;
        }
      };
      const [r] = archiveRetention(segs, kept);
      const gone = new Set<string>();
      for (const key of ['', ...r!.delete]) {
        if (key !== '') gone.add(key);
        const left = segs.filter((s) => !gone.has(s.key));
        for (const s of seqs) expect(plan(left, s + 1), `start ${s + 1} without ${[...gone].join(',')}`).to.equal(plan(segs, s + 1));
      }
    }), { numRuns: 300 });
  });
});
