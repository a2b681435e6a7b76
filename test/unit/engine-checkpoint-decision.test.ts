/**
 * After a WAL checkpoint pass (node/engine/checkpoint-decision.ts): another
 * pass at once or a catch-up only when the pass could make progress; a WAL
 * pinned by a reader (a backup's snapshot) waits for the interval.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { afterPass } from '../../node/engine/checkpoint-decision.js';

const opts = { restartFrames: 1000, catchUpMaxWrites: 50 };

describe('engine: what follows a checkpoint pass', () => {
  it('does nothing more while the WAL is small', () => {
    expect(afterPass({ frames: 1000, checkpointed: 1000 }, null, 10_000, opts)).to.equal('idle');
  });

  it('catches up on a large WAL when few writes came in during the pass, else passes again', () => {
    expect(afterPass({ frames: 5000, checkpointed: 4990 }, null, 10, opts)).to.equal('catch-up');
    expect(afterPass({ frames: 5000, checkpointed: 4000 }, null, 5000, opts)).to.equal('again');
    expect(afterPass({ frames: 6000, checkpointed: 5000 }, { frames: 5000, checkpointed: 4000 }, 5000, opts)).to.equal('again');
  });

  it('waits when a reader pins the WAL: nothing more copied than by the previous pass of the same log', () => {
    expect(afterPass({ frames: 9000, checkpointed: 3000 }, { frames: 7000, checkpointed: 3000 }, 5000, opts)).to.equal('idle');
    expect(afterPass({ frames: 9000, checkpointed: 3000 }, { frames: 9000, checkpointed: 3000 }, 10, opts)).to.equal('idle');
  });

  it('passes again after the log restarted (fewer frames than before), even with a smaller copied count', () => {
    expect(afterPass({ frames: 2000, checkpointed: 100 }, { frames: 9000, checkpointed: 3000 }, 5000, opts)).to.equal('again');
  });

  it('never leaves a large WAL alone after a pass that copied more than the previous one', () => {
    fc.assert(fc.property(fc.integer({ min: 1001, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 1e5 }),
      (frames, prevCopied, more, writes) => {
        const pass = { frames, checkpointed: Math.min(frames, prevCopied + more) };
        return afterPass(pass, { frames: Math.min(frames, prevCopied + 1), checkpointed: prevCopied }, writes, opts) !== 'idle';
      }));
  });
});
