/** LCS (node/commands/lcs.ts): the pure walk, and the transient-memory limit through the dispatcher. */
import { expect } from 'chai';
import fc from 'fast-check';
import { lcs } from '../../node/commands/lcs.js';
import type { Reply } from '../../node/resp/reply.js';
import type { NodeConfig } from '../../node/config/schema.js';
import { engineFixture } from '../support/engine-fixture.js';
import { clusterServerFixture } from '../support/cluster-harness.js';

/** Length of the longest common subsequence, the textbook way. */
function modelLen(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const cur = [0];
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  return prev[b.length]!;
}

const isSubsequence = (s: string, of: string): boolean => {
  let k = 0;
  for (const ch of of) if (k < s.length && s[k] === ch) k++;
  return k === s.length;
};

describe('LCS', () => {
  const fx = engineFixture();

  it('finds a common subsequence of maximal length; the ranges cover it', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 12 }),
      fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 12 }), (a, b) => {
        const r = lcs(Buffer.from(a), Buffer.from(b));
        const t = r.text.toString();
        expect(t.length).to.equal(modelLen(a, b));
        expect(isSubsequence(t, a) && isSubsequence(t, b)).to.equal(true);
        expect(r.matches.reduce((n, m) => n + m.len, 0)).to.equal(t.length);
        for (const m of r.matches) expect(a.slice(m.a[0], m.a[1] + 1)).to.equal(b.slice(m.b[0], m.b[1] + 1));
      }), { numRuns: 1000 });
  });

  it('refuses a table larger than maxBulkBytes (proto-max-bulk-len) with Redis\'s error', () => {
    const f = clusterServerFixture(fx.open(), 'a0');
    (f.server.config as { maxBulkBytes: number } & NodeConfig).maxBulkBytes = 4 * 11 * 11; // a 10×10 table fits, 10×11 not
    const c = f.client();
    f.run(c, 'MSET', 'a', 'x'.repeat(10), 'b', 'x'.repeat(10));
    expect((f.run(c, 'LCS', 'a', 'b', 'LEN') as Reply)).to.deep.equal({ kind: 'integer', value: 10 });
    f.run(c, 'SET', 'b', 'x'.repeat(11));
    expect((f.run(c, 'LCS', 'a', 'b') as Reply)).to.deep.equal(
      { kind: 'error', value: 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len' });
  });
});
