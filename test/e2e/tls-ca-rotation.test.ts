/**
 * The operator rotates its own CA (issue #14) on the real kube-apiserver:
 * a 1-shard × 1-replica cluster with operator-issued TLS and writes going,
 * `irisctl --kube CLUSTER rotate-ca --wait` moves it through TrustBoth →
 * ServeNew → DropOld → Done (status.tls.caRotation, an Event per phase).
 * Then: no pod restarted (same UIDs, no container restarts); the replica
 * kept streaming (its link never down, its offset advanced during and after,
 * a write acknowledged with minSyncReplicas 1 after the rotation); the
 * connections opened before the rotation still work; a TLS client with only
 * the new CA connects, one with only the old CA is refused; ca.crt holds the
 * new CA alone; every acknowledged write is readable. And a rotation
 * started by the CA's renewal (the operator's check run as if 70% of the
 * CA's life had passed), whose operator is then killed mid-way (TrustBoth),
 * is finished by the next one with the CA made before the kill.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import path from 'node:path';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { listPods, type KubeEnv, type Pod } from './helpers.js';
import { KubeClient } from '../../operator/kube/client.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { ensureTls } from '../../operator/kube/reconcile/tls-certificates.js';
import { CA_DAYS } from '../../operator/kube/reconcile/tls-renewal.js';
import {
  OPERATOR_SELECTOR, clusterEvents, getCluster, irisClusterManifest, operatorNamespace, patchClusterSpec, waitForStatus, type IrisClusterObject,
} from './operator-support.js';

const CLUSTER = 'rot';
const IRISCTL = path.join(REPO_ROOT, 'dist/operator/cli/irisctl.js');
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;
/** Bounds of the background writer: it stops by itself after this many writes. */
const MAX_WRITES = 20_000;
const WRITE_PAUSE_MS = 20;

interface SecretObject { data?: Record<string, string> }
interface CaRotation { phase: string; message: string; reason: string; lastTransitionTime: string }
type Rotating = IrisClusterObject & { status?: { tls?: { caNotAfter?: string | null; caRotation?: CaRotation }; request?: { annotation: string; phase: string } } };

function fingerprints(pem: string): string[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new crypto.X509Certificate(b).fingerprint256);
}

/** A TLS handshake verified against `ca` only: 'ok' or why it was refused. */
function handshake(host: string, port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, ca, servername, timeout: 10_000 }, () => {
      socket.destroy();
      resolve('ok');
    });
    socket.on('error', (err) => resolve(err.message));
    socket.on('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
  });
}

describe('e2e: the operator rotates its CA with no restart and no broken connection', function () {
  this.timeout(900000);
  let env: KubeEnv;
  let ns: string;
  const clients: Redis[] = [];

  operatorNamespace('ca-rotation', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  }, { afterEachTest: () => {
    for (const c of clients.splice(0)) c.disconnect();
  } });

  const secretText = async (name: string, key: string): Promise<string> => {
    const s = await env.rest.get<SecretObject>(`/api/v1/namespaces/${ns}/secrets/${name}`);
    return Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
  };
  const podName = (pod: Pod, svc = false): string => (svc ? `${CLUSTER}.${ns}.svc` : `${pod.metadata!.name}.${CLUSTER}-nodes.${ns}.svc.cluster.local`);

  async function connect(pod: Pod, ca: string): Promise<Redis> {
    const ep = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    // No reconnection: a connection the rotation broke shows as a failed command, not a silent reconnect.
    const client = new Redis({
      host: ep.host, port: ep.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null,
      tls: { ca, servername: podName(pod) },
    });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  const restarts = (pods: Pod[]): string[] => pods.map((p) => `${p.metadata?.name}:${p.metadata?.uid}:${(p.status as { containerStatuses?: Array<{ restartCount: number }> } | undefined)?.containerStatuses?.[0]?.restartCount}`).sort();

  let nodePods: Pod[] = [];
  let podsAtStart: string[] = [];

  async function replicationInfo(replica: Redis): Promise<{ link: string; offset: number }> {
    const info = await replica.info('replication');
    return { link: /master_link_status:(\w+)/.exec(info)?.[1] ?? '?', offset: Number(/slave_repl_offset:(\d+)/.exec(info)?.[1] ?? -1) };
  }

  it('rotates through TrustBoth, ServeNew and DropOld while writes go on', async () => {
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, {
      shards: 1, replicasPerShard: 1, tls: { enabled: true }, replication: { minSyncReplicas: 1, dataDurability: 'required' },
    }));
    const ready = await waitForStatus(env, ns, CLUSTER, 'Ready 2/2 with a streaming replica', (c: IrisClusterObject) =>
      c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 240000);
    const oldCa = await secretText(`${CLUSTER}-ca`, 'ca.crt');
    const [oldFp] = fingerprints(oldCa);
    expect(fingerprints(await secretText(`${CLUSTER}-tls`, 'ca.crt'))).to.deep.equal([oldFp]);
    const before = await getCluster(env, ns, CLUSTER) as Rotating;
    expect(before.status?.tls?.caNotAfter, 'status.tls.caNotAfter').to.equal(new Date(new crypto.X509Certificate(oldCa).validTo).toISOString().replace(/\.\d{3}Z$/, 'Z'));

    const pods = await listPods(env, ns, NODES);
    const podsBefore = restarts(pods);
    nodePods = pods;
    podsAtStart = podsBefore;
    const primaryPod = pods.find((p) => p.metadata?.name === ready.status!.shards![0]!.primary)!;
    const replicaPod = pods.find((p) => p !== primaryPod)!;
    // Opened before the rotation, trusting only the old CA: they must outlive it.
    const primary = await connect(primaryPod, oldCa);
    const replica = await connect(replicaPod, oldCa);
    const startInfo = await replicationInfo(replica);
    expect(startInfo.link).to.equal('up');

    // Writes going the whole time; each SET answered OK is acknowledged (the replica applied it: minSyncReplicas 1).
    const acked = new Map<string, string>();
    const failures: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < MAX_WRITES && !stop; i++) {
        const key = `rot:${i}`;
        const value = `v${i}-${crypto.randomBytes(4).toString('hex')}`;
        try {
          if ((await primary.set(key, value)) === 'OK') acked.set(key, value);
        } catch (err) {
          failures.push(`${key}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, WRITE_PAUSE_MS)); // pacing the load, not waiting for anything
      }
    })();

    // The replica's link and offset sampled while the rotation runs (irisctl --wait in a child process).
    const samples: Array<{ link: string; offset: number }> = [];
    let rotating = true;
    const sampler = (async () => {
      while (rotating && samples.length < 2000) {
        samples.push(await replicationInfo(replica).catch((err: Error) => ({ link: `error: ${err.message}`, offset: -1 })));
        await new Promise((r) => setTimeout(r, 250)); // a sampling period
      }
    })();
    const rotationStarted = Date.now();
    const cli = await run(process.execPath, [IRISCTL, '--kube', '--kubeconfig', env.kubeconfig, '-n', ns, CLUSTER, 'rotate-ca', '--wait', '--timeout', '8m'], { timeoutMs: 540000 });
    console.log(`      rotate-ca --wait took ${((Date.now() - rotationStarted) / 1000).toFixed(1)} s`);
    rotating = false;
    await sampler;
    expect(cli.code, `irisctl rotate-ca: ${cli.stdout}\n${cli.stderr}`).to.equal(0);
    for (const phase of ['TrustBoth', 'ServeNew', 'DropOld', 'Done']) expect(cli.stdout, `irisctl printed ${phase}`).to.match(new RegExp(`^${phase}: `, 'm'));
    const annotation = /irisdb\.io\/request="(rotate-ca id=[a-z0-9]+)"/.exec(cli.stdout)?.[1];
    expect(annotation, cli.stdout).to.be.a('string');

    // The write path after the rotation: a write acknowledged with minSyncReplicas 1 reached the replica over the bus.
    const afterKey = 'rot:after';
    expect(await primary.set(afterKey, 'after')).to.equal('OK');
    acked.set(afterKey, 'after');
    await waitFor('the replica to apply the write made after the rotation', async () => (await replica.call('READONLY').then(() => replica.get(afterKey))) === 'after', { timeoutMs: 30000, intervalMs: 200 });
    stop = true;
    await writer;
    expect(failures, 'writes refused or connections broken during the rotation').to.deep.equal([]);
    expect(acked.size).to.be.greaterThan(50);

    // The replica streamed throughout: never down, its offset advanced during the rotation and after it.
    expect(samples.length).to.be.greaterThan(10);
    expect(samples.filter((s) => s.link !== 'up'), 'samples of the replica link not up').to.deep.equal([]);
    const mid = samples[Math.floor(samples.length / 2)]!.offset;
    const last = samples[samples.length - 1]!.offset;
    expect(mid, 'offset advanced during the rotation').to.be.greaterThan(startInfo.offset);
    expect(last, 'offset advanced in the second half').to.be.greaterThan(mid);
    expect((await replicationInfo(replica)).offset, 'offset advanced after the rotation').to.be.greaterThan(last);

    // The Secrets: a new CA, alone in the pods' ca.crt; the certificate is the new CA's.
    const newCa = await secretText(`${CLUSTER}-ca`, 'ca.crt');
    const [newFp] = fingerprints(newCa);
    expect(newFp).to.not.equal(oldFp);
    expect(fingerprints(await secretText(`${CLUSTER}-tls`, 'ca.crt'))).to.deep.equal([newFp]);
    expect(await secretText(`${CLUSTER}-ca`, 'next-ca.crt')).to.equal('');
    expect(new crypto.X509Certificate(await secretText(`${CLUSTER}-tls`, 'tls.crt')).checkIssued(new crypto.X509Certificate(newCa))).to.equal(true);

    // Status and Events.
    const after = await getCluster(env, ns, CLUSTER) as Rotating;
    expect(after.status?.tls?.caRotation).to.include({ phase: 'Done', reason: annotation });
    expect(after.status?.tls?.caNotAfter).to.equal(new Date(new crypto.X509Certificate(newCa).validTo).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(after.status?.request).to.include({ annotation, phase: 'Started' });
    const reasons = (await clusterEvents(env, ns, CLUSTER)).map((e) => e.reason);
    for (const r of ['CARotationRequested', 'CARotationTrustBoth', 'CARotationServeNew', 'CARotationDropOld', 'CARotationDone']) expect(reasons, r).to.include(r);

    // Clients: only the new CA connects; only the old CA is refused (RESP and HTTPS, every pod).
    for (const pod of pods) {
      const resp = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
      const http = await env.podEndpoint(ns, pod.metadata!.name!, 8080);
      expect(await handshake(resp.host, resp.port, newCa, podName(pod)), `${pod.metadata?.name} RESP, new CA`).to.equal('ok');
      expect(await handshake(http.host, http.port, newCa, podName(pod, true)), `${pod.metadata?.name} HTTPS, new CA`).to.equal('ok');
      expect(await handshake(resp.host, resp.port, oldCa, podName(pod)), `${pod.metadata?.name} RESP, old CA`).to.match(/certificate|verify|issuer/i);
      expect(await handshake(http.host, http.port, oldCa, podName(pod, true)), `${pod.metadata?.name} HTTPS, old CA`).to.match(/certificate|verify|issuer/i);
    }
    const fresh = await connect(primaryPod, newCa);

    // Every acknowledged write is readable (on a connection made with the new CA).
    const keys = [...acked.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      // One GET per key (keys of different slots cannot share an MGET in cluster mode).
      const replies = await chunk.reduce((p, k) => p.get(k), fresh.pipeline()).exec();
      const lost = chunk.filter((k, j) => replies?.[j]?.[1] !== acked.get(k));
      expect(lost, 'acknowledged writes lost').to.deep.equal([]);
    }

    // No pod restarted; the operator still sees both nodes over HTTPS (its own CA cache moved with the bundle).
    expect(restarts(await listPods(env, ns, NODES)), 'same pods, no container restarts').to.deep.equal(podsBefore);
    await waitForStatus(env, ns, CLUSTER, 'Ready 2/2, streaming, after the rotation', (c: IrisClusterObject) =>
      c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 60000);

    // The CA's expiry on the operator's /metrics.
    const [op] = await listPods(env, ns, OPERATOR_SELECTOR);
    const metricsEp = await env.podEndpoint(ns, op!.metadata!.name!, 9090);
    const caNotAfter = Date.parse(new crypto.X509Certificate(newCa).validTo) / 1000;
    await waitFor('the CA expiry gauge to show the new CA', async () => {
      const text = await (await fetch(`http://${metricsEp.host}:${metricsEp.port}/metrics`)).text();
      return text.includes(`irisdb_operator_tls_certificate_expiration_timestamp_seconds{namespace="${ns}",cluster="${CLUSTER}",kind="ca"} ${caNotAfter}\n`);
    }, { timeoutMs: 30000, intervalMs: 500 });
  });

  it('starts a rotation when a third of the CA\'s life is left, and resumes it after the operator is killed mid-way', async () => {
    const oldCa = await secretText(`${CLUSTER}-ca`, 'ca.crt');
    const [oldFp] = fingerprints(oldCa);
    const cr = await getCluster(env, ns, CLUSTER);
    const primaryName = cr.status!.shards![0]!.primary;
    const primary = await connect(nodePods.find((p) => p.metadata?.name === primaryName)!, oldCa);
    // The operator's own TLS check, run as if 70% of the CA's life had passed (the clock is the one thing a test cannot wait for).
    const x509 = new crypto.X509Certificate(oldCa);
    const later = Date.parse(x509.validFrom) + 0.7 * (Date.parse(x509.validTo) - Date.parse(x509.validFrom));
    const client = await KubeClient.fromFile(env.kubeconfig);
    let reason: string;
    try {
      const found = await ensureTls(client, cr as unknown as IrisCluster, later, { caDays: CA_DAYS, probe: null, underWay: false });
      expect(found?.rotation?.phase).to.equal('TrustBoth');
      reason = found!.rotation!.reason;
      expect(reason).to.match(/^CA renewal due: \d+ days left of 3650$/);
    } finally {
      client.close();
    }
    // A spec change has the running operator look at its TLS now rather than at its next 5-minute check.
    await patchClusterSpec(env, ns, CLUSTER, { failover: { heartbeatMs: 450 } });
    await waitForStatus(env, ns, CLUSTER, 'the rotation in TrustBoth', (c) => (c as Rotating).status?.tls?.caRotation?.reason === reason && (c as Rotating).status?.tls?.caRotation?.phase === 'TrustBoth', 60000);
    const nextCa = await secretText(`${CLUSTER}-ca`, 'next-ca.crt');
    expect(fingerprints(nextCa)).to.have.length(1);

    // Writes go on while the operator is killed (force-deleted; its Deployment starts another).
    const acked = new Map<string, string>();
    const failures: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < MAX_WRITES && !stop; i++) {
        const key = `restart:${i}`;
        try {
          if ((await primary.set(key, String(i))) === 'OK') acked.set(key, String(i));
        } catch (err) {
          failures.push(`${key}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, WRITE_PAUSE_MS)); // pacing the load, not waiting for anything
      }
    })();
    const [op] = await listPods(env, ns, OPERATOR_SELECTOR);
    await env.kubectl(['delete', 'pod', op!.metadata!.name!, '-n', ns, '--grace-period=0', '--force', '--wait=false']);
    const killed = Date.now();
    try {
      await waitForStatus(env, ns, CLUSTER, 'the resumed rotation Done', (c) => (c as Rotating).status?.tls?.caRotation?.reason === reason && (c as Rotating).status?.tls?.caRotation?.phase === 'Done', 300000);
      console.log(`      from the operator's kill to Done: ${((Date.now() - killed) / 1000).toFixed(1)} s`);
    } finally {
      stop = true;
      await writer;
    }
    const newOps = await listPods(env, ns, OPERATOR_SELECTOR);
    expect(newOps.map((p) => p.metadata?.name), 'a new operator finished it').to.not.include(op!.metadata!.name);

    // The CA made before the kill is the one in use: the new leader did not start over.
    const newCa = await secretText(`${CLUSTER}-ca`, 'ca.crt');
    expect(fingerprints(newCa)).to.deep.equal(fingerprints(nextCa));
    expect(fingerprints(newCa)[0]).to.not.equal(oldFp);
    expect(fingerprints(await secretText(`${CLUSTER}-tls`, 'ca.crt'))).to.deep.equal(fingerprints(newCa));
    expect(failures, 'writes refused or connections broken').to.deep.equal([]);
    expect(acked.size).to.be.greaterThan(0);
    const fresh = await connect(nodePods.find((p) => p.metadata?.name === primaryName)!, newCa);
    const keys = [...acked.keys()];
    const replies = await keys.reduce((p, k) => p.get(k), fresh.pipeline()).exec();
    expect(keys.filter((k, j) => replies?.[j]?.[1] !== acked.get(k)), 'acknowledged writes lost').to.deep.equal([]);
    expect(restarts(await listPods(env, ns, NODES)), 'same pods, no container restarts').to.deep.equal(podsAtStart);
    await waitForStatus(env, ns, CLUSTER, 'Ready 2/2, streaming', (c: IrisClusterObject) =>
      c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 60000);
  });
});
