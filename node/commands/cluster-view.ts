/**
 * The cluster topology as the CLUSTER commands report it: rendered from the
 * installed cluster map (shards with their primary first, then replicas;
 * node ids derived from names; addresses and the config epoch from the map),
 * or, before any map, a single node owning all 16384 slots (standalone) or
 * none (a --cluster-enabled member: cluster_state fail). Every CLUSTER
 * reply is rendered from this view.
 */
import { nodeIdOf, type ClusterMap, type MapNode } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { ServerContext } from './types.js';
import { plainRespEnabled } from '../tls/settings.js';

const tlsPortOf = (n: { readonly tlsPort?: number }): { tlsPort?: number } => (n.tlsPort === undefined ? {} : { tlsPort: n.tlsPort });
const tlsOnlyOf = (n: { readonly tlsPort?: number }, self: SelfInfo): { tlsOnly?: true } => (n.tlsPort === undefined && self.tlsOnly === true ? { tlsOnly: true } : {});

export interface ClusterNodeView {
  readonly id: string;
  readonly host: string;
  /** The plain RESP port (the only one when the node has no separate tlsPort). */
  readonly port: number;
  /** The TLS RESP port of a node serving both (Redis's tls-port with tls-cluster): TLS clients are told this one. */
  readonly tlsPort?: number;
  /** `port` is a TLS port and the node has no plain one (Redis's port 0 with tls-port): CLUSTER SHARDS calls it "tls-port". */
  readonly tlsOnly?: boolean;
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

/** What the view needs to know about the node answering. */
export interface SelfInfo {
  readonly name: string;
  /** Where clients reach it (used when the map does not list it). */
  readonly host: string;
  readonly port: number;
  /** Its TLS port when it serves plain and TLS side by side. */
  readonly tlsPort?: number;
  /**
   * It serves RESP over TLS only (`port` is its TLS port). The map does not say how a node's only
   * port speaks, so nodes listed without a separate tlsPort are taken to speak like this one (a
   * cluster's nodes share their TLS settings: the bus needs it).
   */
  readonly tlsOnly?: boolean;
  readonly busPort: number;
  readonly replicationOffset: number;
  readonly loading: boolean;
}

export function clusterView(server: ServerContext): ClusterView {
  const self = selfInfo(server);
  const map = server.cluster?.map ?? null;
  if (map !== null) return viewFromMap(map, self);
  if (server.cluster?.clusterEnabled === true) return memberWithoutMap(self);
  const me: ClusterNodeView = {
    id: server.nodeId, host: self.host, port: self.port, ...tlsPortOf(self), ...tlsOnlyOf(self, self), busPort: self.busPort, role: 'master', primaryId: null,
    replicationOffset: self.replicationOffset, health: 'online', configEpoch: 0, myself: true,
  };
  return { state: 'ok', currentEpoch: 0, myEpoch: 0, shards: [{ slots: [[0, SLOT_COUNT - 1]], nodes: [me] }] };
}

/**
 * The node id CLUSTER MYID reports: derived from the node's name once a map is installed (as other nodes
 * list it), and always on a cluster member, so its id does not change when the first map arrives.
 */
export function myNodeId(server: ServerContext): string {
  const c = server.cluster;
  return c !== undefined && (c.map !== null || c.clusterEnabled) ? nodeIdOf(c.nodeName) : server.nodeId;
}

/** A member before its first map: Redis Cluster's fresh node (cluster_state fail, itself only, no slots). */
function memberWithoutMap(self: SelfInfo): ClusterView {
  const me: ClusterNodeView = {
    id: nodeIdOf(self.name), host: self.host, port: self.port, ...tlsPortOf(self), ...tlsOnlyOf(self, self), busPort: self.busPort, role: 'master', primaryId: null,
    replicationOffset: self.replicationOffset, health: self.loading ? 'loading' : 'online', configEpoch: 0, myself: true,
  };
  return { state: 'fail', currentEpoch: 0, myEpoch: 0, shards: [{ slots: [], nodes: [me] }] };
}

function selfInfo(server: ServerContext): SelfInfo {
  return {
    name: server.cluster?.nodeName ?? server.config.nodeName,
    host: server.announceHost,
    port: server.config.announcePort !== 0 ? server.config.announcePort : server.respPort,
    ...(plainRespEnabled(server.config) && server.config.tlsPort > 0 ? { tlsPort: server.config.tlsPort } : {}),
    ...(!plainRespEnabled(server.config) ? { tlsOnly: true } : {}),
    busPort: server.config.busPort,
    replicationOffset: server.engineStats().lastSeq,
    loading: server.replication?.role().loading ?? false,
  };
}

/**
 * The view of a map from one node: `myself` marks it; a node the map does not
 * list still reports itself (as a primary without slots), as a Redis node
 * always knows itself. cluster_state is ok only when all 16384 slots are assigned.
 */
export function viewFromMap(map: ClusterMap, self: SelfInfo): ClusterView {
  const byName = new Map<string, MapNode>(map.nodes.map((n) => [n.name, n]));
  let assigned = 0;
  let listed = false;
  const node = (name: string, primary: string | null): ClusterNodeView => {
    const n = byName.get(name)!;
    const myself = name === self.name;
    if (myself) listed = true;
    return {
      id: nodeIdOf(name), host: n.host, port: n.port, ...tlsPortOf(n), ...tlsOnlyOf(n, self), busPort: n.busPort,
      role: primary === null ? 'master' : 'replica',
      primaryId: primary === null ? null : nodeIdOf(primary),
      replicationOffset: myself ? self.replicationOffset : 0,
      health: myself && self.loading ? 'loading' : 'online',
      configEpoch: map.epoch,
      myself,
    };
  };
  const shards: ClusterShardView[] = map.shards.map((s) => {
    for (const [a, b] of s.slots) assigned += b - a + 1;
    return { slots: s.slots, nodes: [node(s.primary, null), ...s.replicas.map((r) => node(r, s.primary))] };
  });
  if (!listed) {
    shards.push({
      slots: [],
      nodes: [{
        id: nodeIdOf(self.name), host: self.host, port: self.port, ...tlsPortOf(self), ...tlsOnlyOf(self, self), busPort: self.busPort, role: 'master', primaryId: null,
        replicationOffset: self.replicationOffset, health: self.loading ? 'loading' : 'online', configEpoch: map.epoch, myself: true,
      }],
    });
  }
  return { state: assigned === SLOT_COUNT ? 'ok' : 'fail', currentEpoch: map.epoch, myEpoch: map.epoch, shards };
}
