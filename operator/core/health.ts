/**
 * Heartbeat accounting (DESIGN §5): a primary is failed after
 * failureThreshold missed heartbeats in a row, or at once when its platform
 * says the process exited (faster than waiting for misses). Pure.
 */
import type { NodeObservation } from './observation.js';

/** Missed heartbeats in a row after this one: any answer resets the count. */
export function countMissed(prevMissed: number, answered: boolean): number {
  return answered ? 0 : prevMissed + 1;
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
  if (input.missed >= input.failureThreshold) {
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
