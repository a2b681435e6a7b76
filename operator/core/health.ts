/**
 * Heartbeat accounting (docs/architecture.md §5): a primary is failed after
 * failureThreshold missed heartbeats in a row, or at once when its platform
 * says the process exited (faster than waiting for misses). The one place
 * that decides "missed" and "failed": the heartbeat, failure detection, the
 * failover stages and the sync-set reconciler all ask here. Pure.
 */
import type { NodeObservation } from './observation.js';
import type { ClusterSpec } from './spec.js';

/**
 * Heartbeats missed: the whole intervals a node has been silent for (since
 * its last answer, or since it was first asked). Counted by time, not by
 * rounds, so a paused node whose requests hang is failed failureThreshold
 * intervals after its last answer whatever its requests are doing. A node
 * that did not answer this round has missed at least one.
 */
export function missedHeartbeats(answered: boolean, silentForMs: number, heartbeatMs: number): number {
  return answered ? 0 : Math.max(1, Math.floor(silentForMs / heartbeatMs));
}

/** Enough heartbeats missed in a row for the node to count as failed. */
export function missedTooMany(missed: number, failureThreshold: number): boolean {
  return missed >= failureThreshold;
}

/** Silent (unanswering, or answering but unusable) for failureThreshold intervals: failed. */
export function silentTooLong(silentForMs: number, spec: Pick<ClusterSpec, 'failureThreshold' | 'heartbeatMs'>): boolean {
  return silentForMs >= failureDelayMs(spec);
}

/** How long after its last answer a silent node counts as failed. */
export function failureDelayMs(spec: Pick<ClusterSpec, 'failureThreshold' | 'heartbeatMs'>): number {
  return spec.failureThreshold * spec.heartbeatMs;
}

export interface PrimaryHealthInput {
  readonly missed: number;
  readonly failureThreshold: number;
  /** The platform has the process running. */
  readonly running: boolean;
  /** The platform reported an exit since the node last answered (it may already be running again, with its writes unreplicated). */
  readonly exitedSinceLastAnswer: boolean;
}

/** Why the primary counts as failed, or null while it does not. */
export function primaryFailure(input: PrimaryHealthInput): string | null {
  if (!input.running || input.exitedSinceLastAnswer) return 'the platform reports its process exited';
  if (missedTooMany(input.missed, input.failureThreshold)) {
    return `missed ${input.missed} heartbeats in a row (failureThreshold ${input.failureThreshold})`;
  }
  return null;
}

/** The node answered its last heartbeat. */
export function nodeUp(obs: NodeObservation): boolean {
  return obs.status !== null;
}

/** The node answers as a replica whose stream from its primary is live (not connecting, loading or down). */
export function replicaStreaming(obs: NodeObservation): boolean {
  return obs.status !== null && obs.status.role === 'replica' && obs.status.primary?.state === 'streaming';
}

/** Why the node is not answering, for status messages: the platform's view first, then the heartbeat's error. */
export function downReason(obs: NodeObservation): string {
  if (!obs.running) return 'its process is not running';
  const missed = obs.missed > 0 ? `missed ${obs.missed} heartbeat${obs.missed === 1 ? '' : 's'}` : 'no answer yet';
  return obs.error === null ? missed : `${missed}: ${obs.error}`;
}
