/**
 * When a request irisctl sent is finished, from successive statuses. Pure.
 *
 * Done: the operation or failover it started (by id) is no longer in status
 * and the phase is Ready. The id may not show up at all (a quick change, or
 * a request that starts nothing status lists, like adding replicas), so a
 * status without it counts only once it was seen, or after GRACE_POLLS
 * polls without it.
 */
import type { ClusterStatus } from '../core/observation.js';

export const GRACE_POLLS = 2;

export interface FollowState {
  readonly id: string;
  readonly seen: boolean;
  readonly polls: number;
}

export function startFollow(id: string): FollowState {
  return { id, seen: false, polls: 0 };
}

/** Whether `status` lists the operation or failover `id`. */
export function isListed(status: ClusterStatus, id: string): boolean {
  return status.operation?.id === id || status.shards.some((s) => s.failover?.id === id);
}

export function advanceFollow(state: FollowState, status: ClusterStatus): { state: FollowState; done: boolean } {
  const listed = state.id !== '' && isListed(status, state.id);
  const next: FollowState = { id: state.id, seen: state.seen || listed, polls: state.polls + 1 };
  const done = !listed && status.phase === 'Ready' && (next.seen || next.polls >= GRACE_POLLS);
  return { state: next, done };
}
