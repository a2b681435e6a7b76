/**
 * Where a command runs (docs/architecture.md §4): here, nowhere (an error line such as
 * MOVED or CROSSSLOT), or here after a write fence lifts. One pure function
 * of plain data, so every rule is unit-tested without a node; the dispatcher
 * gathers the inputs and acts on the outcome.
 *
 * ASK is never produced: a migration copies a slot's keys in the background
 * while the source keeps serving it, fences writes briefly and flips the
 * owner atomically with a new map epoch, so a slot is never half here and
 * half there from a client's point of view. ASKING is still accepted (it has
 * no effect). TRYAGAIN is produced by the dispatcher only, for a fenced write
 * that waited longer than FENCE_WAIT_MAX_MS (see dispatch.ts).
 */
import type { ClusterMap } from '../../common/cluster-map.js';
import type { ClusterState, Endpoint } from './types.js';

export type { Endpoint } from './types.js';

/** The command being routed. */
export interface RouteRequest {
  /** Slot of the command's keys: -1 no keys, -2 keys in different slots. */
  readonly slot: number;
  readonly write: boolean;
  /** The client sent READONLY (may read from a replica). */
  readonly readonly: boolean;
  /** The client sent ASKING just before (accepted, no effect: see above). */
  readonly asking: boolean;
  /** The client came in over TLS: MOVED names a node's TLS port where the map has one (Redis with tls-cluster). */
  readonly tls?: boolean;
}

/** What the node knows when routing. */
export interface RouteState {
  /** Shard index owning each slot (-1 unassigned); null: no cluster map installed. */
  readonly owners: ArrayLike<number> | null;
  /** Started as a cluster member (--cluster-enabled): without a map it is down, never standalone. */
  readonly member: boolean;
  /** Client address of each shard's primary, by shard index, as the map says. */
  readonly primaries: ReadonlyArray<Endpoint | null>;
  /** This node's shard in the map (-1: not listed). */
  readonly myShard: number;
  /** The map names this node as its shard's primary (so MOVED must not point at the map's primary). */
  readonly mapNamesMePrimary: boolean;
  /** This node's replication role: the authority on whether it may write. */
  readonly role: 'primary' | 'replica';
  /** A replica's primary (client address) as its replication link knows it, when known. */
  readonly myPrimary: Endpoint | null;
  /** A replica is loading a full resync: its data is incomplete. */
  readonly loading: boolean;
  /** The command's slot is write-fenced (a migration is flipping its owner). */
  readonly fenced: boolean;
}

export type Route =
  | { readonly kind: 'serve' }
  | { readonly kind: 'error'; readonly message: string; /** For MOVED: where the slot is served. */ readonly movedTo?: Endpoint }
  /** A write to a fenced slot: route it again once the fence lifts. */
  | { readonly kind: 'wait'; readonly slot: number };

export const SERVE: Route = Object.freeze({ kind: 'serve' });

export const CROSSSLOT_MSG = "CROSSSLOT Keys in request don't hash to the same slot";
export const LOADING_MSG = 'LOADING IrisDB is loading the dataset from its primary';
export const READONLY_MSG = "READONLY You can't write against a read only replica.";
export const MASTERDOWN_MSG = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
export const CLUSTERDOWN_MSG = 'CLUSTERDOWN Hash slot not served';
/** Redis Cluster's answer while cluster_state is fail: here, a member that has no map yet. */
export const CLUSTERDOWN_STATE_MSG = 'CLUSTERDOWN The cluster is down';
export const TRYAGAIN_MSG = 'TRYAGAIN The slot is changing owner, retry the command';

/** How long a write waits for a fence to lift before it is answered TRYAGAIN (clients retry it). */
export const FENCE_WAIT_MAX_MS = 2000;

const fail = (message: string): Route => ({ kind: 'error', message });

export function moved(slot: number, to: Endpoint, tls = false): string {
  return `MOVED ${slot} ${to.host}:${clientPort(to, tls)}`;
}

/** The port a client of this kind (TLS or plain) is told to use: the TLS port for TLS clients where the node has both. */
export function clientPort(to: Endpoint, tls: boolean): number {
  return tls && to.tlsPort !== undefined ? to.tlsPort : to.port;
}

export function route(req: RouteRequest, st: RouteState): Route {
  const replica = st.role === 'replica';
  if (req.slot === -2) {
    // Standalone (no membership, no map) is a single Redis server: keys may span slots (issue #17).
    // A standalone replica serves them to READONLY reads and refuses writes; it cannot redirect them.
    if (st.owners !== null || st.member) return fail(CROSSSLOT_MSG);
    if (!replica) return SERVE;
    if (st.loading) return fail(LOADING_MSG);
    if (req.write) return fail(READONLY_MSG);
    return req.readonly ? SERVE : fail(CROSSSLOT_MSG);
  }

  if (st.owners === null && st.member) {
    // A member before its first map must not take keys another shard will own (issue #13):
    // cluster_state is fail, so keyed commands are CLUSTERDOWN; keyless ones run, as in Redis.
    if (req.slot >= 0) return fail(CLUSTERDOWN_STATE_MSG);
    return replica && req.write ? fail(READONLY_MSG) : SERVE;
  }
  if (st.owners === null) {
    // No map: a standalone primary serves every slot; a replica behaves as a
    // Redis Cluster replica of its primary (it loads first, then redirects).
    if (!replica) return SERVE;
    if (st.loading) return fail(LOADING_MSG);
    if (!req.write && req.readonly) return SERVE;
    if (st.myPrimary !== null && req.slot >= 0) return { kind: 'error', message: moved(req.slot, st.myPrimary, req.tls), movedTo: st.myPrimary };
    return fail(req.write ? READONLY_MSG : MASTERDOWN_MSG);
  }

  // Cluster mode. Keyless commands run on any node; a replica still refuses writes.
  if (req.slot === -1) {
    if (replica && req.write) return fail(READONLY_MSG);
    return SERVE;
  }
  const owner = st.owners[req.slot] ?? -1;
  if (owner < 0) return fail(CLUSTERDOWN_MSG);

  if (owner !== st.myShard) {
    const to = st.primaries[owner] ?? null;
    return to === null ? fail(CLUSTERDOWN_MSG) : { kind: 'error', message: moved(req.slot, to, req.tls), movedTo: to };
  }

  if (!replica) {
    if (req.write && st.fenced) return { kind: 'wait', slot: req.slot };
    return SERVE;
  }
  // A replica of the owning shard: READONLY reads here (once loaded), the rest to the primary.
  if (!req.write && req.readonly) return st.loading ? fail(LOADING_MSG) : SERVE;
  const primary = st.myPrimary ?? (st.mapNamesMePrimary ? null : st.primaries[owner] ?? null);
  if (primary !== null) return { kind: 'error', message: moved(req.slot, primary, req.tls), movedTo: primary };
  return fail(req.write ? READONLY_MSG : MASTERDOWN_MSG);
}

/** The replication facts routing needs (ReplicationView.role()). */
export interface RoleFacts {
  readonly role: 'primary' | 'replica';
  readonly primary: Endpoint | null;
  readonly loading: boolean;
}

/** What the node knows, gathered for route(): the one place the dispatcher and the HTTP API read it from. */
export function routeStateOf(cluster: ClusterState | undefined, view: RoleFacts | undefined, slot: number): RouteState {
  return {
    owners: cluster?.owners ?? null,
    member: cluster?.clusterEnabled ?? false,
    primaries: cluster?.primaries ?? NO_PRIMARIES,
    myShard: cluster?.myShard ?? -1,
    mapNamesMePrimary: cluster?.myMapRole === 'primary',
    role: view?.role ?? 'primary',
    myPrimary: withMapTlsPort(view?.primary ?? null, cluster?.map ?? null),
    loading: view?.loading ?? false,
    fenced: cluster !== undefined && slot >= 0 && cluster.isFenced(slot),
  };
}

const NO_PRIMARIES: readonly Endpoint[] = [];

/**
 * A replica learns its primary's address from the replication handshake (host and plain port only);
 * the map, where it lists that node, adds its TLS port, so TLS clients are redirected to TLS.
 */
function withMapTlsPort(ep: Endpoint | null, map: ClusterMap | null): Endpoint | null {
  if (ep === null || map === null || ep.tlsPort !== undefined) return ep;
  const n = map.nodes.find((x) => x.host === ep.host && (x.port === ep.port || x.tlsPort === ep.port));
  return n?.tlsPort === undefined ? ep : { host: n.host, port: n.port, tlsPort: n.tlsPort };
}
