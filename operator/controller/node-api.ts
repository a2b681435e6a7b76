/**
 * What the controller calls on a node's admin API, and how it gets a client
 * for one. The controller only sees this interface, so a test can hand it
 * fake nodes (test/support/controller-fakes.ts); in use it is the HTTP
 * client (common/migration-admin-client.ts). Errors are AdminApiError.
 */
import type { ClusterMap, SlotRange } from '../../common/cluster-map.js';
import { MigrationAdminClient } from '../../common/migration-admin-client.js';
import type { MigrationList, MigrationStatus } from '../../common/migration.js';
import type { ReplicationStatus, RoleRequest } from '../../common/replication.js';

export interface NodeAdminApi {
  /** Where the node answers (for messages). */
  readonly baseUrl: string;
  replication(): Promise<ReplicationStatus>;
  setRole(req: RoleRequest): Promise<ReplicationStatus>;
  /** The node's installed map, or null before the first push. */
  clusterMap(): Promise<ClusterMap | null>;
  /** Installs `map`; 409 if the node has a newer one (or, with ifEpoch, another epoch). */
  setClusterMap(map: ClusterMap, ifEpoch?: number): Promise<ClusterMap>;
  /** Slot migrations, run by the source shard's primary. */
  start(id: string, slots: readonly SlotRange[], targetShard: string): Promise<MigrationStatus>;
  list(): Promise<MigrationList>;
  get(id: string): Promise<MigrationStatus>;
  resume(id: string): Promise<MigrationStatus>;
}

/** A client of the node whose HTTP API is at `httpUrl`; every request gives up after timeoutMs. */
export type NodeApiFactory = (httpUrl: string, token: string, timeoutMs: number) => NodeAdminApi;

/** The real one: HTTP to the node. */
export const httpNodeApi: NodeApiFactory = (httpUrl, token, timeoutMs) => new MigrationAdminClient(httpUrl, token, timeoutMs);
