/**
 * The operator's "requests" reconcile step (operator/kube/reconcile/requests.ts)
 * with a recording Kubernetes client and controller: Handling is written
 * before the controller is asked, the outcome after; a request runs once
 * even before the cache shows the step's own writes; a failed first write
 * asks nothing; a request another instance left Handling is reported, not run.
 */
import { expect } from 'chai';
import { silentLogger } from '../../common/logger.js';
import { ControlError, type RequestAccepted } from '../../operator/control-api/types.js';
import type { StepContext } from '../../operator/kube/reconcile/context.js';
import { RequestStep } from '../../operator/kube/reconcile/requests.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { REQUEST_ANNOTATION, type RequestStatus } from '../../operator/kube/request.js';

interface Rig {
  ctx: StepContext;
  log: string[];
  cr: IrisCluster;
  failPatches: number;
  answer: (shard: string) => Promise<RequestAccepted>;
}

function rig(annotation: string | undefined, request?: RequestStatus): Rig {
  const r: Rig = {
    log: [],
    failPatches: 0,
    cr: { metadata: { name: 'iris', namespace: 'db', uid: 'u-1', annotations: annotation === undefined ? {} : { [REQUEST_ANNOTATION]: annotation } }, status: request === undefined ? {} : { request } },
    answer: async (shard) => ({ id: `failover-7`, message: `failover of ${shard} started` }),
    ctx: undefined as unknown as StepContext,
  };
  const client = {
    mergePatch: async (path: string, body: { metadata: { uid: string }; status: { request: RequestStatus } }) => {
      if (r.failPatches > 0) {
        r.failPatches--;
        throw new Error('apiserver unavailable');
      }
      r.log.push(`patch ${path} uid=${body.metadata.uid} ${body.status.request.phase}${body.status.request.operation !== '' ? ` ${body.status.request.operation}` : ''}`);
      return {};
    },
  };
  const controller = {
    failover: (shard: string) => {
      r.log.push(`controller failover ${shard}`);
      return r.answer(shard);
    },
    switchover: async (shard: string, to?: string) => {
      r.log.push(`controller switchover ${shard} ${to ?? ''}`);
      return { id: 'switchover-8', message: `switchover of ${shard} started` };
    },
  };
  r.ctx = {
    client, controller, namespace: 'db', cluster: 'iris', logger: silentLogger(),
    resource: () => r.cr,
    event: (e: { type: string; reason: string; message: string }) => r.log.push(`event ${e.type} ${e.reason}: ${e.message}`),
  } as unknown as StepContext;
  return r;
}

const STATUS_PATH = '/apis/irisdb.io/v1alpha1/namespaces/db/irisclusters/iris/status';

describe('operator: requests through the IrisCluster resource (reconcile step)', () => {
  it('records Handling, asks the controller, records Started with its id, and never asks twice', async () => {
    const r = rig('failover shard-1 id=a1');
    const step = new RequestStep();
    expect(await step.run(r.ctx)).to.deep.equal({ progress: null, problem: null });
    expect(r.log).to.deep.equal([
      `patch ${STATUS_PATH} uid=u-1 Handling`,
      'controller failover shard-1',
      'event Normal FailoverRequested: failover of shard-1: failover of shard-1 started (failover-7)',
      `patch ${STATUS_PATH} uid=u-1 Started failover-7`,
    ]);
    // The cache has not caught up with the writes: still nothing more.
    await step.run(r.ctx);
    expect(r.log).to.have.length(4);
  });

  it('passes the switchover target on', async () => {
    const r = rig('switchover shard-0 to=iris-shard-0-1 id=b');
    await new RequestStep().run(r.ctx);
    expect(r.log[1]).to.equal('controller switchover shard-0 iris-shard-0-1');
    expect(r.log[3]).to.equal(`patch ${STATUS_PATH} uid=u-1 Started switchover-8`);
  });

  it('records a refusal by the controller with a Warning Event', async () => {
    const r = rig('failover shard-9 id=c');
    r.answer = async () => { throw new ControlError('not_found', 'no shard shard-9'); };
    await new RequestStep().run(r.ctx);
    expect(r.log.slice(1)).to.deep.equal([
      'controller failover shard-9',
      'event Warning RequestRefused: failover of shard-9 refused: no shard shard-9',
      `patch ${STATUS_PATH} uid=u-1 Refused`,
    ]);
  });

  it('asks nothing when Handling cannot be recorded, and handles the request on a later pass', async () => {
    const r = rig('failover shard-1 id=d');
    r.failPatches = 1;
    const step = new RequestStep();
    let thrown: unknown;
    await step.run(r.ctx).catch((err: unknown) => { thrown = err; });
    expect((thrown as Error).message).to.equal('apiserver unavailable');
    expect(r.log).to.deep.equal([]);
    await step.run(r.ctx);
    expect(r.log.filter((l) => l.startsWith('controller'))).to.deep.equal(['controller failover shard-1']);
  });

  it('reports a request another operator left Handling as Interrupted instead of running it again', async () => {
    const a = 'failover shard-1 id=e';
    const r = rig(a, { annotation: a, phase: 'Handling', message: '', operation: '', time: '2026-01-01T00:00:00Z' });
    await new RequestStep().run(r.ctx);
    expect(r.log.filter((l) => l.startsWith('controller'))).to.deep.equal([]);
    expect(r.log[0]).to.equal(`patch ${STATUS_PATH} uid=u-1 Interrupted`);
    expect(r.log[1]).to.match(/^event Warning RequestInterrupted: failover shard-1 id=e: the operator stopped while handling this request/);
  });

  it('refuses a malformed annotation once without asking the controller', async () => {
    const r = rig('failover Shard_1 id=x');
    const step = new RequestStep();
    await step.run(r.ctx);
    await step.run(r.ctx);
    expect(r.log).to.deep.equal([
      `patch ${STATUS_PATH} uid=u-1 Refused`,
      'event Warning RequestRefused: irisdb.io/request "failover Shard_1 id=x" is not a request: failover needs a shard id such as shard-1',
    ]);
  });
});
