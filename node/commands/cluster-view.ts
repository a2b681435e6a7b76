/**
 * The cluster topology as the CLUSTER commands report it. Today a node owns
 * all 16384 slots alone; when the control plane pushes a cluster map (a
 * later issue) only clusterView() changes to read it — every CLUSTER reply
 * is rendered from this view.
 */
import { SLOT_COUNT } from '../../common/slot.js';
import type { ServerContext } from './types.js';

export interface ClusterNodeView {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  readonly role: 'master' | 'replica';
  /** Id of the primary for a replica, null for a primary. */
  readonly primaryId: string | null;
  readonly replicationOffset: number;
  readonly health: 'online' | 'failed' | 'loading';
  readonly configEpoch: number;
  readonly myself: boolean;
}

export interface ClusterShardView {
  /** Inclusive slot ranges. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
  /** The primary first, then its replicas. */
  readonly nodes: readonly ClusterNodeView[];
}

export interface ClusterView {
  readonly state: 'ok' | 'fail';
  readonly currentEpoch: number;
  readonly myEpoch: number;
  readonly shards: readonly ClusterShardView[];
}

export function clusterView(server: ServerContext): ClusterView {
  const me: ClusterNodeView = {
    id: server.nodeId,
    host: server.announceHost,
    port: server.config.announcePort !== 0 ? server.config.announcePort : server.respPort,
    busPort: server.config.busPort,
    role: 'master',
    primaryId: null,
    replicationOffset: server.engineStats().lastSeq,
    health: 'online',
    configEpoch: 0,
    myself: true,
  };
  return { state: 'ok', currentEpoch: 0, myEpoch: 0, shards: [{ slots: [[0, SLOT_COUNT - 1]], nodes: [me] }] };
}
