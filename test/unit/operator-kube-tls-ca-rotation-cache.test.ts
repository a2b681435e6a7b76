/**
 * The operator's CA rotation hands each ca.crt it writes to its own node
 * clients' CA (ClusterCa.remember, operator/kube/reconcile/node-https.ts),
 * so ServeNew follows TrustBoth as soon as every pod trusts both CAs, with
 * no wait for the cache's one-minute re-read. Real CAs and certificates
 * (openssl), the real ensureTls and ClusterCa; the Kubernetes API is an
 * in-memory Secret store with resourceVersions (409 on a stale replace).
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { pemFingerprints } from '../../node/tls/tls-report.js';
import type { KubeClient } from '../../operator/kube/client.js';
import { KubeApiError } from '../../operator/kube/errors.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { CA_BUNDLE_WRITTEN_ANNOTATION, CA_CERT_KEY, TLS_CERT_KEY, caSecret, certificateHosts, issuedTlsSecret } from '../../operator/kube/build/tls-secret.js';
import { secretText } from '../../operator/kube/build/auth-secret.js';
import { ClusterCa } from '../../operator/kube/reconcile/node-https.js';
import { ensureTls } from '../../operator/kube/reconcile/tls-certificates.js';
import { type Pem, issueServerCertificate, makeCa } from '../../operator/kube/reconcile/tls-issuing.js';
import type { PodTlsObservation } from '../../operator/kube/reconcile/tls-ca-rotation-plan.js';

const NS = 'db';
const CLUSTER = 'iris';
const CA_PATH = `/api/v1/namespaces/${NS}/secrets/${CLUSTER}-ca`;
const TLS_PATH = `/api/v1/namespaces/${NS}/secrets/${CLUSTER}-tls`;

const cr = {
  apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', metadata: { name: CLUSTER, namespace: NS, uid: 'u-1' }, spec: { tls: { enabled: true } },
} as IrisCluster;

/** Secrets by path, each replace bumping resourceVersion; a replace with another resourceVersion is a 409 Conflict, as on the API server. */
class SecretStore {
  readonly objects = new Map<string, V1Secret>();
  readonly reads: string[] = [];
  private version = 0;
  /** The next replace of this path fails as if someone wrote the Secret in between. */
  conflictOnce: string | null = null;

  put(path: string, s: V1Secret): void {
    this.objects.set(path, { ...s, metadata: { ...s.metadata, resourceVersion: String(++this.version) } });
  }

  readonly client = {
    find: async (path: string): Promise<V1Secret | null> => {
      this.reads.push(path);
      return structuredClone(this.objects.get(path) ?? null);
    },
    replace: async (path: string, body: V1Secret): Promise<V1Secret> => {
      const current = this.objects.get(path);
      if (this.conflictOnce === path || current?.metadata?.resourceVersion !== body.metadata?.resourceVersion) {
        this.conflictOnce = null;
        throw new KubeApiError(409, 'Conflict', `PUT ${path}: 409 the object has been modified`, {});
      }
      this.put(path, body);
      return this.objects.get(path)!;
    },
  } as unknown as KubeClient;
}

const bundleOf = (...cas: Pem[]): string => cas.map((c) => c.cert.trimEnd() + '\n').join('');
const fps = (pem: string | null): string[] => (pem === null ? [] : pemFingerprints(pem));

describe('operator/kube CA rotation: the operator\'s own CA cache follows its writes', function () {
  this.timeout(30000);
  let oldCa: Pem;
  let newCa: Pem;
  let served: Pem;

  before(async () => {
    [oldCa, newCa] = await Promise.all([makeCa(CLUSTER, 3650), makeCa(CLUSTER, 3650)]);
    served = await issueServerCertificate(oldCa, certificateHosts(CLUSTER, NS), Date.now());
  });

  /** A cluster whose rotation was just started: <cluster>-ca holds the next CA, the pods' Secret the old CA alone. */
  function started(): SecretStore {
    const store = new SecretStore();
    store.put(CA_PATH, caSecret(cr, oldCa, newCa, 'rotate-ca id=t1'));
    store.put(TLS_PATH, issuedTlsSecret(cr, { ...served, ca: oldCa.cert }, new Date().toISOString()));
    return store;
  }

  /** Every pod reports what the pods' Secret holds now (as if each kubelet had refreshed its volume). */
  function podsCaughtUp(store: SecretStore): () => Promise<PodTlsObservation[]> {
    return async () => {
      const s = store.objects.get(TLS_PATH)!;
      const certificate = fps(secretText(s, TLS_CERT_KEY))[0] ?? null;
      return ['iris-shard-1-0', 'iris-shard-1-1'].map((pod) => ({ pod, caFingerprints: fps(secretText(s, CA_CERT_KEY)), certificate }));
    };
  }

  it('TrustBoth → ServeNew → DropOld → Done in consecutive passes at the same instant, the cache holding each written ca.crt with no read', async () => {
    const store = started();
    const ca = new ClusterCa(store.client, () => cr);
    expect(fps(await ca.get())).to.deep.equal(fps(oldCa.cert));
    const cacheReads = (): number => store.reads.filter((p) => p === TLS_PATH).length;
    const now = Date.now();
    // underWay: as the security step passes it once status.tls.caRotation records a phase.
    const check = { caDays: 3650, probe: podsCaughtUp(store), underWay: true, caWritten: ca };
    const pass = async (): Promise<{ phase: string | null | undefined; readsByCache: number; cache: string[] }> => {
      const tls = await ensureTls(store.client, cr, now, check);
      const before = cacheReads();
      const cache = fps(await ca.get());
      return { phase: tls?.rotation?.phase, readsByCache: cacheReads() - before, cache };
    };

    const both = fps(bundleOf(oldCa, newCa));
    expect(await pass(), 'pass 1 writes both CAs').to.deep.equal({ phase: 'TrustBoth', readsByCache: 0, cache: both });
    // The old code waited here until the bundle was a minute old; now the next pass issues from the new CA.
    expect(await pass(), 'pass 2: every pod trusts both').to.deep.equal({ phase: 'ServeNew', readsByCache: 0, cache: both });
    expect(fps(secretText(store.objects.get(TLS_PATH)!, TLS_CERT_KEY))).to.not.deep.equal(fps(served.cert));
    expect(await pass(), 'pass 3: every pod serves the new certificate').to.deep.equal({ phase: 'DropOld', readsByCache: 0, cache: fps(newCa.cert) });
    expect(await pass(), 'pass 4: every pod trusts only the new CA').to.deep.equal({ phase: 'Done', readsByCache: 0, cache: fps(newCa.cert) });
    expect(fps(secretText(store.objects.get(CA_PATH)!, CA_CERT_KEY))).to.deep.equal(fps(newCa.cert));
  });

  it('a write refused (409: someone else wrote the Secret) is not remembered; the next pass retries and then is', async () => {
    const store = started();
    const ca = new ClusterCa(store.client, () => cr);
    expect(fps(await ca.get())).to.deep.equal(fps(oldCa.cert));
    const check = { caDays: 3650, probe: podsCaughtUp(store), underWay: false, caWritten: ca };
    store.conflictOnce = TLS_PATH;
    let failure: unknown = null;
    await ensureTls(store.client, cr, Date.now(), check).catch((err: unknown) => { failure = err; });
    expect(failure).to.be.instanceOf(KubeApiError).and.have.property('statusCode', 409);
    expect(fps(await ca.get()), 'the cache keeps what the Secret holds').to.deep.equal(fps(oldCa.cert));
    const retried = await ensureTls(store.client, cr, Date.now(), check);
    expect(retried?.rotation?.phase).to.equal('TrustBoth');
    expect(fps(await ca.get())).to.deep.equal(fps(bundleOf(oldCa, newCa)));
  });

  it('the ordinary path (a first certificate, or a ca.crt edited by hand repaired) hands over the CA it writes too', async () => {
    const store = new SecretStore();
    store.put(CA_PATH, caSecret(cr, oldCa));
    store.put(TLS_PATH, issuedTlsSecret(cr, { ...served, ca: bundleOf(newCa) }, new Date().toISOString()));
    const ca = new ClusterCa(store.client, () => cr);
    expect(fps(await ca.get())).to.deep.equal(fps(newCa.cert));
    const tls = await ensureTls(store.client, cr, Date.now(), { caDays: 3650, probe: null, underWay: false, caWritten: ca });
    expect(tls?.rotation).to.equal(null);
    expect(fps(secretText(store.objects.get(TLS_PATH)!, CA_CERT_KEY))).to.deep.equal(fps(oldCa.cert));
    expect(fps(await ca.get()), 'repaired ca.crt, with no read').to.deep.equal(fps(oldCa.cert));
  });
  it('a rotation held on a pod that does not answer still renews the served certificate when due, from the CA that signed it, in TrustBoth and in ServeNew', async () => {
    const store = started();
    const check = { caDays: 3650, probe: podsCaughtUp(store), underWay: true };
    const oneDown = async (): Promise<PodTlsObservation[]> => [...(await podsCaughtUp(store)()).slice(0, 1), { pod: 'iris-shard-1-1', error: 'connect ECONNREFUSED' }];
    const now = Date.now();
    const later = now + 70 * 86_400_000; // the 90-day certificate has 20 days left: renewal due
    const tlsSecret = (): V1Secret => store.objects.get(TLS_PATH)!;
    const signer = (): string => (new X509Certificate(secretText(tlsSecret(), TLS_CERT_KEY)!).checkIssued(new X509Certificate(newCa.cert)) ? 'new' : 'old');

    expect((await ensureTls(store.client, cr, now, { ...check, probe: oneDown }))?.rotation?.phase, 'both CAs written').to.equal('TrustBoth');
    const writtenAt = tlsSecret().metadata?.annotations?.[CA_BUNDLE_WRITTEN_ANNOTATION];
    expect((await ensureTls(store.client, cr, now, { ...check, probe: oneDown }))?.issued, 'not due yet').to.equal(null);
    const held = await ensureTls(store.client, cr, later, { ...check, probe: oneDown });
    expect(held?.rotation?.phase).to.equal('TrustBoth');
    expect(held?.issued).to.match(/^renewal due: (19|20) days left of 90 \(during the CA rotation: from the current CA\)$/);
    expect(fps(secretText(tlsSecret(), TLS_CERT_KEY))).to.not.deep.equal(fps(served.cert));
    expect(signer(), 'still the old CA\'s: the pods do not all trust the new one').to.equal('old');
    expect(fps(secretText(tlsSecret(), CA_CERT_KEY)), 'ca.crt unchanged').to.deep.equal(fps(bundleOf(oldCa, newCa)));
    expect(tlsSecret().metadata?.annotations?.[CA_BUNDLE_WRITTEN_ANNOTATION], 'written-at kept').to.equal(writtenAt);

    expect((await ensureTls(store.client, cr, now, check))?.rotation?.phase, 'the pod back: ServeNew').to.equal('ServeNew');
    const newCert = fps(secretText(tlsSecret(), TLS_CERT_KEY));
    const serving = await ensureTls(store.client, cr, later, { ...check, probe: oneDown });
    expect(serving?.rotation?.phase).to.equal('ServeNew');
    expect(serving?.issued).to.match(/from the new CA\)$/);
    expect(fps(secretText(tlsSecret(), TLS_CERT_KEY))).to.not.deep.equal(newCert);
    expect(signer()).to.equal('new');
  });
});
