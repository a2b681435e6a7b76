/**
 * Connects a node's Pub/Sub hub to its cluster: the bus forwarder (peers
 * from the installed cluster map; without one, a primary's connected
 * replicas, as Redis replicates PUBLISH), the bus server's PubSubOpen handler, and
 * the cluster-map listener that unsubscribes shard-channel subscribers whose
 * slot this node's shard no longer owns (Redis 7 sends them `sunsubscribe`;
 * cluster clients resubscribe where the slot went).
 */
import { keySlot } from '../../common/slot.js';
import type { Logger } from '../../common/logger.js';
import type { ClusterState } from '../cluster/types.js';
import type { BusCredentials } from '../replication/bus-auth-client.js';
import type { FirstFrameHandler } from '../replication/bus-server.js';
import type { PeerBusAddress } from '../migration/conn.js';
import type { PubSubHub, Subscriber } from './hub.js';
import { PubSubBus } from './bus-link.js';

export interface PubSubClusterDeps<S extends Subscriber> {
  readonly hub: PubSubHub<S>;
  readonly cluster: ClusterState;
  readonly creds: BusCredentials;
  /** pubsubPeerBacklogBytes. */
  readonly backlogBytes: number;
  /** Without a cluster map: the replicas a primary streams to (PUBLISH goes to them, as Redis replicates it); [] on a replica. */
  replicaPeers(): PeerBusAddress[];
  /** Registers a first-frame handler on the bus server; returns its unregister function. */
  addBusHandler(handler: FirstFrameHandler): () => void;
  readonly logger: Logger;
}

export interface PubSubCluster {
  readonly bus: PubSubBus;
  close(): void;
}

function addressesOf(cluster: ClusterState, names: readonly string[]): PeerBusAddress[] {
  const map = cluster.map;
  if (map === null) return [];
  const out: PeerBusAddress[] = [];
  for (const n of map.nodes) {
    if (n.name !== cluster.nodeName && names.includes(n.name)) out.push({ name: n.name, host: n.host, busPort: n.busPort });
  }
  return out;
}

/** Whether this node's shard serves the shard channel's slot (always, without a map: a standalone node). */
export function servesShardChannel(cluster: ClusterState, channel: Buffer): boolean {
  const owners = cluster.owners;
  if (owners === null || cluster.map === null) return true;
  return owners[keySlot(channel)] === cluster.myShard;
}

export function attachPubSubToCluster<S extends Subscriber>(deps: PubSubClusterDeps<S>): PubSubCluster {
  const { hub, cluster } = deps;
  const allPeers = (): PeerBusAddress[] => (cluster.map === null ? deps.replicaPeers() : addressesOf(cluster, cluster.map.nodes.map((n) => n.name)));
  const bus = new PubSubBus({
    creds: deps.creds,
    backlogBytes: deps.backlogBytes,
    allPeers,
    shardPeers: (channel) => {
      if (cluster.map === null) return deps.replicaPeers();
      const owners = cluster.owners;
      const shard = owners === null ? undefined : cluster.map?.shards[owners[keySlot(channel)] ?? -1];
      return shard === undefined ? [] : addressesOf(cluster, [shard.primary, ...shard.replicas]);
    },
    deliver: (m) => {
      if (m.kind === 'publish') hub.publishLocal(m.channel, m.message);
      else hub.spublishLocal(m.channel, m.message);
    },
    logger: deps.logger,
    now: () => Date.now(),
  });
  hub.setForwarder(bus);
  const unregister = deps.addBusHandler((b, first) => bus.onBusFrame(b, first));
  let closed = false;
  cluster.onChange(() => {
    if (closed || cluster.map === null) return;
    bus.retain(allPeers());
    const n = hub.dropShardChannels((channel) => servesShardChannel(cluster, channel));
    if (n > 0) deps.logger.info('shard channels moved away with their slots; subscribers told with sunsubscribe', { unsubscribed: n });
  });
  return {
    bus,
    close() {
      closed = true;
      hub.setForwarder(null);
      unregister();
      bus.close();
    },
  };
}
