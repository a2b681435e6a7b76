/** Small immutable updates of the recorded state. */
import type { ControllerState, ShardState } from '../core/state.js';

export function withShardPatch(state: ControllerState, id: string, patch: Partial<ShardState>): ControllerState {
  return { ...state, shards: state.shards.map((s) => (s.id === id ? { ...s, ...patch } : s)) };
}

export function shardById(state: ControllerState, id: string): ShardState | undefined {
  return state.shards.find((s) => s.id === id);
}

/** A new id "<prefix>-<n>" and the state with the counter raised (commit it before using the id). */
export function allocateId(state: ControllerState, prefix: string): { id: string; state: ControllerState } {
  return { id: `${prefix}-${state.nextId}`, state: { ...state, nextId: state.nextId + 1 } };
}
