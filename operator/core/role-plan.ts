/**
 * What each member of a shard should be told (PUT /admin/replication/role)
 * and whether a node's reported status already says it. The controller
 * re-applies roles to nodes that restarted or drifted, and never pushes an
 * epoch below what a node reports: a node ahead of the controller's record
 * means something the controller must look into, not overwrite. Pure.
 */
import type { ReplicationStatus, RoleRequest } from '../../common/replication.js';
import type { ShardState } from './state.js';

export type RoleDrift = 'none' | 'apply' | 'newer';

/**
 * The role request for `node` under the shard's recorded primary and epoch:
 * the primary waits for its in-sync replicas (syncReplicas); the others follow
 * the primary at its bus address. Null when there is nothing safe to say: the
 * node is not a member, a failover or switchover is in flight (it owns the
 * roles until it records its result), or (for a replica) the primary's
 * address is unknown.
 */
export function desiredRole(
  shard: ShardState,
  node: string,
  addresses: ReadonlyMap<string, { readonly host: string; readonly busPort: number }>,
): RoleRequest | null {
  if (shard.failover !== null || !shard.members.includes(node)) return null;
  const primary = shard.currentPrimary;
  if (node === primary) return { role: 'primary', epoch: shard.epoch, replicas: [...(shard.sync.target?.replicas ?? shard.sync.replicas)] };
  const addr = addresses.get(primary);
  if (addr === undefined) return null;
  return { role: 'replica', epoch: shard.epoch, primary: { name: primary, host: addr.host, busPort: addr.busPort } };
}

/**
 * 'none': the node already has this role and epoch, and the same primary
 * (name and bus address) or the same set of declared replicas; 'newer': it
 * reports an epoch above the request (never push an older one); else 'apply'.
 */
export function roleDrift(desired: RoleRequest, status: ReplicationStatus): RoleDrift {
  if (status.epoch > desired.epoch) return 'newer';
  if (status.role !== desired.role || status.epoch !== desired.epoch) return 'apply';
  if (desired.role === 'primary') return sameSet(status.declaredReplicas, desired.replicas ?? []) ? 'none' : 'apply';
  const p = status.primary;
  const want = desired.primary;
  return p !== null && p.name === want.name && p.host === want.host && p.busPort === want.busPort ? 'none' : 'apply';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}
