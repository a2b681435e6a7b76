/**
 * operator/kube/reconcile/node-https.ts: where the operator gets the CA it
 * verifies spec.tls nodes against (ca.crt of the Secret the pods mount),
 * how long it keeps it, and the name it checks. Plain data, a fake API.
 */
import { expect } from 'chai';
import type { KubeClient } from '../../operator/kube/client.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { CA_REREAD_MS, ClusterCa, nodeServerName } from '../../operator/kube/reconcile/node-https.js';

function cluster(spec: IrisCluster['spec']): IrisCluster {
  return { apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', metadata: { name: 'iris', namespace: 'db' }, spec } as IrisCluster;
}

/** A KubeClient whose find answers from `secrets` (path → ca.crt, null: 404) and counts reads. */
function fakeClient(secrets: Map<string, string | null>): { client: KubeClient; reads: string[] } {
  const reads: string[] = [];
  const client = {
    find: async (p: string) => {
      reads.push(p);
      const ca = secrets.get(p) ?? null;
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
