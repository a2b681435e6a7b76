/**
 * The replication state a node keeps in its database's meta table: role,
 * epoch, its primary or declared replicas, the term history of its log, and
 * the peers it has seen (so a deposed primary can find out it was deposed).
 * Pure parsing/validation here; the manager reads and writes it.
 */
import type { PeerAddress, ReplicationRole, Term } from '../../common/replication.js';
import type { NodeConfig } from '../config/schema.js';
import { parsePeerAddress, splitNames } from './peer-address.js';

export interface ReplState {
  readonly role: ReplicationRole;
  readonly epoch: number;
  /** Replica: whom it follows. */
  readonly primary: PeerAddress | null;
  /** Primary: the replicas whose acknowledgements count. */
  readonly replicas: readonly string[];
  readonly history: readonly Term[];
  /** Bus addresses of nodes that replicated from or led this node, by name. */
  readonly peers: readonly PeerAddress[];
  /** A full resync was under way: the data is incomplete and must be discarded on start. */
  readonly loading: boolean;
}

export const STATE_META_KEY = 'replication_state';

/** Peers remembered, at most (the newest win). */
const MAX_PEERS = 32;

/** The state flags describe (first start, or flags with a newer epoch). */
export function stateFromConfig(c: NodeConfig): ReplState {
  const primary = c.replicaOf === '' ? null : parsePeerAddress(c.replicaOf);
  if (typeof primary === 'string') throw new Error(`invalid replicaOf: ${primary}`);
  return {
    role: c.role,
    epoch: c.epoch,
    primary: c.role === 'replica' ? primary : null,
    replicas: c.role === 'primary' ? splitNames(c.replicas) : [],
    history: [],
    peers: primary !== null ? [primary] : [],
    loading: false,
  };
}

/**
 * Which state a starting node runs with: the stored one, unless the flags
 * name a newer epoch (an operator deliberately re-roling the node).
 */
export function chooseStartState(stored: ReplState | null, fromFlags: ReplState): { state: ReplState; source: 'stored' | 'flags' } {
  if (stored === null) return { state: fromFlags, source: 'flags' };
  if (fromFlags.epoch > stored.epoch) {
    return { state: { ...fromFlags, history: stored.history, peers: mergePeers(stored.peers, fromFlags.peers), loading: stored.loading }, source: 'flags' };
  }
  return { state: stored, source: 'stored' };
}

export function mergePeers(peers: readonly PeerAddress[], add: readonly PeerAddress[]): PeerAddress[] {
  const byName = new Map<string, PeerAddress>();
  for (const p of peers) byName.set(p.name, p);
  for (const p of add) {
    byName.delete(p.name);
    byName.set(p.name, p);
  }
  return [...byName.values()].slice(-MAX_PEERS);
}

export function serializeState(s: ReplState): string {
  return JSON.stringify(s);
}

/** Parses the stored JSON; throws with the reason if it is not a valid state (a corrupt meta row must not be guessed at). */
export function parseState(json: string): ReplState {
  const v: unknown = JSON.parse(json);
  if (typeof v !== 'object' || v === null) throw new Error('replication state is not an object');
  const o = v as Record<string, unknown>;
  if (o.role !== 'primary' && o.role !== 'replica') throw new Error('replication state: bad role');
  if (!isCount(o.epoch)) throw new Error('replication state: bad epoch');
  const primary = o.primary === null ? null : peer(o.primary, 'primary');
  if (!Array.isArray(o.replicas) || !o.replicas.every((r) => typeof r === 'string')) throw new Error('replication state: bad replicas');
  if (!Array.isArray(o.history)) throw new Error('replication state: bad history');
  const history = o.history.map((t: unknown): Term => {
    const r = t as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || !isCount(r.epoch) || typeof r.id !== 'string' || !isCount(r.firstSeq)) {
      throw new Error('replication state: bad term in history');
    }
    return { epoch: r.epoch, id: r.id, firstSeq: r.firstSeq };
  });
  if (!Array.isArray(o.peers)) throw new Error('replication state: bad peers');
  const peers = o.peers.map((p: unknown) => peer(p, 'peer'));
  if (o.role === 'replica' && primary === null) throw new Error('replication state: a replica without a primary');
  return { role: o.role, epoch: o.epoch, primary, replicas: o.replicas as string[], history, peers, loading: o.loading === true };
}

function peer(v: unknown, what: string): PeerAddress {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || typeof r.name !== 'string' || typeof r.host !== 'string' || !isCount(r.busPort)) {
    throw new Error(`replication state: bad ${what}`);
  }
  return { name: r.name, host: r.host, busPort: r.busPort };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
