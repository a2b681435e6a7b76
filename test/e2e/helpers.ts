/**
 * Shared by the e2e specs: importing this module registers the root-level
 * hook that tears the Kubernetes environment down after the whole run (the
 * module is evaluated once, so the hook is registered once), and provides
 * namespaces per spec, pod waits and a raw RESP round trip.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { kubeEnv, stopKubeEnv, type KubeEnv } from '../support/kube/env.js';
import type { KubeList, KubeObject } from '../support/kube/objects.js';
import { waitFor } from '../support/wait.js';

after(async function () {
  this.timeout(180000);
  await stopKubeEnv();
});

/** Starting the local environment includes a cold build on a fresh machine. */
export const ENV_TIMEOUT_MS = 60 * 60 * 1000;

export { kubeEnv, type KubeEnv };

export interface Pod extends KubeObject {
  spec?: { nodeName?: string; volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{
      name: string; ready: boolean; restartCount: number; containerID?: string;
      state?: { waiting?: { reason?: string }; running?: { startedAt: string }; terminated?: { exitCode: number } };
      lastState?: { terminated?: { exitCode: number } };
    }>;
  };
}

export async function createNamespace(env: KubeEnv, prefix: string): Promise<string> {
  const name = `e2e-${prefix}-${crypto.randomBytes(3).toString('hex')}`;
  await env.rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'irisdb.io/e2e': 'true' } } });
  // Pods need the namespace's default ServiceAccount, made by the controller manager.
  await waitFor(`ServiceAccount default in ${name}`, () => env.rest.find(`/api/v1/namespaces/${name}/serviceaccounts/default`), { timeoutMs: 60000, intervalMs: 100 });
  return name;
}

export async function deleteNamespace(env: KubeEnv, name: string): Promise<void> {
  await env.rest.delete(`/api/v1/namespaces/${name}`).catch(() => undefined);
}

export function isReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function listPods(env: KubeEnv, namespace: string, selector: string): Promise<Pod[]> {
  const list = await env.rest.get<KubeList<Pod>>(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector });
  return list.items;
}

export async function describePods(env: KubeEnv, namespace: string, selector: string): Promise<string> {
  const pods = await listPods(env, namespace, selector).catch(() => []);
  const parts: string[] = [];
  for (const p of pods) {
    parts.push(`${p.metadata?.name}: ${JSON.stringify(p.status)}`);
    parts.push(await env.podLogs(namespace, p.metadata?.name ?? ''));
  }
  return parts.join('\n');
}

/** Sends one command as a RESP array and returns the raw reply once a full simple or bulk reply has arrived. */
export function respCommand(host: string, port: number, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const fail = (err: Error): void => { sock.destroy(); reject(err); };
    sock.setTimeout(timeoutMs, () => fail(new Error(`no RESP reply from ${host}:${port} within ${timeoutMs} ms (got ${JSON.stringify(buf)})`)));
    sock.on('error', fail);
    sock.on('connect', () => {
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      if (buf[0] === '$') {
        const len = Number(buf.slice(1, eol));
        if (len >= 0 && buf.length < eol + 2 + len + 2) return;
      }
      sock.end();
      resolve(buf);
    });
  });
}
