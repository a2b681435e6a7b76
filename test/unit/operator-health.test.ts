/**
 * Heartbeat accounting (operator/core/health.ts): misses in a row, when a
 * primary counts as failed and why, and the per-node predicates status uses.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ReplicationStatus } from '../../common/replication.js';
import { downReason, failureDelayMs, missedHeartbeats, missedTooMany, nodeUp, primaryFailure, replicaStreaming, silentTooLong } from '../../operator/core/health.js';
import type { NodeObservation } from '../../operator/core/observation.js';

function obs(over: Partial<NodeObservation> = {}): NodeObservation {
  return { name: 'c-shard-0-1', shard: 'shard-0', endpoint: null, running: true, status: null, missed: 0, mapEpoch: null, error: null, restarts: 0, ...over };
}

const replicaStatus = (state: 'streaming' | 'connecting'): ReplicationStatus => ({
  name: 'c-shard-0-1', role: 'replica', epoch: 1, lastSeq: 0, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: 0, ackTimeoutMs: 1000,
  declaredReplicas: [], replicas: [], backlog: { firstSeq: 1, lastSeq: 0 }, pendingAcks: 0, loading: false, declaredSeq: 0,
  primary: { name: 'c-shard-0-0', host: '127.0.0.1', busPort: 1, respHost: null, respPort: null, state, lastError: null, fullSyncs: 0, partialSyncs: 0, loading: null },
});

describe('operator/core/health', () => {
  it('counts whole silent intervals as misses, at least one without an answer, none with one (property)', () => {
    fc.assert(fc.property(fc.nat(100_000), fc.integer({ min: 50, max: 5000 }), (silentForMs, heartbeatMs) => {
      expect(missedHeartbeats(true, silentForMs, heartbeatMs)).to.equal(0);
      const missed = missedHeartbeats(false, silentForMs, heartbeatMs);
      expect(missed).to.equal(Math.max(1, Math.floor(silentForMs / heartbeatMs)));
    }));
  });

  it('fails a node after failureThreshold misses or failureThreshold intervals of silence, the same moment either way (property)', () => {
    fc.assert(fc.property(fc.nat(100_000), fc.integer({ min: 50, max: 5000 }), fc.integer({ min: 2, max: 100 }), (silentForMs, heartbeatMs, failureThreshold) => {
      const spec = { heartbeatMs, failureThreshold };
      expect(failureDelayMs(spec)).to.equal(heartbeatMs * failureThreshold);
      expect(missedTooMany(missedHeartbeats(false, silentForMs, heartbeatMs), failureThreshold)).to.equal(silentTooLong(silentForMs, spec));
    }));
  });

  it('fails a primary at failureThreshold misses, not before', () => {
    const base = { failureThreshold: 3, running: true, exitedSinceLastAnswer: false };
    expect(primaryFailure({ ...base, missed: 2 })).to.equal(null);
    expect(primaryFailure({ ...base, missed: 3 })).to.equal('missed 3 heartbeats in a row (failureThreshold 3)');
    expect(primaryFailure({ ...base, missed: 7 })).to.equal('missed 7 heartbeats in a row (failureThreshold 3)');
  });

  it('fails a primary at once when the platform says its process exited, even if it is running again', () => {
    const base = { missed: 0, failureThreshold: 3 };
    expect(primaryFailure({ ...base, running: false, exitedSinceLastAnswer: false })).to.equal('the platform reports its process exited');
    expect(primaryFailure({ ...base, running: true, exitedSinceLastAnswer: true })).to.equal('the platform reports its process exited');
  });

  it('tells up, streaming and why a node is down', () => {
    expect(nodeUp(obs())).to.equal(false);
    expect(nodeUp(obs({ status: replicaStatus('connecting') }))).to.equal(true);
    expect(replicaStreaming(obs({ status: replicaStatus('streaming') }))).to.equal(true);
    expect(replicaStreaming(obs({ status: replicaStatus('connecting') }))).to.equal(false);
    expect(replicaStreaming(obs())).to.equal(false);
    expect(downReason(obs({ running: false, error: 'x' }))).to.equal('its process is not running');
    expect(downReason(obs({ missed: 1, error: 'connect ECONNREFUSED' }))).to.equal('missed 1 heartbeat: connect ECONNREFUSED');
    expect(downReason(obs({ missed: 4 }))).to.equal('missed 4 heartbeats');
    expect(downReason(obs())).to.equal('no answer yet');
  });
});
