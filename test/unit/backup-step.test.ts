/**
 * The controller's backup decisions (operator/core/backup-step.ts) on plain
 * data: where a shard's snapshot is read, how a running job is followed,
 * retried and given up, and when a backup may be finalized.
 */
import { expect } from 'chai';
import type { BackupJobStatus } from '../../common/backup/admin.js';
import type { ReplicationStatus } from '../../common/replication.js';
import type { BackupShardRecord } from '../../operator/core/backup-state.js';
import { allShardsDone, BACKUP_STALL_MS, chooseBackupSource, followShard, KEEP_BACKUP_RECORDS, MAX_BACKUP_ATTEMPTS, newBackupRecord, startRefused, startShard, trimBackups } from '../../operator/core/backup-step.js';
import type { NodeObservation } from '../../operator/core/observation.js';
import { newShard } from '../../operator/core/initial-state.js';

function obs(name: string, status: Partial<ReplicationStatus> | null): NodeObservation {
  return { name, shard: 'shard-0', endpoint: null, running: true, status: status as ReplicationStatus | null, missed: 0, mapEpoch: 1, error: null, restarts: 0 };
}

const shard = newShard('iris', 0, 1, 1);
const primaryStatus = (replicaState: 'online' | 'full_sync'): Partial<ReplicationStatus> => ({
  role: 'primary', replicas: [{ name: 'iris-shard-0-1', connected: true, state: replicaState } as ReplicationStatus['replicas'][number]],
});

describe('backup decisions (operator/core/backup-step.ts)', () => {
  it('reads from a streaming replica, else from the primary, else waits', () => {
    const streaming = new Map([
      ['iris-shard-0-0', obs('iris-shard-0-0', primaryStatus('online'))],
      ['iris-shard-0-1', obs('iris-shard-0-1', { role: 'replica', primary: { state: 'streaming' } as ReplicationStatus['primary'] })],
    ]);
    expect(chooseBackupSource(shard, streaming)).to.equal('iris-shard-0-1');
    const syncing = new Map([...streaming, ['iris-shard-0-0', obs('iris-shard-0-0', primaryStatus('full_sync'))]]);
    expect(chooseBackupSource(shard, syncing)).to.equal('iris-shard-0-0');
    const down = new Map([['iris-shard-0-0', obs('iris-shard-0-0', null)], ['iris-shard-0-1', streaming.get('iris-shard-0-1')!]]);
    expect(chooseBackupSource(shard, down)).to.equal(null);
  });

  const rec = (patch: Partial<BackupShardRecord> = {}): BackupShardRecord => ({
    shard: 'shard-0', state: 'running', node: 'iris-shard-0-1', attempts: 1, manifest: null, seq: null, keys: 0, keysTotal: 0, bytes: 0, lastError: null, seenAt: 1000, ...patch,
  });
  const job = (patch: Partial<BackupJobStatus>): BackupJobStatus => ({
    id: 'b', state: 'running', shard: 'shard-0', seq: 5, keysTotal: 10, keysDone: 4, bytes: 100, chunks: 1, manifest: null, error: null, ...patch,
  });

  it('records progress and completion with the manifest', () => {
    expect(followShard(rec(), { kind: 'status', status: job({}) }, 2000)).to.deep.include({ do: 'record' });
    const done = followShard(rec(), { kind: 'status', status: job({ state: 'completed', keysDone: 10, manifest: { key: 'k', sha256: 's' } }) }, 2000);
    expect(done).to.deep.equal({ do: 'record', shard: rec({ state: 'done', manifest: { key: 'k', sha256: 's' }, seq: 5, keys: 10, keysTotal: 10, bytes: 100, seenAt: 2000 }) });
    // "completed" without a manifest is never taken as done.
    expect(followShard(rec(), { kind: 'status', status: job({ state: 'completed' }) }, 2000)).to.deep.include({ do: 'record' });
    expect((followShard(rec(), { kind: 'status', status: job({ state: 'completed' }) }, 2000) as { shard: BackupShardRecord }).shard.state).to.equal('pending');
  });

  it('starts a failed, lost or silent job again, and gives up after MAX_BACKUP_ATTEMPTS', () => {
    const failed = followShard(rec(), { kind: 'status', status: job({ state: 'failed', error: 'S3 down' }) }, 2000) as { shard: BackupShardRecord };
    expect(failed.shard).to.deep.include({ state: 'pending', node: null, lastError: 'S3 down' });
    expect((followShard(rec(), { kind: 'unknown' }, 2000) as { shard: BackupShardRecord }).shard.lastError).to.contain('restarted');
    expect(followShard(rec(), { kind: 'unreachable', error: 'ECONNREFUSED' }, 1000 + BACKUP_STALL_MS - 1)).to.deep.equal({ do: 'none' });
    expect((followShard(rec(), { kind: 'unreachable', error: 'ECONNREFUSED' }, 1000 + BACKUP_STALL_MS) as { shard: BackupShardRecord }).shard.state).to.equal('pending');
    expect(startShard(rec({ state: 'pending', attempts: 1 }), 'n')).to.deep.equal({ do: 'start', node: 'n' });
    expect(startShard(rec({ state: 'pending', attempts: 1 }), null)).to.deep.equal({ do: 'none' });
    expect(startShard(rec({ state: 'pending', attempts: MAX_BACKUP_ATTEMPTS, lastError: 'boom' }), 'n')).to.deep.include({ do: 'fail' });
  });

  it('a node busy with another backup\'s job: waits without spending an attempt, for at most BACKUP_STALL_MS', () => {
    // The runner records the attempt (attempts + 1, state running) before it asks the node.
    const asked = rec({ state: 'running', attempts: 2, seenAt: 1000 });
    const waiting = startRefused(asked, 'iris-shard-0-1', 'backup old is still running on this node', true, 1000 + BACKUP_STALL_MS - 1);
    expect(waiting).to.include({ state: 'pending', node: null, attempts: 1, seenAt: 1000 });
    expect(waiting.lastError).to.match(/busy with another backup's job .*not counted/);
    // Past the bound it counts, and the next wait is measured from now.
    const counted = startRefused({ ...waiting, state: 'running', attempts: 2 }, 'iris-shard-0-1', 'still running', true, 1000 + BACKUP_STALL_MS);
    expect(counted).to.include({ state: 'pending', attempts: 2, seenAt: 1000 + BACKUP_STALL_MS });
    // Any other refusal is an attempt.
    const other = startRefused(asked, 'iris-shard-0-1', 'bad destination', false, 1500);
    expect(other).to.include({ state: 'pending', attempts: 2, seenAt: 1500, lastError: 'iris-shard-0-1: bad destination' });
  });

  it('is done only when every shard has its manifest', () => {
    const map = { epoch: 1, nodes: [], shards: [{ id: 'shard-0', slots: [[0, 16383]], primary: 'a', replicas: [] }] } as never;
    const b = newBackupRecord('b', { kind: 'file', url: 'file:///x', path: '/x' }, 'gzip', map, 0);
    expect(allShardsDone(b)).to.equal(false);
    expect(allShardsDone({ ...b, shards: [rec({ state: 'done', manifest: { key: 'k', sha256: 's' } })] })).to.equal(true);
    expect(allShardsDone({ ...b, shards: [rec({ state: 'done' })] })).to.equal(false);
  });
});

describe('backup records kept (trimBackups)', () => {
  it('drops the oldest finished manual backups beyond the limit, never running or scheduled ones', () => {
    const b = (id: string, phase: 'Running' | 'Completed' | 'Failed', scheduled = false) => ({ id, phase, scheduled } as never);
    const many = Array.from({ length: KEEP_BACKUP_RECORDS + 3 }, (_, i) => b(`m${i}`, 'Completed'));
    const kept = trimBackups([b('s0', 'Completed', true), ...many, b('r', 'Running')]) as unknown as Array<{ id: string }>;
    expect(kept.map((x) => x.id)).to.include.members(['s0', 'r', `m${KEEP_BACKUP_RECORDS + 2}`]);
    expect(kept.map((x) => x.id)).to.not.include.members(['m0', 'm1', 'm2']);
    expect(kept.length).to.equal(KEEP_BACKUP_RECORDS + 2);
  });
});
