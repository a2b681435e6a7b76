/**
 * Pod status from the state of its containers, following the kubelet's
 * rules: the phase (Pending until every container has started; Running while
 * any runs or will be restarted; Succeeded/Failed once all have terminated
 * for good), the conditions, and one containerStatus per container. Pure:
 * times are passed in as ISO strings. Output is wire-format JSON.
 */
export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; signal?: number; reason: string; message?: string; startedAt: string; finishedAt: string };

export interface ContainerView {
  name: string;
  image: string;
  state: ContainerState;
  lastTerminated?: Extract<ContainerState, { kind: 'terminated' }>;
  restartCount: number;
  ready: boolean;
  started: boolean;
  containerID?: string;
  /** Has this container ever started in this pod (a crash-looping one has). */
  everStarted: boolean;
}

export interface PodView {
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  podIP?: string;
  hostIP: string;
  startTime: string;
  /** Init containers still to run (or running). */
  initPending: boolean;
  initFailed: boolean;
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** The previous status's conditions, to keep transition times. */
  previousConditions: WireCondition[];
  now: string;
}

export interface WireCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime: string | null;
  lastTransitionTime: string;
}

export function podPhase(v: Pick<PodView, 'restartPolicy' | 'initPending' | 'initFailed' | 'containers'>): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  if (v.initFailed && v.restartPolicy === 'Never') return 'Failed';
  if (v.initPending) return 'Pending';
  let running = 0, waiting = 0, succeeded = 0, failed = 0, restarting = 0;
  for (const c of v.containers) {
    if (c.state.kind === 'running') running++;
    else if (c.state.kind === 'waiting') {
      if (c.everStarted) restarting++;
      else waiting++;
    } else if (c.state.exitCode === 0) succeeded++;
    else failed++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0 || restarting > 0) return 'Running';
  // Everything has terminated.
  if (v.restartPolicy === 'Always') return 'Running';
  if (failed === 0) return 'Succeeded';
  return v.restartPolicy === 'Never' ? 'Failed' : 'Running';
}

function wireState(s: ContainerState): Record<string, unknown> {
  switch (s.kind) {
    case 'waiting': return { waiting: { reason: s.reason, ...(s.message !== undefined ? { message: s.message } : {}) } };
    case 'running': return { running: { startedAt: s.startedAt } };
    case 'terminated': return {
      terminated: {
        exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt,
        ...(s.signal !== undefined ? { signal: s.signal } : {}),
        ...(s.message !== undefined ? { message: s.message } : {}),
      },
    };
  }
}

export function containerStatus(c: ContainerView): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    imageID: `irisdb-test-kubelet://${c.image}`,
    ...(c.containerID !== undefined ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: wireState(c.state),
    lastState: c.lastTerminated !== undefined ? wireState(c.lastTerminated) : {},
  };
}

function condition(prev: WireCondition[], now: string, type: string, ok: boolean, reason?: string): WireCondition {
  const status = ok ? 'True' : 'False';
  const old = prev.find((c) => c.type === type);
  return {
    type, status,
    ...(reason !== undefined && !ok ? { reason } : {}),
    lastProbeTime: null,
    lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : now,
  };
}

const MANAGED_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);

export function buildPodStatus(v: PodView): Record<string, unknown> {
  const phase = podPhase(v);
  const allReady = v.containers.length > 0 && v.containers.every((c) => c.ready);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const prev = v.previousConditions;
  const conditions: WireCondition[] = [
    condition(prev, v.now, 'PodReadyToStartContainers', v.podIP !== undefined && !terminal),
    condition(prev, v.now, 'Initialized', !v.initPending, 'ContainersNotInitialized'),
    condition(prev, v.now, 'ContainersReady', allReady && !terminal, 'ContainersNotReady'),
    condition(prev, v.now, 'Ready', allReady && !terminal, 'ContainersNotReady'),
  ];
  // Conditions others own (PodScheduled from binding, DisruptionTarget, readiness gates) stay as they are.
  for (const c of prev) if (!MANAGED_CONDITIONS.has(c.type)) conditions.push(c);
  return {
    phase,
    conditions,
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    ...(v.podIP !== undefined ? { podIP: v.podIP, podIPs: [{ ip: v.podIP }] } : {}),
    startTime: v.startTime,
    initContainerStatuses: v.initContainers.map(containerStatus),
    containerStatuses: v.containers.map(containerStatus),
  };
}
