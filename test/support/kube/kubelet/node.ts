/**
 * The test node's API objects: the Node (Ready, with capacity and
 * addresses) and its heartbeat Lease in kube-node-lease, renewed every few
 * seconds so the controller manager's node lifecycle controller keeps the
 * node Ready and never evicts its pods. The Ready condition's heartbeat is
 * refreshed less often, as the kubelet does.
 */
import os from 'node:os';
import { KubeApiError } from '../../../../operator/kube/errors.js';
import type { KubeClient } from '../../../../operator/kube/client.js';
import { NODES, type KubeObject } from '../objects.js';
import { LEASES, resourcePath } from '../../../../operator/kube/paths.js';
import { NODE_ALLOCATABLE } from './env.js';

export interface NodeHeartbeat {
  stop(): Promise<void>;
}

function nodeStatus(nodeName: string, hostIP: string, kubeletVersion: string): Record<string, unknown> {
  const now = new Date().toISOString();
  const cond = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now,
  });
  const resources = {
    cpu: String(NODE_ALLOCATABLE.cpu), memory: `${Math.round(NODE_ALLOCATABLE.memory! / 2 ** 20)}Mi`,
    'ephemeral-storage': `${Math.round(NODE_ALLOCATABLE['ephemeral-storage']! / 2 ** 20)}Mi`, pods: '250',
  };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'irisdb test kubelet is posting ready status'),
    ],
    addresses: [{ type: 'InternalIP', address: hostIP }, { type: 'Hostname', address: nodeName }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: 'irisdb-test', systemUUID: 'irisdb-test', bootID: String(process.pid),
      kernelVersion: os.release(), osImage: `${os.type()} (irisdb test kubelet)`,
      containerRuntimeVersion: 'irisdb-test://0.1.0', kubeletVersion, kubeProxyVersion: '',
      operatingSystem: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

export async function registerNode(rest: KubeClient, nodeName: string, hostIP: string, renewMs = 5000): Promise<NodeHeartbeat> {
  const version = await rest.get<{ gitVersion?: string }>('/version').then((v) => v.gitVersion ?? 'v0.0.0', () => 'v0.0.0');
  const nodePath = resourcePath(NODES, undefined, nodeName);
  const labels = {
    'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch, 'irisdb.io/test-kubelet': 'true',
  };
  try {
    await rest.create(resourcePath(NODES), { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels }, spec: {} });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
  }
  const writeStatus = (): Promise<unknown> => rest.mergePatch(`${nodePath}/status`, { status: nodeStatus(nodeName, hostIP, version) });
  await writeStatus();

  const leasePath = resourcePath(LEASES, 'kube-node-lease', nodeName);
  const node = await rest.get<KubeObject>(nodePath);
  const renew = async (): Promise<void> => {
    const spec = { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') };
    try {
      await rest.mergePatch(leasePath, { spec });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
      await rest.create(resourcePath(LEASES, 'kube-node-lease'), {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: nodeName, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata?.uid }] },
        spec,
      });
    }
  };
  await renew();
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    // Errors are transient (API server busy); the next tick retries.
    renew().catch(() => undefined);
    if (ticks % 12 === 0) writeStatus().catch(() => undefined);
  }, renewMs);
  return {
    async stop() {
      clearInterval(timer);
    },
  };
}
