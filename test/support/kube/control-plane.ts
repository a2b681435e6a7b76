/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver (TLS
 * with a generated CA, service-account keys, RBAC, a static admin token)
 * and kube-controller-manager (StatefulSet, garbage collector, PV binder,
 * service accounts, ...), with its state and logs in one temp directory and
 * a kubeconfig written there. No scheduler, no kubelet, no kube-proxy: the
 * test kubelet (./kubelet) binds and runs pods.
 */
import fs from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../ports.js';
import { waitFor } from '../wait.js';
import { kubeBinaries, type KubeBinaries } from './binaries.js';
import { kubeconfigYaml, makePki, type Pki } from './certs.js';
import { startDaemon, type Daemon } from './daemon.js';
import { KubeClient } from '../../../operator/kube/client.js';

export interface ControlPlaneOptions {
  /** State directory; a fresh temp dir by default. */
  stateDir?: string;
  /** Keep the state directory after stop (for debugging). */
  keepState?: boolean;
}

export interface ControlPlane {
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly server: string;
  readonly apiserverPort: number;
  /** etcd's client URL (tests compact it to provoke 410 Gone). */
  readonly etcdUrl: string;
  readonly pki: Pki;
  readonly bins: KubeBinaries;
  readonly rest: KubeClient;
  /** Milliseconds from start() until the API server was ready and the controllers were running. */
  readonly startMs: number;
  stop(): Promise<void>;
}

/** The first address of --service-cluster-ip-range: the `kubernetes` Service. */
const SERVICE_RANGE = '10.96.0.0/16';
const KUBERNETES_SERVICE_IP = '10.96.0.1';

function httpsOk(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, rejectUnauthorized: ca !== undefined, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function waitHealthy(d: Daemon, what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  await waitFor(what, async () => {
    if (!d.isAlive()) throw new Error(`${d.name} exited; log ${d.logFile}:\n${d.tail()}`);
    return probe();
  }, { timeoutMs, intervalMs: 200 });
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const t0 = Date.now();
  const bins = await kubeBinaries();
  const stateDir = opts.stateDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'irisdb-kube-')));
  const logs = path.join(stateDir, 'logs');
  await fs.mkdir(logs, { recursive: true });
  const pki = await makePki(path.join(stateDir, 'pki'), KUBERNETES_SERVICE_IP);
  const [etcdClient, etcdPeer, apiPort, kcmPort] = (await freePorts(4)) as [number, number, number, number];
  const daemons: Daemon[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order: controllers first, etcd last.
    for (const d of [...daemons].reverse()) await d.stop(10000);
  };

  try {
    const etcd = startDaemon('etcd', bins.etcd, [
      '--name', 'default',
      '--data-dir', path.join(stateDir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`,
      '--log-level', 'warn',
      // Test data is disposable; fsync on a shared 2-core box only costs time.
      '--unsafe-no-fsync',
    ], path.join(logs, 'etcd.log'));
    daemons.push(etcd);
    await waitHealthy(etcd, 'etcd health', async () => {
      const res = await fetch(`http://127.0.0.1:${etcdClient}/health`).catch(() => null);
      return res !== null && res.ok;
    }, 60000);

    const apiserver = startDaemon('kube-apiserver', bins.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(stateDir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      // Endpoints may not hold loopback addresses; there is no kube-proxy anyway.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      // PodTemplates bypass the watch cache, so a watch from a compacted
      // version gets the 410 Gone a long-running client meets (informer test).
      '--watch-cache-sizes=podtemplates#0',
      '--profiling=false',
      '--v=1',
    ], path.join(logs, 'kube-apiserver.log'));
    daemons.push(apiserver);

    const server = `https://127.0.0.1:${apiPort}`;
    const caPem = await fs.readFile(pki.caCert);
    await waitHealthy(apiserver, 'kube-apiserver /readyz', () => httpsOk(`${server}/readyz`, caPem), 180000);

    const kubeconfig = path.join(stateDir, 'kubeconfig');
    await fs.writeFile(kubeconfig, kubeconfigYaml(server, caPem.toString(), 'irisdb-test-admin', pki.adminToken), { mode: 0o600 });
    const kcmKubeconfig = path.join(stateDir, 'kube-controller-manager.kubeconfig');
    await fs.writeFile(kcmKubeconfig, kubeconfigYaml(server, caPem.toString(), 'system:kube-controller-manager', pki.controllerManagerToken), { mode: 0o600 });

    const kcm = startDaemon('kube-controller-manager', bins.kubeControllerManager, [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${path.join(stateDir, 'kcm-certs')}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      '--profiling=false',
      '--v=1',
    ], path.join(logs, 'kube-controller-manager.log'));
    daemons.push(kcm);
    // Its serving certificate is self-signed: only liveness is checked here.
    await waitHealthy(kcm, 'kube-controller-manager /healthz', () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`), 120000);

    const rest = await KubeClient.fromFile(kubeconfig);
    // Pods are rejected until the service-account controller made "default".
    await waitFor('the default ServiceAccount', () => rest.find('/api/v1/namespaces/default/serviceaccounts/default'), { timeoutMs: 60000, intervalMs: 200 });

    return {
      stateDir, kubeconfig, server, apiserverPort: apiPort, pki, bins, rest, etcdUrl: `http://127.0.0.1:${etcdClient}`,
      startMs: Date.now() - t0,
      async stop() {
        rest.close();
        await stopAll();
        if (opts.keepState !== true && process.env.IRIS_KUBE_KEEP_STATE !== '1') {
          await fs.rm(stateDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
