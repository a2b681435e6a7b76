import { expect } from 'chai';
import { recoverabilityStatus } from '../../operator/core/recoverability.js';
import { renderRecoverability } from '../../operator/cli/render-recoverability.js';
import type { ArchiveWindow } from '../../common/backup/window.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();

const WINDOW: ArchiveWindow = {
  destination: 'file:///var/backups/iris',
  oldestBackup: 'backup-20261206T030000Z-1',
  firstRecoverabilityPoint: iso(NOW - 9 * 3_600_000),
  shards: [
    { shard: 'shard-0', segments: 12, lastArchivedSeq: 900, lastArchivedTime: iso(NOW - 5_000) },
    { shard: 'shard-1', segments: 10, lastArchivedSeq: 700, lastArchivedTime: iso(NOW - 90_000) },
  ],
};

describe('recoverability window in status (operator/core/recoverability.ts)', () => {
  it('reports the window from the oldest backup to the earliest last archived write, and each shard\'s lag', () => {
    const r = recoverabilityStatus(WINDOW, new Map([['shard-0', 900], ['shard-1', 750]]), ['shard-0', 'shard-1'], NOW, NOW - 1000);
    expect(r.firstRecoverabilityPoint).to.equal(WINDOW.firstRecoverabilityPoint);
    expect(r.lastArchivedTime, 'the latest point every shard reaches').to.equal(iso(NOW - 90_000));
    expect(r.shards.map((s) => [s.shard, s.lagSequences, s.lagSeconds])).to.deep.equal([['shard-0', 0, 0], ['shard-1', 50, 90]]);
    expect(r.readAt).to.equal(iso(NOW - 1000));
    expect(r.error).to.equal(null);
  });

  it('says unknown for a primary whose position is unknown, and no cluster-wide end while a shard has nothing archived', () => {
    const r = recoverabilityStatus(WINDOW, new Map([['shard-0', null]]), ['shard-0', 'shard-1', 'shard-2'], NOW, NOW, 'ECONNREFUSED');
    expect(r.shards[0]!.lagSequences).to.equal(null);
    expect(r.shards[0]!.lagSeconds).to.equal(null);
    expect(r.lastArchivedTime).to.equal(null);
    expect(r.error).to.equal('ECONNREFUSED');
  });

  it('never reports a negative lag (a listing older than the head it is compared with goes the other way)', () => {
    const r = recoverabilityStatus(WINDOW, new Map([['shard-0', 10], ['shard-1', 700]]), ['shard-0', 'shard-1'], NOW - 100_000, NOW);
    expect(r.shards.map((s) => [s.lagSequences, s.lagSeconds])).to.deep.equal([[0, 0], [0, 0]]);
  });

  it('renders for irisctl status', () => {
    const r = recoverabilityStatus(WINDOW, new Map([['shard-0', 900], ['shard-1', 750]]), ['shard-0', 'shard-1'], NOW, NOW);
    const text = renderRecoverability(r, false).join('\n');
    expect(text).to.include(`from ${WINDOW.firstRecoverabilityPoint} (backup backup-20261206T030000Z-1 finished) to ${iso(NOW - 90_000)}`);
    expect(text).to.include('shard-0: archived to');
    expect(text).to.match(/shard-0: .*caught up/);
    expect(text).to.match(/shard-1: .*50 seqs \/ 90 s behind/);
    const none = renderRecoverability({ ...r, firstRecoverabilityPoint: null, oldestBackup: null }, false).join('\n');
    expect(none).to.include('no complete backup: nothing can be restored yet');
    expect(renderRecoverability(null, false)).to.deep.equal([]);
  });
});
