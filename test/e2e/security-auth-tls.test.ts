/**
 * spec.auth and spec.tls on Kubernetes (issue #14): an IrisCluster with a
 * password Secret and operator-issued TLS — RESP serves TLS only (a
 * plain-text client gets no reply), the right password over TLS verified
 * against the cluster's CA is accepted, a wrong or missing one refused,
 * replication runs over the bus's mutual TLS; the operator's Secrets hold
 * no password in clear; rotating the password Secret takes effect with no
 * pod restart (same pod UIDs, no container restarts), through the kubelet's
 * Secret-volume refresh and the node's aclfile reload. And a cluster on
 * the user's own kubernetes.io/tls Secret, whose certificate is replaced in
 * place: the nodes serve the new one, again without a restart. With TLS
 * the HTTP port is HTTPS only: plain http is refused, /v1 answers over
 * HTTPS verified against the CA under the client Service's name, pods are
 * Ready through HTTPS probes, and the operator drives the nodes' /admin
 * over HTTPS (status from /admin/replication, a switchover on the user's CA).
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
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster, Redis } from 'ioredis';
import { createCertificateAuthority, issueCertificate, type CertFiles } from '../../node/tls/cert-authority.js';
import { nodeFetch } from '../../common/node-fetch.js';
import { certificateHosts } from '../../operator/kube/build/tls-secret.js';
import { waitFor } from '../support/wait.js';
import { isReady, listPods, type KubeEnv, type Pod } from './helpers.js';
import {
  clusterEvents, irisClusterManifest, OPERATOR_SELECTOR, operatorNamespace, patchClusterSpec, waitForStatus, type IrisClusterObject,
} from './operator-support.js';

const CLUSTER = 'sec';
const run = promisify(execFile);
const NODES = `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${CLUSTER}`;

interface SecretObject { metadata?: { name?: string }; type?: string; data?: Record<string, string> }

/** Sends PING in plain text; what came back before the server closed the connection (bounded). */
function plainTextPing(host: string, port: number): Promise<{ closed: boolean; reply: string }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let reply = '';
    const done = (closed: boolean): void => {
      sock.destroy();
      resolve({ closed, reply });
    };
    sock.setTimeout(10_000, () => done(false));
    sock.on('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d: Buffer) => { reply += d.toString('latin1'); });
    sock.on('error', () => done(true));
    sock.on('close', () => done(true));
  });
}

describe('e2e: spec.auth and spec.tls of an IrisCluster', function () {
  this.timeout(600000);
  let env: KubeEnv;
  let ns: string;
  const clients: Redis[] = [];

  operatorNamespace('security', CLUSTER, (e, n) => {
    env = e;
    ns = n;
  }, { afterEachTest: () => {
    for (const c of clients.splice(0)) c.disconnect();
  } });

  const setPassword = (password: string): Promise<string> => env.kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec-password', namespace: ns }, type: 'Opaque', stringData: { password },
  }));
  const secret = (name: string): Promise<SecretObject> => env.rest.get<SecretObject>(`/api/v1/namespaces/${ns}/secrets/${name}`);
  const text = (s: SecretObject, key: string): string => Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');

  /** A TLS connection to a pod, verified against the cluster's CA under the pod's DNS name (the certificate has no IP addresses). */
  async function connect(pod: Pod, password: string | undefined): Promise<Redis> {
    const ep = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
    const ca = text(await secret(`${CLUSTER}-tls`), 'ca.crt');
    const client = new Redis({
      host: ep.host, port: ep.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null,
      ...(password !== undefined ? { password } : {}),
      tls: { ca, servername: `${pod.metadata!.name}.${CLUSTER}-nodes.${ns}.svc.cluster.local` },
    });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  /** PING after AUTH with `password` (none: no AUTH) on a new TLS connection: 'PONG' or the error reply. */
  async function attempt(pod: Pod, password: string | undefined): Promise<string> {
    try {
      const client = await connect(pod, undefined);
      if (password !== undefined) await client.auth(password);
      return await client.ping();
    } catch (err) {
      return (err as Error).message;
    }
  }

  const restarts = (pods: Pod[]): string[] => pods.map((p) => `${p.metadata?.name}:${p.metadata?.uid}:${(p.status as { containerStatuses?: Array<{ restartCount: number }> } | undefined)?.containerStatuses?.[0]?.restartCount}`).sort();
  let primary: Pod;
  let podsBefore: string[];

  it('starts with a password and operator-issued TLS: TLS only, the password required, replication over mutual TLS', async () => {
    await setPassword('first password');
    await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, CLUSTER, { shards: 1, replicasPerShard: 1, auth: { secretRef: { name: 'sec-password' } }, tls: { enabled: true } }));
    const ready = await waitForStatus(env, ns, CLUSTER, 'Ready 2/2 with a streaming replica', (c: IrisClusterObject) =>
      c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 240000);

    // The operator's Secrets: a CA, a kubernetes.io/tls certificate signed by it, the aclfile with the password's digest only.
    const tls = await secret(`${CLUSTER}-tls`);
    expect(tls.type).to.equal('kubernetes.io/tls');
    expect(text(tls, 'ca.crt')).to.equal(text(await secret(`${CLUSTER}-ca`), 'ca.crt'));
    const acl = text(await secret(`${CLUSTER}-acl`), 'users.acl');
    expect(acl).to.match(/^user default on #[0-9a-f]{64} /);
    expect(acl).to.not.contain('first password');

    const pods = await listPods(env, ns, NODES);
    primary = pods.find((p) => p.metadata?.name === ready.status!.shards![0]!.primary)!;
    const ep = await env.podEndpoint(ns, primary.metadata!.name!, 6379);
    const plain = await plainTextPing(ep.host, ep.port);
    expect(plain.reply, 'a plain-text client gets no RESP reply').to.not.contain('PONG');
    expect(plain.closed, 'the plain-text connection is closed').to.equal(true);

    const client = await connect(primary, 'first password');
    expect(await client.set('sec:k', 'v1')).to.equal('OK');
    expect(await client.get('sec:k')).to.equal('v1');
    expect(await attempt(primary, 'wrong password')).to.match(/WRONGPASS/);
    expect(await attempt(primary, undefined)).to.match(/NOAUTH/);
    // The write reached the replica over the bus (mutual TLS): read it there.
    const replica = pods.find((p) => p !== primary)!;
    const r = await connect(replica, 'first password');
    expect(await r.call('READONLY')).to.equal('OK');
    await waitFor('the replica to have the write', async () => (await r.get('sec:k')) === 'v1', { timeoutMs: 30000, intervalMs: 200 });
    podsBefore = restarts(pods);
  });

  it('serves the HTTP port over HTTPS only: plain http refused, /v1 with the CA and the password, probes and the operator\'s /admin over HTTPS', async () => {
    // Readiness follows the probe's period: on a busy machine a node that just got its map may not be Ready yet.
    const pods = await waitFor('every node pod Ready through its HTTPS readiness probe', async () => {
      const list = await listPods(env, ns, NODES);
      return list.length === 2 && list.every(isReady) ? list : null;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    for (const p of pods) {
      const full = await env.rest.get<V1Pod>(`/api/v1/namespaces/${ns}/pods/${p.metadata!.name!}`);
      const node = full.spec!.containers.find((c) => c.name === 'node')!;
      expect(node.readinessProbe?.httpGet?.scheme, 'readiness probe').to.equal('HTTPS');
      expect(node.livenessProbe?.httpGet?.scheme, 'liveness probe').to.equal('HTTPS');
    }
    const ep = await env.podEndpoint(ns, primary.metadata!.name!, 8080);
    const plain = await fetch(`http://${ep.host}:${ep.port}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((r) => `status ${r.status}`, (err: Error) => `failed: ${err.message}`);
    expect(plain, 'plain http on the HTTP port').to.match(/^failed/);
    // Verified against the cluster's CA under the client Service's name (the certificate names no IP), as the operator does.
    const ca = text(await secret(`${CLUSTER}-tls`), 'ca.crt');
    const https = nodeFetch({ caPem: () => ca, serverName: `${CLUSTER}.${ns}.svc` });
    const url = `https://${ep.host}:${ep.port}/v1/kv/sec:k`;
    expect((await https(url)).status, 'no credentials').to.equal(401);
    const ok = await https(url, { headers: { authorization: `Basic ${Buffer.from('default:first password').toString('base64')}` } });
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.contain('v1');
    const wrongName = await nodeFetch({ caPem: () => ca, serverName: 'not-the-cluster.example' })(url).then(() => 'answered', (err: Error) => String((err.cause as Error | undefined)?.message ?? err.message));
    expect(wrongName, 'a name the certificate does not hold').to.match(/altnames|does not match/i);
    // The operator reaches /admin over HTTPS: its view of the replica's link comes from /admin/replication.
    await waitForStatus(env, ns, CLUSTER, 'the operator to observe both nodes', (c: IrisClusterObject) =>
      c.status?.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 60000);
  });

  it('takes a rotated password without restarting a pod', async () => {
    await setPassword('second password');
    for (const pod of await listPods(env, ns, NODES)) {
      await waitFor(`${pod.metadata?.name} to take the new password`, async () => (await attempt(pod, 'second password')) === 'PONG', { timeoutMs: 90000, intervalMs: 500 });
      expect(await attempt(pod, 'first password'), pod.metadata?.name).to.match(/WRONGPASS/);
    }
    const client = await connect(primary, 'second password');
    expect(await client.get('sec:k')).to.equal('v1');
    // A cluster client as docs/kubernetes.md shows: seeded with a pod IP, the client Service's name as SNI for every node.
    const ep = await env.podEndpoint(ns, primary.metadata!.name!, 6379);
    const ca = text(await secret(`${CLUSTER}-tls`), 'ca.crt');
    const cluster = new Cluster([{ host: ep.host, port: ep.port }], { redisOptions: { password: 'second password', tls: { ca, servername: `${CLUSTER}.${ns}.svc` } } });
    cluster.on('error', () => {});
    try {
      expect(await cluster.set('sec:cluster', 'c')).to.equal('OK');
      expect(await cluster.get('sec:k')).to.equal('v1');
    } finally {
      cluster.disconnect();
    }
    // And redis-cli as docs/kubernetes.md shows it.
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-e2e-ca-')), 'ca.crt');
    try {
      fs.writeFileSync(caFile, ca);
      const { stdout } = await run('redis-cli', ['--tls', '--cacert', caFile, '--sni', `${CLUSTER}.${ns}.svc`, '-a', 'second password', '--no-auth-warning',
        '-h', ep.host, '-p', String(ep.port), '-c', 'GET', 'sec:cluster'], { timeout: 10000 });
      expect(stdout.trim()).to.equal('c');
    } finally {
      fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
    }
    expect(restarts(await listPods(env, ns, NODES)), 'same pods, no container restarts').to.deep.equal(podsBefore);
    expect(text(await secret(`${CLUSTER}-acl`), 'users.acl')).to.not.contain('second password');
  });

  it('adds ACL users from an aclfile Secret (spec.auth.aclSecretRef) without restarting a pod', async () => {
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec-users', namespace: ns }, type: 'Opaque',
      stringData: { 'users.acl': 'user alice on >alice-pw ~alice:* +@all\n' },
    }));
    await patchClusterSpec(env, ns, CLUSTER, { auth: { secretRef: { name: 'sec-password' }, aclSecretRef: { name: 'sec-users' } } });
    for (const pod of await listPods(env, ns, NODES)) {
      await waitFor(`${pod.metadata?.name} to know alice`, async () => {
        try {
          const c = await connect(pod, undefined);
          await c.call('AUTH', 'alice', 'alice-pw');
          return true;
        } catch {
          return false;
        }
      }, { timeoutMs: 90000, intervalMs: 500 });
      expect(await attempt(pod, 'second password'), 'default keeps the password of secretRef').to.equal('PONG');
    }
    const alice = await connect(primary, undefined);
    await alice.call('AUTH', 'alice', 'alice-pw');
    expect(await alice.set('alice:1', 'a')).to.equal('OK');
    expect(await alice.set('sec:k', 'x').catch((err: Error) => err.message)).to.match(/^NOPERM/);
    const acl = text(await secret(`${CLUSTER}-acl`), 'users.acl');
    expect(acl).to.match(/^user alice on #[0-9a-f]{64} /m);
    expect(acl).to.not.contain('alice-pw');
    expect(restarts(await listPods(env, ns, NODES)), 'same pods, no container restarts').to.deep.equal(podsBefore);
  });

  it('issues its certificate again when the one in <cluster>-tls is not its CA\'s, and the nodes serve it without a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-e2e-tls-'));
    try {
      // Someone put another CA's certificate (and that CA) into the operator's Secret: the nodes follow it, the bus still agrees.
      const other = await createCertificateAuthority(dir, 'other-ca');
      const foreign = await issueCertificate(other, dir, 'foreign', { hosts: certificateHosts(CLUSTER, ns) });
      const original = new crypto.X509Certificate(text(await secret(`${CLUSTER}-tls`), 'tls.crt')).serialNumber;
      await env.rest.mergePatch(`/api/v1/namespaces/${ns}/secrets/${CLUSTER}-tls`, { stringData: {
        'tls.crt': fs.readFileSync(foreign.certFile, 'utf8'), 'tls.key': fs.readFileSync(foreign.keyFile, 'utf8'), 'ca.crt': fs.readFileSync(other.certFile, 'utf8'),
      } });
      // A spec change makes the operator look at its certificate now rather than at its next periodic check.
      await patchClusterSpec(env, ns, CLUSTER, { failover: { heartbeatMs: 400 } });
      const caPem = text(await secret(`${CLUSTER}-ca`), 'ca.crt');
      const reissued = await waitFor('the operator to issue a certificate from its CA again', async () => {
        const s = await secret(`${CLUSTER}-tls`);
        const cert = new crypto.X509Certificate(text(s, 'tls.crt'));
        return text(s, 'ca.crt') === caPem && cert.verify(new crypto.X509Certificate(caPem).publicKey) && cert.serialNumber;
      }, { timeoutMs: 60000, intervalMs: 250 });
      expect(reissued, 'a new certificate, not the first one').to.not.equal(original);
      for (const pod of await listPods(env, ns, NODES)) {
        const ep = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
        const served = (): Promise<string> => new Promise((resolve) => {
          const sock = tls.connect({ host: ep.host, port: ep.port, ca: caPem, servername: `${pod.metadata!.name}.${CLUSTER}-nodes.${ns}.svc` }, () => {
            const serial = sock.getPeerCertificate().serialNumber;
            sock.end();
            resolve(serial);
          });
          sock.on('error', (err) => resolve(err.message));
        });
        await waitFor(`${pod.metadata?.name} to serve the reissued certificate`, async () => (await served()) === reissued, { timeoutMs: 90000, intervalMs: 500 });
      }
      const events = await clusterEvents(env, ns, CLUSTER);
      expect(events.some((e) => e.reason === 'CertificateIssued' && /not signed by the cluster's CA/.test(e.message ?? ''))).to.equal(true);
      await waitForStatus(env, ns, CLUSTER, 'the replica streaming again', (c: IrisClusterObject) => c.status?.shards?.[0]?.replicas[0]?.link === 'streaming', 60000);
      // Its expiry on the operator's /metrics, for alerting (cert-manager's metric, by another name).
      const notAfter = Date.parse(new crypto.X509Certificate(text(await secret(`${CLUSTER}-tls`), 'tls.crt')).validTo) / 1000;
      const [op] = await listPods(env, ns, OPERATOR_SELECTOR);
      const metricsEp = await env.podEndpoint(ns, op!.metadata!.name!, 9090);
      const metrics = await (await fetch(`http://${metricsEp.host}:${metricsEp.port}/metrics`)).text();
      expect(metrics).to.contain(`irisdb_operator_tls_certificate_expiration_timestamp_seconds{namespace="${ns}",cluster="${CLUSTER}",kind="server"} ${notAfter}\n`);
      // And the operator's own CA's (kind="ca"), also in status.tls.
      const caNotAfter = Date.parse(new crypto.X509Certificate(text(await secret(`${CLUSTER}-ca`), 'ca.crt')).validTo) / 1000;
      expect(metrics).to.contain(`irisdb_operator_tls_certificate_expiration_timestamp_seconds{namespace="${ns}",cluster="${CLUSTER}",kind="ca"} ${caNotAfter}\n`);
      expect(restarts(await listPods(env, ns, NODES)), 'same pods, no container restarts').to.deep.equal(podsBefore);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the user\'s kubernetes.io/tls Secret, and a replaced certificate without a restart', async () => {
    const name = 'usertls';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-e2e-tls-'));
    try {
      const ca = await createCertificateAuthority(dir, 'user-ca');
      const issue = async (file: string): Promise<CertFiles> => issueCertificate(ca, dir, file, { hosts: certificateHosts(name, ns) });
      const apply = async (files: CertFiles): Promise<void> => {
        await env.kubectl(['apply', '-f', '-'], JSON.stringify({
          apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'user-tls', namespace: ns },
          stringData: { 'tls.crt': fs.readFileSync(files.certFile, 'utf8'), 'tls.key': fs.readFileSync(files.keyFile, 'utf8'), 'ca.crt': fs.readFileSync(ca.certFile, 'utf8') },
        }));
      };
      const first = await issue('first');
      await apply(first);
      await env.kubectl(['apply', '-f', '-'], irisClusterManifest(ns, name, { shards: 1, replicasPerShard: 1, tls: { enabled: true, secretRef: { name: 'user-tls' } } }));
      await waitForStatus(env, ns, name, 'Ready 2/2 with a streaming replica', (c: IrisClusterObject) =>
        c.status?.phase === 'Ready' && c.status.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 240000);
      expect(await env.rest.find(`/api/v1/namespaces/${ns}/secrets/${name}-ca`), 'no operator CA with secretRef').to.equal(null);
      const pods = await listPods(env, ns, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${name}`);
      const before = restarts(pods);
      /** The serial number of the certificate the pod serves, verified against the user's CA under its DNS name. */
      const served = async (pod: Pod): Promise<string> => {
        const ep = await env.podEndpoint(ns, pod.metadata!.name!, 6379);
        return new Promise((resolve, reject) => {
          const sock = tls.connect({ host: ep.host, port: ep.port, ca: fs.readFileSync(ca.certFile), servername: `${pod.metadata!.name}.${name}-nodes.${ns}.svc` }, () => {
            const serial = sock.getPeerCertificate().serialNumber;
            sock.end();
            resolve(serial);
          });
          sock.on('error', reject);
        });
      };
      const serialOf = (files: CertFiles): string => new crypto.X509Certificate(fs.readFileSync(files.certFile)).serialNumber;
      for (const pod of pods) expect(await served(pod), pod.metadata?.name).to.equal(serialOf(first));
      const second = await issue('second');
      await apply(second);
      for (const pod of pods) {
        await waitFor(`${pod.metadata?.name} to serve the new certificate`, async () => (await served(pod)) === serialOf(second), { timeoutMs: 90000, intervalMs: 500 });
      }
      expect(restarts(await listPods(env, ns, `app.kubernetes.io/name=irisdb,app.kubernetes.io/instance=${name}`)), 'same pods, no container restarts').to.deep.equal(before);
      // A switchover: the operator changes both nodes' roles through /admin over HTTPS, trusting the user's CA.
      const was = (await waitForStatus(env, ns, name, 'a primary', (c: IrisClusterObject) => c.status?.shards?.[0]?.primary !== undefined, 30000)).status!.shards![0]!.primary;
      await env.kubectl(['annotate', '--overwrite', '-n', ns, `irisclusters/${name}`, 'irisdb.io/request=switchover shard-0 id=tlsswtch1']);
      await waitForStatus(env, ns, name, 'the other node primary, its replica streaming again', (c: IrisClusterObject) =>
        c.status?.shards?.[0]?.primary !== was && c.status?.ready === '2/2' && c.status.shards?.[0]?.replicas[0]?.link === 'streaming', 120000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
