/**
 * `irisctl --kube CLUSTER re-encrypt` (issue #14): the request text
 * `re-encrypt id=ID`, the command line, the status message built from the
 * nodes' progress, and the operator's requests step starting the job on
 * every node and writing its progress into status.request until done — with
 * a recording client and a fake node side (ReencryptRequests is injected).
 */
import { expect } from 'chai';
import type { EncryptionStatus, ReencryptState } from '../../common/encryption-admin.js';
import { silentLogger } from '../../common/logger.js';
import { parseKubeCommandLine } from '../../operator/cli/kube-args.js';
import type { NodeReencrypt } from '../../operator/cli/run-reencrypt.js';
import type { StepContext } from '../../operator/kube/reconcile/context.js';
import { REENCRYPT_DONE, REENCRYPT_FAILED, ReencryptRequests, reencryptFinished, reencryptMessage } from '../../operator/kube/reconcile/reencrypt-request.js';
import { RequestStep } from '../../operator/kube/reconcile/requests.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { formatRequest, parseRequest, REQUEST_ANNOTATION, type RequestStatus } from '../../operator/kube/request.js';

function node(name: string, state: ReencryptState, done: number, total: number, error: string | null = null): NodeReencrypt {
  const status: EncryptionStatus = {
    enabled: true, activeKeyId: 'k2', keyIds: ['k1', 'k2'], valuesByKeyId: null,
    reencrypt: { state, targetKeyId: 'k2', doneKeys: done, totalKeys: total, rewrittenKeys: done, rewrittenLogBatches: 0, startedAt: 1, finishedAt: state === 'done' ? 2 : null, error },
  };
  return { node: name, status };
}

describe('irisctl --kube re-encrypt', () => {
  it('is the request "re-encrypt id=ID" (no shard), refused with anything else', () => {
    expect(formatRequest({ id: 'ab12', verb: 're-encrypt' })).to.equal('re-encrypt id=ab12');
    expect(parseRequest('re-encrypt id=ab12')).to.deep.equal({ id: 'ab12', verb: 're-encrypt' });
    expect(() => parseRequest('re-encrypt shard-1 id=ab12')).to.throw(/re-encrypt takes only id=ID/);
    expect(() => parseRequest('re-encrypt id=AB')).to.throw(/needs id=ID/);
    expect(() => parseRequest('re-encrypt')).to.throw(/re-encrypt takes only id=ID/);
    expect(() => parseRequest('rekey id=a')).to.throw(/expected failover, switchover, re-encrypt or rotate-ca/);
  });

  it('parses on the command line with --wait and --timeout; local-only flags are refused', () => {
    expect(parseKubeCommandLine(['-n', 'db', 'iris', 're-encrypt', '--wait', '--timeout', '10m'])).to.deep.include({ kind: 're-encrypt', wait: true, timeoutMs: 600_000 });
    expect(parseKubeCommandLine(['iris', 're-encrypt'])).to.deep.include({ kind: 're-encrypt', wait: false });
    expect(() => parseKubeCommandLine(['iris', 're-encrypt', '--dir', 'x'])).to.throw(/locates a local cluster/);
  });

  it('the status message: progress while running, a final "done" or "failed" line', () => {
    const running = reencryptMessage([node('iris-shard-0-0', 'done', 10, 10), node('iris-shard-0-1', 'running', 5, 10)]);
    expect(running).to.match(/^re-encrypt to key k2: 1\/2 nodes done · iris-shard-0-0 done · iris-shard-0-1 running 50%$/);
    expect(reencryptFinished(running)).to.equal(false);
    const done = reencryptMessage([node('a', 'done', 10, 10), node('b', 'done', 7, 7)]);
    expect(done).to.equal(`${REENCRYPT_DONE} 2 nodes on key k2, 17 values re-encrypted`);
    expect(reencryptFinished(done)).to.equal(true);
    const b = node('b', 'done', 7, 7);
    const scrub = { clean: false, vacuumed: false, walTruncated: true, pauseMs: 1, dbBytes: 1 };
    const unclean = reencryptMessage([node('a', 'done', 10, 10), { ...b, status: { ...b.status, reencrypt: { ...b.status.reencrypt, plaintextScrub: scrub } } }]);
    expect(unclean).to.equal(`${REENCRYPT_DONE} 2 nodes on key k2, 17 values re-encrypted; old plaintext may remain in free space on b (docs/security.md "Turning encryption on for existing data")`);
    expect(reencryptFinished(unclean)).to.equal(true);
    const failed = reencryptMessage([node('a', 'failed', 1, 10, "key id 'k0' is not in the keyring"), node('b', 'running', 1, 10)]);
    expect(failed).to.equal(`${REENCRYPT_FAILED} a (key id 'k0' is not in the keyring)`);
  });

  it('the operator starts it on every node, then writes progress into status.request until done', async () => {
    const log: string[] = [];
    let request: RequestStatus | undefined;
    const cr = (): IrisCluster => ({ metadata: { name: 'iris', namespace: 'db', uid: 'u-1', annotations: { [REQUEST_ANNOTATION]: 're-encrypt id=r1' } }, status: request === undefined ? {} : { request } });
    const ctx = {
      client: { mergePatch: async (_p: string, body: { status: { request: RequestStatus } }) => { request = body.status.request; log.push(`${request.phase} ${request.operation} ${request.message}`); return {}; } },
      namespace: 'db', cluster: 'iris', logger: silentLogger(), resource: cr,
      event: (e: { type: string; reason: string }) => log.push(`event ${e.type} ${e.reason}`),
    } as unknown as StepContext;
    let progress = [node('a', 'running', 0, 4)];
    const nodes = { start: async () => reencryptMessage(progress), progress: async () => reencryptMessage(progress) } as unknown as ReencryptRequests;
    const step = new RequestStep(nodes);
    await step.run(ctx);
    expect(log).to.deep.equal([
      'Handling  asking the controller: re-encrypt of every node',
      'event Normal ReencryptRequested',
      'Started re-encrypt-r1 re-encrypt to key k2: 0/1 nodes done · a running 0%',
    ]);
    // Polled at most every 2 s: wait out the interval with a bounded number of passes.
    progress = [node('a', 'done', 4, 4)];
    const deadline = Date.now() + 10_000;
    while (!reencryptFinished(request!.message) && Date.now() < deadline) {
      await step.run(ctx);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(request).to.deep.include({ phase: 'Started', operation: 're-encrypt-r1', message: `${REENCRYPT_DONE} 1 nodes on key k2, 4 values re-encrypted` });
    expect(log.at(-1)).to.equal('event Normal ReencryptDone');
    const writes = log.length;
    await step.run(ctx);
    expect(log).to.have.length(writes);
  });

  it('a node that refuses (encryption off) makes the request Refused', async () => {
    let request: RequestStatus | undefined;
    const ctx = {
      client: { mergePatch: async (_p: string, body: { status: { request: RequestStatus } }) => { request = body.status.request; return {}; } },
      namespace: 'db', cluster: 'iris', logger: silentLogger(),
      resource: (): IrisCluster => ({ metadata: { name: 'iris', namespace: 'db', uid: 'u-1', annotations: { [REQUEST_ANNOTATION]: 're-encrypt id=r2' } }, status: {} }),
      event: () => {},
    } as unknown as StepContext;
    const nodes = { start: async () => { throw new Error('node iris-shard-0-0: encryption at rest is off on this node (no --encryption-key-file)'); } } as unknown as ReencryptRequests;
    await new RequestStep(nodes).run(ctx);
    expect(request).to.deep.include({ phase: 'Refused', operation: '' });
    expect(request!.message).to.match(/^re-encrypt refused: node iris-shard-0-0: encryption at rest is off/);
  });
});
