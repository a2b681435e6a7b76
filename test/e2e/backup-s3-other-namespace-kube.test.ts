/**
 * Restoring in another namespace from S3 (issue #15): an IrisBackup of a
 * cluster in namespace A goes to a bucket (SeaweedFS on loopback); a new
 * IrisCluster in namespace B, which has no IrisBackup of it, names the
 * bucket in spec.bootstrap.fromBackup.destination with a Secret of its own
 * namespace and no backupId (the newest backup there): it starts with every
 * key. Each namespace has its own operator (the chart watching only it).
 */
import { expect } from 'chai';
import type { Cluster } from 'ioredis';
import { S3Server } from '../support/s3-server.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, listPods, type KubeEnv } from './helpers.js';
import { deployOperator, diagnostics, installCrds, irisClusterManifest, waitForStatus, withClusterClient } from './operator-support.js';

const BUCKET = 'iris-moves';
const PREFIX = 'ns-a/src';
const nodes = (c: string): string => `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${c}`;

describe('e2e: a cluster in another namespace starts from an S3 backup (bootstrap.fromBackup.destination)', function () {
  this.timeout(300000);
  let env: KubeEnv;
  let s3: S3Server;
  const namespaces: string[] = [];

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    s3 = await S3Server.start();
    await s3.createBucket(BUCKET);
    for (const prefix of ['backup-ns-a', 'backup-ns-b']) {
      const ns = await createNamespace(env, prefix);
      namespaces.push(ns);
      await installCrds(env, ns);
      await deployOperator(env, ns);
      await env.kubectl(['create', 'secret', 'generic', 's3-creds', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`]);
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && env !== undefined) {
      for (const [ns, c] of [[namespaces[0], 'src'], [namespaces[1], 'dst']] as const) if (ns !== undefined) process.stderr.write(`\n--- ${ns}/${c} ---\n${await diagnostics(env, ns, c)}\n`);
    }
  });

  after(async () => {
    for (const ns of namespaces) await deleteNamespace(env, ns);
    await s3?.destroy();
  });

  const withClient = <T>(ns: string, cluster: string, fn: (c: Cluster) => Promise<T>): Promise<T> => withClusterClient(env, ns, cluster, fn);

  it('namespace B restores namespace A\'s newest backup from the bucket with its own Secret: every key', async () => {
    const [a, b] = namespaces as [string, string];
    const s3Dest = (secret: string): Record<string, unknown> => ({ s3: { bucket: BUCKET, prefix: PREFIX, endpoint: s3.endpoint, region: s3.region, secretRef: { name: secret } } });
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(a, 'src', { shards: 2, replicasPerShard: 0, backup: { schedule: '0 0 1 1 *', destination: s3Dest('s3-creds') } }));
    await waitForStatus(env, a, 'src', 'the source Ready with 2/2 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '2/2', 240000);
    const written = new Map(Array.from({ length: 200 }, (_, i) => [`mv:${i}`, `value-${i}`] as const));
    await withClient(a, 'src', (c) => Promise.all([...written].map(([k, v]) => c.set(k, v))));
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup', metadata: { name: 'before-move', namespace: a }, spec: { cluster: 'src' } }));
    await waitFor('IrisBackup before-move to be Completed', async () => {
      const o = await env.rest.get<{ status?: { phase?: string; message?: string } }>(`/apis/irisdb.io/v1alpha1/namespaces/${a}/irisbackups/before-move`);
      if (o.status?.phase === 'Failed') throw new Error(`before-move failed: ${o.status.message}`);
      return o.status?.phase === 'Completed';
    }, { timeoutMs: 120000, intervalMs: 200 });

    // Namespace B has no IrisBackup of it: the destination and B's own Secret; no backupId: the newest backup there.
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(b, 'dst', { shards: 1, replicasPerShard: 0, bootstrap: { fromBackup: { destination: s3Dest('s3-creds') } } }));
    await waitForStatus(env, b, 'dst', 'the restored cluster in the other namespace Ready with 1/1 nodes', (c) => c.status?.phase === 'Ready' && c.status.ready === '1/1', 240000);
    const pod = (await listPods(env, b, nodes('dst')))[0]! as { status?: { initContainerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode?: number } } }> } };
    expect((pod.status?.initContainerStatuses ?? []).map((c) => [c.name, c.state?.terminated?.exitCode])).to.deep.equal([['restore', 0]]);
    const keys = [...written.keys()];
    const got = await withClient(b, 'dst', (c) => Promise.all(keys.map((k) => c.get(k))));
    expect(new Map(keys.map((k, i) => [k, got[i]]))).to.deep.equal(written);
  });
});
