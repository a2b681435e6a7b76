/**
 * The cluster map (docs/architecture.md §4): which shard serves which slots, each shard's
 * primary and replicas, and where every node can be reached. The control
 * plane pushes it to every node (PUT /admin/cluster/map); a node keeps it
 * durably and refuses a map older than the one it has. Nodes are known by
 * name; addresses may change from one map to the next.
 *
 * Pure: types, validation and lookups, shared by the node and the control plane.
 */
import { createHash } from 'node:crypto';
import { SLOT_COUNT } from './slot.js';

/** Inclusive slot range. */
export type SlotRange = readonly [first: number, last: number];

export interface MapNode {
  readonly name: string;
  /** Address clients use (CLUSTER SLOTS, MOVED). */
  readonly host: string;
  readonly port: number;
  /** Cluster bus port (replication, migration). */
  readonly busPort: number;
  /** HTTP API port on `host`; absent in maps from older controllers (then HTTP requests are not forwarded: 421). */
  readonly httpPort?: number;
  /**
   * RESP TLS port on `host` when the node serves both plain and TLS ports (Redis's tls-port with
   * tls-cluster): TLS clients are sent here, plain ones to `port`. Absent: `port` is the only RESP port.
   */
  readonly tlsPort?: number;
}

export interface MapShard {
  /** Stable shard name, e.g. "shard-0". */
  readonly id: string;
  readonly slots: readonly SlotRange[];
  readonly primary: string;
  readonly replicas: readonly string[];
}

export interface ClusterMap {
  /** Raised on every change; a node refuses a map with an epoch not above its own (same content at the same epoch is a no-op). */
  readonly epoch: number;
  readonly nodes: readonly MapNode[];
  readonly shards: readonly MapShard[];
}

export class ClusterMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterMapError';
  }
}

/** Node and shard names are pod names: DNS-label-ish, safe in logs, metric labels and INFO lines. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const NAME = NODE_NAME;
/** DNS names, IPv4 and IPv6 (with an optional %zone). */
const HOST = /^[A-Za-z0-9._:%-]{1,255}$/;
const MAX_NODES = 1000;

/**
 * Validates a map from the wire (or the database): every field typed, names
 * unique and referenced nodes present, each node in at most one shard, every
 * slot in at most one shard, ranges ordered and disjoint. Throws
 * ClusterMapError naming the first problem.
 */
export function parseClusterMap(v: unknown): ClusterMap {
  const o = object(v, 'map');
  const epoch = count(o.epoch, 'epoch');
  if (!Array.isArray(o.nodes) || o.nodes.length > MAX_NODES) throw new ClusterMapError(`nodes must be an array of at most ${MAX_NODES}`);
  if (!Array.isArray(o.shards) || o.shards.length > MAX_NODES) throw new ClusterMapError(`shards must be an array of at most ${MAX_NODES}`);
  const nodes: MapNode[] = o.nodes.map((n: unknown, i: number) => {
    const r = object(n, `nodes[${i}]`);
    const name = nodeName(r.name, `nodes[${i}].name`);
    // The host goes verbatim into MOVED errors and CLUSTER NODES lines: no spaces, no line breaks.
    if (typeof r.host !== 'string' || !HOST.test(r.host)) throw new ClusterMapError(`nodes[${i}].host must be a host name or IP address`);
    const base = { name, host: r.host, port: port(r.port, `nodes[${i}].port`), busPort: port(r.busPort, `nodes[${i}].busPort`) };
    const withHttp = r.httpPort === undefined ? base : { ...base, httpPort: port(r.httpPort, `nodes[${i}].httpPort`) };
    return r.tlsPort === undefined ? withHttp : { ...withHttp, tlsPort: port(r.tlsPort, `nodes[${i}].tlsPort`) };
  });
  const byName = new Set<string>();
  for (const n of nodes) {
    if (byName.has(n.name)) throw new ClusterMapError(`node ${n.name} is listed twice`);
    byName.add(n.name);
  }
  const owner = new Int32Array(SLOT_COUNT).fill(-1);
  const inShard = new Map<string, string>();
  const ids = new Set<string>();
  const shards: MapShard[] = o.shards.map((s: unknown, i: number) => {
    const r = object(s, `shards[${i}]`);
    if (typeof r.id !== 'string' || !NAME.test(r.id)) throw new ClusterMapError(`shards[${i}].id must be a name`);
    if (ids.has(r.id)) throw new ClusterMapError(`shard ${r.id} is listed twice`);
    ids.add(r.id);
    const primary = nodeName(r.primary, `shards[${i}].primary`);
    if (!Array.isArray(r.replicas)) throw new ClusterMapError(`shards[${i}].replicas must be an array`);
    const replicas = r.replicas.map((x: unknown, j: number) => nodeName(x, `shards[${i}].replicas[${j}]`));
    for (const n of [primary, ...replicas]) {
      if (!byName.has(n)) throw new ClusterMapError(`shard ${r.id} names node ${n}, which is not in nodes`);
      const other = inShard.get(n);
      if (other !== undefined) throw new ClusterMapError(`node ${n} is in shards ${other} and ${r.id}`);
      inShard.set(n, r.id);
    }
    if (!Array.isArray(r.slots)) throw new ClusterMapError(`shards[${i}].slots must be an array of [first, last] ranges`);
    const slots: SlotRange[] = r.slots.map((range: unknown, j: number) => {
      if (!Array.isArray(range) || range.length !== 2) throw new ClusterMapError(`shards[${i}].slots[${j}] must be [first, last]`);
      const a = slot(range[0], `shards[${i}].slots[${j}][0]`);
      const b = slot(range[1], `shards[${i}].slots[${j}][1]`);
      if (a > b) throw new ClusterMapError(`shards[${i}].slots[${j}]: first ${a} is after last ${b}`);
      for (let x = a; x <= b; x++) {
        if (owner[x] !== -1) throw new ClusterMapError(`slot ${x} is assigned to two shards`);
        owner[x] = i;
      }
      return [a, b] as const;
    });
    return { id: r.id, slots: normalizeRanges(slots), primary, replicas };
  });
  return { epoch, nodes, shards };
}

/** Sorted, merged ranges. */
export function normalizeRanges(ranges: readonly SlotRange[]): SlotRange[] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export function rangesToSlots(ranges: readonly SlotRange[]): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) for (let s = a; s <= b; s++) out.push(s);
  return out;
}

export function slotsToRanges(slots: Iterable<number>): SlotRange[] {
  return normalizeRanges([...slots].map((s) => [s, s] as const));
}

/** Shard index owning each slot (-1: unassigned). */
export function slotOwners(map: ClusterMap): Int32Array {
  const owner = new Int32Array(SLOT_COUNT).fill(-1);
  map.shards.forEach((s, i) => {
    for (const [a, b] of s.slots) owner.fill(i, a, b + 1);
  });
  return owner;
}

/** The 40-hex id Redis Cluster clients see for a node: derived from its name, so it survives a wiped disk and a new address. */
export function nodeIdOf(name: string): string {
  return createHash('sha1').update(`irisdb-node:${name}`).digest('hex');
}

/** The same map with `slots` moved to shard `toShard`, at `epoch`. */
export function moveSlots(map: ClusterMap, slots: readonly SlotRange[], toShard: string, epoch: number): ClusterMap {
  const moving = new Set(rangesToSlots(slots));
  if (!map.shards.some((s) => s.id === toShard)) throw new ClusterMapError(`no shard ${toShard}`);
  return {
    epoch,
    nodes: map.nodes,
    shards: map.shards.map((s) => {
      const kept = rangesToSlots(s.slots).filter((x) => !moving.has(x));
      return { ...s, slots: s.id === toShard ? slotsToRanges([...kept, ...moving]) : slotsToRanges(kept) };
    }),
  };
}

export function shardOfNode(map: ClusterMap, name: string): MapShard | null {
  return map.shards.find((s) => s.primary === name || s.replicas.includes(name)) ?? null;
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ClusterMapError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ClusterMapError(`${what} must be a non-negative integer`);
  return v;
}

function port(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new ClusterMapError(`${what} must be a port number`);
  return v;
}

function slot(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= SLOT_COUNT) throw new ClusterMapError(`${what} must be a slot 0..${SLOT_COUNT - 1}`);
  return v;
}

function nodeName(v: unknown, what: string): string {
  if (typeof v !== 'string' || !NAME.test(v)) throw new ClusterMapError(`${what} must be a node name`);
  return v;
}

/** Number of slots in `ranges` (assumed disjoint). */
export function countSlots(ranges: readonly SlotRange[]): number {
  let n = 0;
  for (const [a, b] of ranges) n += b - a + 1;
  return n;
}

/**
 * All 16384 slots split into `shards` contiguous ranges of nearly equal
 * size (the first ones one slot larger), as `redis-cli --cluster create` does.
 */
export function evenSlotRanges(shards: number): SlotRange[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > SLOT_COUNT) throw new ClusterMapError(`cannot split the slots into ${shards} shards`);
  const out: SlotRange[] = [];
  let first = 0;
  for (let i = 0; i < shards; i++) {
    const size = Math.floor(SLOT_COUNT / shards) + (i < SLOT_COUNT % shards ? 1 : 0);
    out.push([first, first + size - 1]);
    first += size;
  }
  return out;
}

export function nodeByName(map: ClusterMap, name: string): MapNode | null {
  return map.nodes.find((n) => n.name === name) ?? null;
}

/**
 * Whether two maps say the same thing: the same nodes (by name, with the same
 * addresses), the same shards (by id) with the same slots, primary and set of
 * replicas. Order of the lists does not matter; the epoch is not compared.
 */
export function sameMapContent(a: ClusterMap, b: ClusterMap): boolean {
  return canonicalContent(a) === canonicalContent(b);
}

function canonicalContent(m: ClusterMap): string {
  const byKey = <T>(key: (x: T) => string) => (x: T, y: T) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0);
  const nodes = [...m.nodes].sort(byKey((n: MapNode) => n.name)).map((n) => [n.name, n.host, n.port, n.busPort, n.httpPort ?? null, n.tlsPort ?? null]);
  const shards = [...m.shards].sort(byKey((s: MapShard) => s.id))
    .map((s) => [s.id, normalizeRanges(s.slots), s.primary, [...s.replicas].sort()]);
  return JSON.stringify([nodes, shards]);
}
