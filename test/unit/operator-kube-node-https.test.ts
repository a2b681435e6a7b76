/**
 * operator/kube/reconcile/node-https.ts: where the operator gets the CA it
 * verifies spec.tls nodes against (ca.crt of the Secret the pods mount),
 * how long it keeps it, what the operator's own write hands it (remember),
 * and the name it checks. Plain data, a fake API.
 */
import { expect } from 'chai';
import type { KubeClient } from '../../operator/kube/client.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { CA_REREAD_MS, ClusterCa, nodeServerName } from '../../operator/kube/reconcile/node-https.js';

function cluster(spec: IrisCluster['spec']): IrisCluster {
  return { apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', metadata: { name: 'iris', namespace: 'db' }, spec } as IrisCluster;
}

/** A KubeClient whose find answers from `secrets` (path → ca.crt, null: 404) and counts reads; `gate` holds a read until it resolves. */
function fakeClient(secrets: Map<string, string | null>, gate: () => Promise<void> = async () => {}): { client: KubeClient; reads: string[] } {
  const reads: string[] = [];
  const client = {
    find: async (p: string) => {
      reads.push(p);
      const ca = secrets.get(p) ?? null;
      await gate();
      return ca === null ? null : { data: { 'ca.crt': Buffer.from(ca).toString('base64') } };
    },
  } as unknown as KubeClient;
  return { client, reads };
}

describe('operator/kube node HTTPS trust', () => {
  const issued = '/api/v1/namespaces/db/secrets/iris-tls';

  it('reads ca.crt of the operator-issued Secret, keeps it CA_REREAD_MS, then reads it again', async () => {
    const secrets = new Map<string, string | null>([[issued, 'CA-1']]);
    const { client, reads } = fakeClient(secrets);
    let now = 1_000;
    const ca = new ClusterCa(client, () => cluster({ tls: { enabled: true } }), () => now);
    expect(await ca.get()).to.equal('CA-1');
    secrets.set(issued, 'CA-2');
    now += CA_REREAD_MS - 1;
    expect(await ca.get(), 'within CA_REREAD_MS').to.equal('CA-1');
    expect(reads).to.have.length(1);
    now += 1;
    expect(await ca.get()).to.equal('CA-2');
    // Gone: the last CA read stays (running nodes still hold certificates from it).
    secrets.set(issued, null);
    now += CA_REREAD_MS;
    expect(await ca.get()).to.equal('CA-2');
  });

  it('remember: the ca.crt the operator just wrote is used from the next call on, with no read; the re-read stays the fallback', async () => {
    const secrets = new Map<string, string | null>([[issued, 'CA-OLD']]);
    const { client, reads } = fakeClient(secrets);
    let now = 1_000;
    const ca = new ClusterCa(client, () => cluster({ tls: { enabled: true } }), () => now);
    expect(await ca.get()).to.equal('CA-OLD');
    // The operator writes old + new to the Secret and hands the bundle over.
    secrets.set(issued, 'CA-OLD+CA-NEW');
    now += 1;
    ca.remember('CA-OLD+CA-NEW');
    expect(await ca.get(), 'at once, not after CA_REREAD_MS').to.equal('CA-OLD+CA-NEW');
    expect(reads, 'no API read for it').to.have.length(1);
    // Someone else changes the Secret: seen within CA_REREAD_MS of the remembered write, by a read.
    secrets.set(issued, 'CA-EDITED');
    now += CA_REREAD_MS - 1;
    expect(await ca.get()).to.equal('CA-OLD+CA-NEW');
    now += 1;
    expect(await ca.get()).to.equal('CA-EDITED');
    expect(reads).to.have.length(2);
    // Remembered before any read at all (a new operator's first write): no read either.
    const first = fakeClient(new Map([[issued, 'CA-1']]));
    const fresh = new ClusterCa(first.client, () => cluster({ tls: { enabled: true } }), () => now);
    fresh.remember('CA-2');
    expect(await fresh.get()).to.equal('CA-2');
    expect(first.reads).to.deep.equal([]);
  });

  it('remember wins over a read that was on the wire when the write happened', async () => {
    const secrets = new Map<string, string | null>([[issued, 'CA-OLD']]);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const { client, reads } = fakeClient(secrets, () => held);
    let now = 1_000;
    const ca = new ClusterCa(client, () => cluster({ tls: { enabled: true } }), () => now);
    const inFlight = ca.get(); // reads CA-OLD, answer held back
    expect(reads).to.have.length(1);
    ca.remember('CA-OLD+CA-NEW');
    release();
    expect(await inFlight, 'the caller waiting on the read gets the newer one').to.equal('CA-OLD+CA-NEW');
    now += 1;
    expect(await ca.get(), 'the late answer did not put CA-OLD back').to.equal('CA-OLD+CA-NEW');
    expect(reads).to.have.length(1);
  });

  it('reads the user\'s spec.tls.secretRef; nothing without TLS or before any CA exists', async () => {
    const user = '/api/v1/namespaces/db/secrets/my-tls';
    expect(await new ClusterCa(fakeClient(new Map([[user, 'USER-CA']])).client, () => cluster({ tls: { enabled: true, secretRef: { name: 'my-tls' } } })).get()).to.equal('USER-CA');
    const off = fakeClient(new Map([[issued, 'CA-1']]));
    expect(await new ClusterCa(off.client, () => cluster({})).get()).to.equal(null);
    expect(off.reads, 'no API read with TLS off').to.deep.equal([]);
    expect(await new ClusterCa(fakeClient(new Map()).client, () => cluster({ tls: { enabled: true } })).get()).to.equal(null);
  });

  it('checks every node\'s certificate against the client Service\'s name', () => {
    expect(nodeServerName('iris', 'db')).to.equal('iris.db.svc');
  });
});
