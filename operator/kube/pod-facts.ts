/**
 * What the platform reads off a pod: its address, whether its node process
 * runs, its restarts and last exit, and whether it is Ready. Pod objects
 * come straight from the API as JSON (times are strings). Pure.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { NodeEndpoint } from '../platform/types.js';
import { CONTAINER, PORTS } from './names.js';

export function nodeContainer(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === CONTAINER);
}

/** ms since the epoch of an API time (a string on the wire; Date in client-node's types). */
export function timeMs(v: Date | string | undefined | null): number | null {
  if (v === undefined || v === null) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t;
}

export function isDeleting(obj: { metadata?: { deletionTimestamp?: Date | string } }): boolean {
  return obj.metadata?.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null;
}

export function endpointOf(pod: V1Pod): NodeEndpoint | null {
  const ip = pod.status?.podIP;
  if (ip === undefined || ip === '') return null;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return { host: ip, port: PORTS.resp, busPort: PORTS.bus, httpUrl: `${servesHttps(pod) ? 'https' : 'http'}://${host}:${PORTS.http}` };
}

/** The pod's node runs --tls-http yes (spec.tls): its HTTP port serves HTTPS only. Read off the pod, so a rollout's old and new pods are each reached right. */
export function servesHttps(pod: V1Pod): boolean {
  const args = pod.spec?.containers.find((c) => c.name === CONTAINER)?.args ?? [];
  return args.some((a, i) => a === '--tls-http' && args[i + 1] === 'yes');
}

/**
 * The pod exists and its node process has not exited: it may still be
 * starting (pending, container creating). A pod being deleted, finished,
 * or whose container has terminated or waits to restart after exiting,
 * does not run.
 */
export function podRunning(pod: V1Pod): boolean {
  if (isDeleting(pod)) return false;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const c = nodeContainer(pod);
  if (c === undefined) return true;
  if (c.state?.terminated !== undefined && c.state.terminated !== null) return false;
  if (c.state?.waiting !== undefined && c.state.waiting !== null && c.lastState?.terminated !== undefined && c.lastState.terminated !== null) return false;
  return true;
}

/** The container is running right now (not merely starting). */
export function containerRunning(pod: V1Pod): boolean {
  const c = nodeContainer(pod);
  return c?.state?.running !== undefined && c.state.running !== null;
}

export function podReady(pod: V1Pod): boolean {
  return !isDeleting(pod) && pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function restartsOf(pod: V1Pod): number {
  return nodeContainer(pod)?.restartCount ?? 0;
}

/** When the node process last exited, as the kubelet reports it. */
export function lastExitOf(pod: V1Pod): number | null {
  const c = nodeContainer(pod);
  const times = [timeMs(c?.state?.terminated?.finishedAt), timeMs(c?.lastState?.terminated?.finishedAt)].filter((t): t is number => t !== null);
  return times.length === 0 ? null : Math.max(...times);
}

/**
 * Whether the change old → pod means the node process exited: the pod
 * started being deleted, or its container restarted or stopped running.
 */
export function exitedBetween(old: V1Pod | undefined, pod: V1Pod): boolean {
  if (old === undefined || old.metadata?.uid !== pod.metadata?.uid) return isDeleting(pod);
  if (isDeleting(pod) && !isDeleting(old)) return true;
  if (restartsOf(pod) > restartsOf(old)) return true;
  return containerRunning(old) && !containerRunning(pod);
}
