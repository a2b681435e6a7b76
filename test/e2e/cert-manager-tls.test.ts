/**
 * spec.tls.certManager with the real cert-manager (issue #14): without
 * cert-manager's CRDs the cluster says so (a CertManagerMissing Warning
 * Event and its Degraded condition) instead of silently using something
 * else; with the CRDs but no controller yet, the operator's Certificate
 * exists and the cluster reports WaitingForCertificate; once cert-manager
 * runs (a self-signed Issuer → a CA Certificate → a CA Issuer), the
 * operator's Certificate is issued by it, the pods mount
 * its Secret and serve RESP over TLS only with the certificate
 * cert-manager issued (its issuer is the cert-manager CA), redis-cli
 * --tls --cacert with that CA works, plain text is refused, and the
 * replica streams over the bus's mutual TLS with those certificates; a
 * renewal reaches the nodes without a pod restart.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { certManagerServed, installCertManagerCrds, startCertManager, uninstallCertManagerCrds, type RunningCertManager } from '../support/kube/cert-manager.js';
import { waitFor } from '../support/wait.js';
import { listPods, type KubeEnv, type Pod } from './helpers.js';
import { clusterEvents, irisClusterManifest, operatorNamespace, waitForStatus, type IrisClusterObject } from './operator-support.js';

const CLUSTER = 'cmtls';
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;
const run = promisify(execFile);

interface SecretObject { metadata?: { annotations?: Record<string, string> }; data?: Record<string, string> }
interface CertificateObject { metadata?: { ownerReferences?: Array<{ kind: string; name: string }> }; spec?: { dnsNames?: string[]; usages?: string[]; issuerRef?: { name: string } } }

/** What a TLS server presents: the certificate's issuer CN and its DER (verified against `ca` under `servername`). */
function presented(host: string, port: number, ca: string, servername: string): Promise<{ issuerCn: string; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, ca, servername }, () => {
      const cert = s.getPeerCertificate();
      s.destroy();
      resolve({ issuerCn: String(cert.issuer.CN), raw: cert.raw });
    });
    s.setTimeout(10_000, () => s.destroy(new Error('no TLS handshake within 10 s')));
    s.on('error', reject);
  });
}

/** PING in plain text: what came back before the server closed the connection. */
function plainTextPing(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let reply = '';
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d: Buffer) => { reply += d.toString('latin1'); });
    sock.on('error', () => {});
    sock.on('close', () => resolve(reply));
  });
}

describe('e2e: spec.tls.certManager with the real cert-manager', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let ns: string;
  let certManager: RunningCertManager | undefined;
  let crdsBefore = true;
  let tmp: string;
  let rootCa: string;
  /** Pod name, uid and restart count of each node after the first start. */
  let podsBefore: string[];

  operatorNamespace('cert-manager', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  });

  before(async function () {
    this.timeout(1_800_000); // a cold scripts/cert-manager.sh build
    crdsBefore = await certManagerServed(env);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-e2e-cm-'));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && certManager !== undefined) process.stderr.write(`\n--- cert-manager's log (tail) ---\n${certManager.daemon.tail(8000)}\n`);
  });

  after(async () => {
    await certManager?.stop();
    if (!crdsBefore && env !== undefined) await uninstallCertManagerCrds(env);
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const apply = (obj: object): Promise<string> => env.kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  const secret = (name: string): Promise<SecretObject> => env.rest.get<SecretObject>(`/api/v1/namespaces/${ns}/secrets/${name}`);
  const text = (s: SecretObject, key: string): string => Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
  const restarts = (pods: Pod[]): string[] => pods.map((p) => `${p.metadata?.name}:${p.metadata?.uid}:${(p.status as { containerStatuses?: Array<{ restartCount: number }> } | undefined)?.containerStatuses?.[0]?.restartCount}`).sort();

  it('without cert-manager\'s CRDs, reports CertManagerMissing (Warning Event and Degraded condition) and starts no pod', async function () {
    await apply(JSON.parse(irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 1, tls: { enabled: true, certManager: { issuerRef: { name: 'iris-ca' } } } })) as object);
    if (crdsBefore) this.skip(); // cert-manager is already installed on this cluster: nothing to show
    const events = await waitFor('a CertManagerMissing Event', async () => {
      const list = (await clusterEvents(env, ns, CLUSTER)).filter((e) => e.reason === 'CertManagerMissing');
      return list.length > 0 ? list : null;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(events[0]!.type).to.equal('Warning');
    expect(events[0]!.message).to.match(/needs cert-manager: the API server does not serve certificates\.cert-manager\.io/);
    const cr = await waitForStatus(env, ns, CLUSTER, 'a Degraded condition naming cert-manager', (c: IrisClusterObject) =>
      (c.status?.conditions ?? []).some((x) => x.type === 'Degraded' && x.status === 'True' && /needs cert-manager/.test(x.message)), 60_000);
    expect(cr.status?.phase).to.not.equal('Ready');
    // The pods mount the Secret cert-manager has not made: none runs.
    expect((await listPods(env, ns, NODES)).filter((p) => p.status?.phase === 'Running')).to.deep.equal([]);
  });

  it('with cert-manager running and a CA Issuer, serves TLS only with the certificate cert-manager issued; redis-cli --tls with its CA works; the replica streams over mutual TLS', async () => {
    if (crdsBefore) await apply(JSON.parse(irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 1, tls: { enabled: true, certManager: { issuerRef: { name: 'iris-ca' } } } })) as object);
    else await installCertManagerCrds(env);
    // cert-manager's CA bootstrap: a self-signed Issuer signs a CA Certificate, whose Secret backs the CA Issuer.
    await apply({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'selfsigned', namespace: ns }, spec: { selfSigned: {} } });
    await apply({
      apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'iris-root', namespace: ns },
      spec: { isCA: true, commonName: 'iris-cert-manager-root', secretName: 'iris-root', privateKey: { algorithm: 'ECDSA', size: 256 }, issuerRef: { name: 'selfsigned', kind: 'Issuer', group: 'cert-manager.io' } },
    });
    await apply({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'iris-ca', namespace: ns }, spec: { ca: { secretName: 'iris-root' } } });
    // The CRDs are there, cert-manager's controller is not yet: the operator makes its Certificate and says it waits for it.
    const waiting = await waitFor('a WaitingForCertificate Event', async () => {
      const list = (await clusterEvents(env, ns, CLUSTER)).filter((e) => e.reason === 'WaitingForCertificate');
      return list.length > 0 ? list : null;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(waiting[0]!.message).to.match(new RegExp(`Certificate ${ns}/${CLUSTER}-tls: waiting for cert-manager to issue it into Secret ${CLUSTER}-tls`));
    certManager = await startCertManager(env);

    const ready = await waitForStatus(env, ns, CLUSTER, 'Ready 2/2 with a streaming replica', (c: IrisClusterObject) =>
      c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 240_000);

    // The operator's Certificate: owned by the cluster, the nodes' names, server and client auth, the user's issuer.
    const cert = await env.rest.get<CertificateObject>(`/apis/cert-manager.io/v1/namespaces/${ns}/certificates/${CLUSTER}-tls`);
    expect(cert.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).to.deep.equal([`IrisCluster/${CLUSTER}`]);
    expect(cert.spec?.issuerRef?.name).to.equal('iris-ca');
    expect(cert.spec?.usages).to.include.members(['server auth', 'client auth']);
    expect(cert.spec?.dnsNames).to.include(`*.${CLUSTER}-nodes.${ns}.svc.cluster.local`);
    // Its Secret was written by cert-manager (its annotations), with the CA Issuer's CA as ca.crt.
    const tlsSecret = await secret(`${CLUSTER}-tls`);
    expect(tlsSecret.metadata?.annotations?.['cert-manager.io/issuer-name']).to.equal('iris-ca');
    rootCa = text(await secret('iris-root'), 'tls.crt');
    expect(text(tlsSecret, 'ca.crt')).to.equal(rootCa);
    const served = new crypto.X509Certificate(text(tlsSecret, 'tls.crt')).raw;

    const pods = await listPods(env, ns, NODES);
    expect(pods.length).to.equal(2);
    podsBefore = restarts(pods);
    const primaryName = ready.status!.shards![0]!.primary;
    const caFile = path.join(tmp, 'ca.crt');
    fs.writeFileSync(caFile, rootCa);
    for (const pod of pods) {
      const name = pod.metadata!.name!;
      const ep = await env.podEndpoint(ns, name, 6379);
      const sni = `${name}.${CLUSTER}-nodes.${ns}.svc.cluster.local`;
      // The node serves the certificate cert-manager issued, chained to cert-manager's CA (verified by node:tls).
      const got = await presented(ep.host, ep.port, rootCa, sni);
      expect(got.issuerCn, name).to.equal('iris-cert-manager-root');
      expect(got.raw.equals(served), `${name} serves the Secret's certificate`).to.equal(true);
      expect(await plainTextPing(ep.host, ep.port), `${name}: plain text gets no RESP reply`).to.not.contain('PONG');
    }
    const primary = await env.podEndpoint(ns, primaryName, 6379);
    const cli = (args: string[]) => run('redis-cli', ['--tls', '--cacert', caFile, '--sni', `${CLUSTER}.${ns}.svc`, '-h', primary.host, '-p', String(primary.port), ...args], { timeout: 10_000 });
    expect((await cli(['SET', 'cm:k', 'v1'])).stdout.trim()).to.equal('OK');
    expect((await cli(['GET', 'cm:k'])).stdout.trim()).to.equal('v1');
    // Without --tls, redis-cli gets no answer from a TLS-only port.
    const plainCli = await run('redis-cli', ['-h', primary.host, '-p', String(primary.port), 'PING'], { timeout: 10_000 }).then((r) => r.stdout, (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`);
    expect(plainCli).to.not.contain('PONG');
    // The write reached the replica over the bus, whose mutual TLS uses cert-manager's certificates on both ends.
    const replicaName = pods.map((p) => p.metadata!.name!).find((n) => n !== primaryName)!;
    const replica = await env.podEndpoint(ns, replicaName, 6379);
    const r = new Redis({ host: replica.host, port: replica.port, lazyConnect: true, maxRetriesPerRequest: 0, tls: { ca: rootCa, servername: `${CLUSTER}.${ns}.svc` } });
    r.on('error', () => {});
    try {
      await r.connect();
      expect(await r.call('READONLY')).to.equal('OK');
      await waitFor('the replica to have the write', async () => (await r.get('cm:k')) === 'v1', { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      r.disconnect();
    }
  });

  it('takes a certificate cert-manager renews (as cmctl renew) without restarting a pod; replication goes on', async () => {
    const certPath = `/apis/cert-manager.io/v1/namespaces/${ns}/certificates/${CLUSTER}-tls`;
    const oldPem = text(await secret(`${CLUSTER}-tls`), 'tls.crt');
    // cmctl renew: an Issuing=True condition on the Certificate's status makes cert-manager issue it again.
    type Status = { metadata: { resourceVersion?: string }; status?: { conditions?: Array<Record<string, unknown>> } };
    const cert = await env.rest.get<Status>(certPath);
    const conditions = (cert.status?.conditions ?? []).filter((c) => c.type !== 'Issuing');
    conditions.push({ type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal asked by the e2e test', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    await env.rest.replace(`${certPath}/status`, { ...cert, status: { ...cert.status, conditions } });
    const newPem = await waitFor('cert-manager to write a new certificate into the Secret', async () => {
      const pem = text(await secret(`${CLUSTER}-tls`), 'tls.crt');
      return pem !== '' && pem !== oldPem ? pem : null;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const renewed = new crypto.X509Certificate(newPem).raw;
    const pods = await listPods(env, ns, NODES);
    for (const pod of pods) {
      const name = pod.metadata!.name!;
      const ep = await env.podEndpoint(ns, name, 6379);
      await waitFor(`${name} to serve the renewed certificate`, async () =>
        (await presented(ep.host, ep.port, rootCa, `${name}.${CLUSTER}-nodes.${ns}.svc.cluster.local`)).raw.equals(renewed), { timeoutMs: 60_000, intervalMs: 500 });
    }
    expect(restarts(pods), 'same pods, no container restarts').to.deep.equal(podsBefore);
    const cr = await waitForStatus(env, ns, CLUSTER, 'Ready 2/2', (c: IrisClusterObject) => c.status?.phase === 'Ready' && c.status.ready === '2/2', 60_000);
    const primary = await env.podEndpoint(ns, cr.status!.shards![0]!.primary, 6379);
    const replica = await env.podEndpoint(ns, cr.status!.shards![0]!.replicas[0]!.name, 6379);
    const tlsOpts = { ca: rootCa, servername: `${CLUSTER}.${ns}.svc` };
    const p = new Redis({ host: primary.host, port: primary.port, lazyConnect: true, maxRetriesPerRequest: 0, tls: tlsOpts });
    const r = new Redis({ host: replica.host, port: replica.port, lazyConnect: true, maxRetriesPerRequest: 0, tls: tlsOpts });
    for (const c of [p, r]) c.on('error', () => {});
    try {
      await p.connect();
      await r.connect();
      expect(await p.set('cm:renewed', 'v2')).to.equal('OK');
      expect(await r.call('READONLY')).to.equal('OK');
      await waitFor('the replica to have the write made after the renewal', async () => (await r.get('cm:renewed')) === 'v2', { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      p.disconnect();
      r.disconnect();
    }
  });
});
