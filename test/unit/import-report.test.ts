/** irisctl import's progress line, report and verification sample (issue #19), on plain data. */
import { expect } from 'chai';
import { emptyCounts, importProgressLine, importReport } from '../../operator/import/import-counts.js';
import { ProgressLine } from '../../operator/import/progress.js';
import { Reservoir } from '../../operator/import/verify.js';

describe('import: progress and report', () => {
  const counts = { ...emptyCounts(), scanned: 420_000, copied: 419_990, withTtl: 42_000, skippedByType: { list: 7, hash: 3 } };

  it('a terminal line has a bar and fits the width; a plain line has no escape codes', () => {
    const tty = importProgressLine(counts, 1_000_000, 11_250, { tty: true, width: 200 });
    expect(tty).to.match(/^\[#{8}\.{12}\]  42% 420,000\/1,000,000 keys scanned · 419,990 copied \(42,000 with TTL\) · 10 not strings \(list 7, hash 3\) · 11,250 keys\/s$/);
    expect(importProgressLine(counts, 1_000_000, 1, { tty: true, width: 40 }).length).to.be.at.most(39);
    const plain = importProgressLine(counts, 0, 5, { tty: false, width: 80 });
    expect(plain).to.equal('420,000 keys scanned · 419,990 copied (42,000 with TTL) · 10 not strings (list 7, hash 3) · 5 keys/s');
  });

  it('the report counts other types by type and lists differing keys', () => {
    const text = importReport(counts, 10, { checked: 1000, mismatches: ['"a": value differs'] });
    expect(text).to.include('not copied (type):   list 7, hash 3');
    expect(text).to.include('verified:            1,000 keys, 1 differ');
    expect(text).to.include('  differs: "a": value differs');
    expect(importReport(emptyCounts(), 1, null)).to.include('not copied (type):   none');
  });

  it('plain output is throttled; a terminal redraws in place', () => {
    let now = 0;
    const out: string[] = [];
    const plain = new ProgressLine({ write: (t: string) => out.push(t) }, 5000, () => now);
    plain.update(() => 'a');
    now = 1000;
    plain.update(() => 'b');
    plain.update(() => 'c', true);
    expect(out).to.deep.equal(['a\n', 'c\n']);
    const drawn: string[] = [];
    const tty = new ProgressLine({ write: (t: string) => drawn.push(t), isTTY: true, columns: 100 }, 5000, () => now);
    tty.update(() => 'x');
    tty.done();
    expect(drawn).to.deep.equal(['\r\u001b[2Kx', '\n']);
  });

  it('the verification sample is uniform over everything offered', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const hits = new Array<number>(10).fill(0);
    for (let round = 0; round < 2000; round++) {
      const r = new Reservoir<number>(5, random);
      for (let i = 0; i < 10; i++) r.offer(i);
      for (const x of r.items) hits[x]!++;
    }
    // Each of 10 items is kept with probability 1/2: 1000 of 2000 rounds, give or take sampling noise.
    for (const h of hits) expect(h).to.be.within(850, 1150);
  });
});
