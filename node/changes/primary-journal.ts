/** A replica asks its shard's primary (from the cluster map) for its ownership journal over the admin API. */
import type { ClusterMap } from '../../common/cluster-map.js';
import { targetUrl } from '../http/forward-target.js';
import { OWNERSHIP_PATH } from './admin-routes.js';
import { type OwnershipJournal, parseOwnershipJournal } from './ownership.js';

const TIMEOUT_MS = 5000;

export interface PrimaryJournalDeps {
  readonly cluster: { readonly map: ClusterMap | null; readonly myShard: number };
  readonly nodeName: string;
  readonly adminToken: string;
}

export function primaryJournalFetcher(d: PrimaryJournalDeps): () => Promise<OwnershipJournal | null> {
  return async () => {
    const map = d.cluster.map;
    if (map === null || d.cluster.myShard === -1 || d.adminToken === '') return null;
    const shard = map.shards[d.cluster.myShard]!;
    const node = map.nodes.find((n) => n.name === shard.primary);
    if (shard.primary === d.nodeName || node?.httpPort === undefined) return null;
    const url = targetUrl({ name: node.name, host: node.host, httpPort: node.httpPort }, `/admin${OWNERSHIP_PATH}`);
    const res = await fetch(url, { headers: { authorization: `Bearer ${d.adminToken}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    const body = (await res.json()) as { journal?: unknown };
    return parseOwnershipJournal(body.journal);
  };
}
