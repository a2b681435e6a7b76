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
import { unsupportedFields, unsupportedReport } from '../../operator/kube/reconcile/unsupported.js';

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

describe('operator/kube unsupported fields stored before admission refused them', () => {
  // The CRD refuses them now; an object stored under an older CRD keeps them until its spec is next edited, so the operator says so too.
  it('names each field set that the operator ignores, with why', () => {
    const spec = {
      shards: 3, backup: { schedule: '@daily' }, bootstrap: { fromBackup: { name: 'b' } }, auth: { secretRef: { name: 'pw' } },
      tls: { enabled: false, secretRef: { name: 't' } }, monitoring: { enabled: true, serviceMonitor: false },
    };
    expect(unsupportedFields(spec).map((f) => f.field)).to.deep.equal(['spec.tls', 'spec.monitoring']);
    expect(unsupportedFields(spec).find((f) => f.field === 'spec.tls')?.why).to.match(/tls\.enabled is not/);
    expect(unsupportedReport(spec).problem).to.match(/^spec\.tls is not supported yet .*; spec\.monitoring is not supported yet/);
  });

  it('says nothing for a spec the operator honours in full, defaults included', () => {
    const secured = { auth: { secretRef: { name: 'pw' } }, tls: { enabled: true, secretRef: { name: 't' } } };
    // Backups, archiving and bootstrap from a backup run (operator/kube/backup/): no Degraded warning for them.
    const backedUp = { backup: { schedule: '@daily', destination: { pvc: { claimName: 'b' } } }, bootstrap: { fromBackup: { name: 'b', pointInTime: '2026-12-06T00:00:00Z' } } };
    for (const spec of [undefined, {}, { shards: 2, tls: { enabled: false }, monitoring: { enabled: false, serviceMonitor: false } }, secured, { tls: { enabled: true } }, backedUp]) {
      expect(unsupportedFields(spec), JSON.stringify(spec)).to.deep.equal([]);
      expect(unsupportedReport(spec)).to.deep.equal({ progress: null, problem: null });
    }
    expect(unsupportedFields({ tls: { secretRef: { name: 't' } } }).map((f) => f.field)).to.deep.equal(['spec.tls']);
    expect(unsupportedFields({ monitoring: { serviceMonitor: true } }).map((f) => f.field)).to.deep.equal(['spec.monitoring']);
  });
});
