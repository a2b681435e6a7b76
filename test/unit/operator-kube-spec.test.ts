/**
 * The IrisCluster spec fields the operator honours outside the pod template
 * (test/support/crd-audit.ts points here): shards, replicasPerShard and the
 * live settings (replication.minSyncReplicas and dataDurability,
 * failover.heartbeatMs and failureThreshold) become the core's ClusterSpec,
 * whose changes the scale step hands to the controller; spec.paused stops
 * the steps that change the cluster.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import { clusterSpecOf, settingsChange, type IrisClusterSpec } from '../../operator/kube/iris-cluster.js';
import { PAUSED_PROBLEM, passPlan } from '../../operator/kube/reconcile/pass-plan.js';

describe('operator/kube IrisCluster spec → core spec', () => {
  it('takes shards, replicasPerShard, replication and failover settings from the spec', () => {
    const spec: IrisClusterSpec = {
      shards: 5, replicasPerShard: 2,
      replication: { minSyncReplicas: 2, dataDurability: 'preferred' },
      failover: { heartbeatMs: 250, failureThreshold: 7 },
    };
    expect(clusterSpecOf(spec)).to.deep.equal({ shards: 5, replicasPerShard: 2, minSyncReplicas: 2, heartbeatMs: 250, failureThreshold: 7, dataDurability: 'preferred' });
  });

  it('fills the CRD defaults, which are the core defaults, for an empty or missing spec', () => {
    expect(clusterSpecOf(undefined)).to.deep.equal(DEFAULT_SPEC);
    expect(clusterSpecOf({})).to.deep.equal(DEFAULT_SPEC);
  });

  it('hands a changed live setting to the controller, and nothing when they match (property)', () => {
    const arb = fc.record({
      minSyncReplicas: fc.integer({ min: 0, max: 5 }), dataDurability: fc.constantFrom('required' as const, 'preferred' as const),
      heartbeatMs: fc.integer({ min: 50, max: 60000 }), failureThreshold: fc.integer({ min: 1, max: 100 }),
    });
    fc.assert(fc.property(arb, arb, (a, b) => {
      const want = { ...DEFAULT_SPEC, ...a };
      const have = { ...DEFAULT_SPEC, ...b };
      const change = settingsChange(want, have);
      const differs = (Object.keys(a) as Array<keyof typeof a>).some((k) => a[k] !== b[k]);
      expect(change).to.deep.equal(differs ? a : null);
    }));
    // shards and replicasPerShard are not settings: the scale plan moves them.
    expect(settingsChange({ ...DEFAULT_SPEC, shards: 9, replicasPerShard: 3 }, DEFAULT_SPEC)).to.equal(null);
  });
});

describe('operator/kube spec.paused', () => {
  it('runs every step when not paused', () => {
    for (const spec of [undefined, {}, { paused: false }]) {
      expect(passPlan(spec)).to.deep.equal({ templates: true, scale: true, rollout: true, pausedReport: { progress: null, problem: null } });
    }
  });

  it('skips templates, scale and rollout while paused, and says so in status', () => {
    expect(passPlan({ paused: true, shards: 9 })).to.deep.equal({ templates: false, scale: false, rollout: false, pausedReport: { progress: null, problem: PAUSED_PROBLEM } });
    expect(PAUSED_PROBLEM).to.match(/failover still runs/);
  });
});
