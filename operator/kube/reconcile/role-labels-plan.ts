/**
 * Step "roles", the decision: every member pod carries
 * irisdb.io/role=primary|replica as the controller records it
 * (currentPrimary: the primary clients are told about), so selectors and
 * `kubectl get pods -L irisdb.io/role` show the truth. Pure.
 */
import type { ControllerState } from '../../core/state.js';

export interface LabelledPod {
  readonly name: string;
  readonly role: string | undefined;
  readonly deleting: boolean;
}

export interface RoleLabelChange {
  readonly pod: string;
  readonly role: 'primary' | 'replica';
}

export function planRoleLabels(state: ControllerState, pods: readonly LabelledPod[]): RoleLabelChange[] {
  const want = new Map<string, 'primary' | 'replica'>();
  for (const s of state.shards) for (const m of s.members) want.set(m, m === s.currentPrimary ? 'primary' : 'replica');
  const out: RoleLabelChange[] = [];
  for (const p of pods) {
    const role = want.get(p.name);
    if (role === undefined || p.deleting || p.role === role) continue;
    out.push({ pod: p.name, role });
  }
  return out;
}
