/**
 * A replica asks its shard's primary for its slot ownership journal
 * (ownership.ts) over the cluster bus: the connection is authenticated by
 * the cluster secret's challenge-response (replication/bus-auth.ts, the
 * migration's client MigrationConn), so no secret crosses the wire. The
 * primary answers on a first-frame handler and closes.
 */
import type { ClusterMap } from '../../common/cluster-map.js';
import { MigrationConn } from '../migration/conn.js';
import type { BusCredentials } from '../replication/bus-auth-client.js';
import type { FirstFrameHandler } from '../replication/bus-server.js';
import { FrameType, encodeJsonFrame } from '../replication/frames.js';
import { type OwnershipJournal, parseOwnershipJournal } from './ownership.js';

const CONNECT_TIMEOUT_MS = 3000;
const ANSWER_TIMEOUT_MS = 5000;

/** The primary's side: answers a ChangesOwnershipRequest with its journal. */
export function ownershipBusHandler(journal: () => OwnershipJournal): FirstFrameHandler {
  return (bus, first) => {
    if (first.type !== FrameType.ChangesOwnershipRequest) return false;
    bus.endWith(encodeJsonFrame(FrameType.ChangesOwnershipReply, { journal: journal() }), 'ownership journal sent');
    return true;
  };
}

export interface PrimaryJournalDeps {
  readonly cluster: { readonly map: ClusterMap | null; readonly myShard: number };
  readonly creds: BusCredentials;
}

/** The replica's side: the journal of the primary the cluster map names, or null when there is none to ask. */
export function primaryJournalFetcher(d: PrimaryJournalDeps): () => Promise<OwnershipJournal | null> {
  return async () => {
    const map = d.cluster.map;
    if (map === null || d.cluster.myShard === -1 || d.creds.secret === '') return null;
    const shard = map.shards[d.cluster.myShard]!;
    const node = map.nodes.find((n) => n.name === shard.primary);
    if (shard.primary === d.creds.name || node === undefined) return null;
    const conn = await MigrationConn.connect({ name: node.name, host: node.host, busPort: node.busPort }, d.creds, CONNECT_TIMEOUT_MS);
    try {
      const answer = conn.next([FrameType.ChangesOwnershipReply], ANSWER_TIMEOUT_MS, 'the ownership journal request');
      conn.send(encodeJsonFrame(FrameType.ChangesOwnershipRequest, {}));
      const body = JSON.parse((await answer).body.toString('utf8')) as { journal?: unknown };
      return parseOwnershipJournal(body.journal);
    } finally {
      conn.close('ownership journal received');
    }
  };
}
