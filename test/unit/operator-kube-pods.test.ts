/**
 * What the Kubernetes platform reads off pods (operator/kube/pod-facts.ts)
 * and the role labels it keeps on them (reconcile/role-labels-plan.ts).
 */
import { expect } from 'chai';
import type { V1Pod } from '@kubernetes/client-node';
import { initialState } from '../../operator/core/initial-state.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import { endpointOf, exitedBetween, lastExitOf, podReady, podRunning } from '../../operator/kube/pod-facts.js';
import { planRoleLabels } from '../../operator/kube/reconcile/role-labels-plan.js';

function pod(over: { uid?: string; deleting?: boolean; phase?: string; ip?: string; ready?: boolean; state?: object; lastState?: object; restarts?: number } = {}): V1Pod {
  return {
    metadata: { name: 'iris-shard-0-1', uid: over.uid ?? 'u1', ...(over.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:05Z' as unknown as Date } : {}) },
    status: {
      phase: over.phase ?? 'Running',
      ...(over.ip !== undefined ? { podIP: over.ip } : {}),
      conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
      containerStatuses: [{
        name: 'node', image: 'irisdb/node', imageID: '', ready: over.ready !== false, restartCount: over.restarts ?? 0,
        state: over.state ?? { running: { startedAt: '2026-01-01T00:00:00Z' as unknown as Date } }, ...(over.lastState !== undefined ? { lastState: over.lastState } : {}),
      }],
    },
  };
}

describe('operator/kube pod facts', () => {
  it('gives a node its endpoint once the pod has an IP', () => {
    expect(endpointOf(pod())).to.equal(null);
    expect(endpointOf(pod({ ip: '127.0.100.7' }))).to.deep.equal({ host: '127.0.100.7', port: 6379, busPort: 16379, httpUrl: 'http://127.0.100.7:8080' });
    expect(endpointOf(pod({ ip: 'fd00::7' }))?.httpUrl).to.equal('http://[fd00::7]:8080');
    // spec.tls pods run --tls-http yes: reached over https.
    const tlsPod = { ...pod({ ip: '127.0.100.7' }), spec: { containers: [{ name: 'node', args: ['--port', '0', '--tls-http', 'yes'] }] } };
    expect(endpointOf(tlsPod)?.httpUrl).to.equal('https://127.0.100.7:8080');
  });

  it('counts a starting pod as running, and a deleted, finished or crashed one as not', () => {
    expect(podRunning(pod())).to.equal(true);
    expect(podRunning(pod({ phase: 'Pending', state: { waiting: { reason: 'ContainerCreating' } } }))).to.equal(true);
    expect(podRunning(pod({ deleting: true }))).to.equal(false);
    expect(podRunning(pod({ phase: 'Failed' }))).to.equal(false);
    expect(podRunning(pod({ state: { terminated: { exitCode: 1 } } }))).to.equal(false);
    expect(podRunning(pod({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, finishedAt: '2026-01-01T00:00:09Z' } }, restarts: 1 }))).to.equal(false);
    expect(podReady(pod({ deleting: true }))).to.equal(false);
  });

  it('sees an exit when a pod starts being deleted, or its container restarts or stops', () => {
    expect(exitedBetween(pod(), pod({ deleting: true }))).to.equal(true);
    expect(exitedBetween(pod({ deleting: true }), pod({ deleting: true })), 'reported once').to.equal(false);
    expect(exitedBetween(pod(), pod({ restarts: 1 }))).to.equal(true);
    expect(exitedBetween(pod(), pod({ state: { terminated: { exitCode: 0 } } }))).to.equal(true);
    expect(exitedBetween(pod(), pod({ ip: '127.0.100.9' }))).to.equal(false);
    expect(exitedBetween(undefined, pod())).to.equal(false);
    expect(exitedBetween(pod({ uid: 'old' }), pod({ uid: 'new' })), 'a new pod of the same name').to.equal(false);
    expect(lastExitOf(pod({ lastState: { terminated: { exitCode: 137, finishedAt: '2026-01-01T00:00:09Z' } } }))).to.equal(Date.UTC(2026, 0, 1, 0, 0, 9));
  });
});

describe('operator/kube role labels', () => {
  it('labels each member pod primary or replica as the controller records, skipping correct and terminating ones', () => {
    const st = initialState('iris', { ...DEFAULT_SPEC, shards: 2, replicasPerShard: 1 });
    const moved = { ...st, shards: st.shards.map((s) => (s.index === 1 ? { ...s, currentPrimary: 'iris-shard-1-1' } : s)) };
    const changes = planRoleLabels(moved, [
      { name: 'iris-shard-0-0', role: 'primary', deleting: false },
      { name: 'iris-shard-0-1', role: undefined, deleting: false },
      { name: 'iris-shard-1-0', role: 'primary', deleting: false },
      { name: 'iris-shard-1-1', role: 'replica', deleting: false },
      { name: 'iris-shard-2-0', role: undefined, deleting: false },
    ]);
    expect(changes).to.deep.equal([
      { pod: 'iris-shard-0-1', role: 'replica' },
      { pod: 'iris-shard-1-0', role: 'replica' },
      { pod: 'iris-shard-1-1', role: 'primary' },
    ]);
    expect(planRoleLabels(moved, [{ name: 'iris-shard-1-0', role: 'primary', deleting: true }])).to.deep.equal([]);
  });
});
