/**
 * The objects around the StatefulSets (operator/kube/build/): Services,
 * PDBs, the token Secret, and the create-or-update hash that keeps the
 * operator from rewriting objects the API server has defaulted.
 */
import { expect } from 'chai';
import { pdbName } from '../../operator/kube/names.js';
import { podDisruptionBudget } from '../../operator/kube/build/pdb.js';
import { tokenOf, tokenSecret } from '../../operator/kube/build/secret.js';
import { clientService, headlessService } from '../../operator/kube/build/services.js';
import { appliedHash } from '../../operator/kube/reconcile/apply.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';

const CR: IrisCluster = { metadata: { name: 'iris', namespace: 'db', uid: 'u1' }, spec: {} };

describe('operator/kube resources', () => {
  it('gives every pod a stable identity through a headless Service that publishes unready pods', () => {
    const s = headlessService(CR);
    expect(s.metadata?.name).to.equal('iris-nodes');
    expect(s.spec).to.deep.include({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(s.spec?.selector).to.deep.equal({ 'app.kubernetes.io/name': 'irisdb', 'app.kubernetes.io/instance': 'iris' });
    expect(s.spec?.ports?.map((p) => p.port)).to.deep.equal([6379, 8080, 16379]);
  });

  it('serves clients on 6379 (RESP) and 8080 (HTTP) through the client Service', () => {
    const s = clientService(CR);
    expect(s.metadata?.name).to.equal('iris');
    expect(s.spec?.ports?.map((p) => `${p.name}:${p.port}`)).to.deep.equal(['resp:6379', 'http:8080']);
    expect(s.metadata?.ownerReferences?.[0]?.uid).to.equal('u1');
  });

  it('lets at most one member of a shard be disrupted at a time', () => {
    const p = podDisruptionBudget(CR, 4);
    expect(p.metadata?.name).to.equal(pdbName('iris', 4)).and.equal('iris-shard-4');
    expect(p.spec?.maxUnavailable).to.equal(1);
    expect(p.spec?.selector?.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'irisdb', 'app.kubernetes.io/instance': 'iris', 'irisdb.io/shard': '4' });
  });

  it('stores the admin token base64-encoded and reads it back', () => {
    const s = tokenSecret(CR, 'abc123');
    expect(s.metadata?.name).to.equal('iris-token');
    expect(s.data?.token).to.equal(Buffer.from('abc123').toString('base64'));
    expect(tokenOf(s)).to.equal('abc123');
    expect(tokenOf({ data: {} })).to.equal(null);
  });

  it('hashes what it applies, ignoring annotations (where the hash itself lives) and key order', () => {
    const a = headlessService(CR);
    const b = { ...a, metadata: { ...a.metadata, annotations: { 'irisdb.io/applied-hash': 'x' } } };
    expect(appliedHash(a)).to.equal(appliedHash(b));
    expect(appliedHash(a)).to.not.equal(appliedHash(clientService(CR)));
  });
});
