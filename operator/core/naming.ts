/**
 * Names of shards and nodes. A node's name is its identity (docs/architecture.md §5:
 * identity is stable, addresses are not): on Kubernetes it is the pod name
 * of StatefulSet "<cluster>-shard-<i>", so the local cluster uses the same
 * scheme and the controller needs no platform-specific naming. Pure.
 */
import { NODE_NAME } from '../../common/cluster-map.js';

/**
 * Cluster names are at most 40 characters: the StatefulSet name
 * "<cluster>-shard-<i>" (i < 128) is then at most 50, and the pods'
 * controller-revision-hash label value "<statefulset>-<10-char hash>" fits
 * the 63-character label limit; node names ("...-<ordinal>") fit 63 too.
 */
export const MAX_CLUSTER_NAME = 40;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A non-negative integer without leading zeros, so every index has exactly one spelling. */
const INDEX = '(0|[1-9][0-9]*)';
const SHARD_ID = new RegExp(`^shard-${INDEX}$`);
const NODE_SUFFIX = new RegExp(`^${INDEX}-${INDEX}$`);

export class NamingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamingError';
  }
}

/** "shard-<index>": the shard's id in the state and the cluster map. */
export function shardId(index: number): string {
  return `shard-${checkIndex(index, 'shard index')}`;
}

/** The index in a "shard-<index>" id, or null if `id` is not one. */
export function parseShardId(id: string): number | null {
  const m = SHARD_ID.exec(id);
  return m === null ? null : safeIndex(m[1]!);
}

/** "<cluster>-shard-<shardIndex>-<ordinal>": the pod name of ordinal `ordinal` of StatefulSet "<cluster>-shard-<shardIndex>". */
export function nodeName(cluster: string, shardIndex: number, ordinal: number): string {
  if (!validClusterName(cluster)) throw new NamingError(`invalid cluster name ${JSON.stringify(cluster)}: ${clusterNameRule()}`);
  const name = `${cluster}-shard-${checkIndex(shardIndex, 'shard index')}-${checkIndex(ordinal, 'ordinal')}`;
  // Holds by construction (DNS label characters only); checked so a change to NODE_NAME cannot slip by.
  if (!NODE_NAME.test(name)) throw new NamingError(`node name ${name} is not a valid node name`);
  return name;
}

/** The shard index and ordinal of a node of `cluster`, or null if `name` is not one of its node names. */
export function parseNodeName(cluster: string, name: string): { shardIndex: number; ordinal: number } | null {
  const prefix = `${cluster}-shard-`;
  if (!name.startsWith(prefix)) return null;
  // The suffix is anchored digits-dash-digits, so a cluster whose own name contains "-shard-" still parses unambiguously.
  const m = NODE_SUFFIX.exec(name.slice(prefix.length));
  if (m === null) return null;
  const shardIndex = safeIndex(m[1]!);
  const ordinal = safeIndex(m[2]!);
  return shardIndex === null || ordinal === null ? null : { shardIndex, ordinal };
}

/** A DNS-1123 label of at most MAX_CLUSTER_NAME characters (lower-case letters, digits, inner dashes). */
export function validClusterName(name: string): boolean {
  return name.length <= MAX_CLUSTER_NAME && DNS_LABEL.test(name);
}

/** What validClusterName requires, for error messages. */
export function clusterNameRule(): string {
  return `a cluster name is 1 to ${MAX_CLUSTER_NAME} lower-case letters, digits and dashes, starting and ending with a letter or digit`;
}

function checkIndex(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new NamingError(`${what} must be a non-negative integer (got ${String(v)})`);
  return v;
}

function safeIndex(digits: string): number | null {
  const v = Number(digits);
  return Number.isSafeInteger(v) ? v : null;
}
