/**
 * The import's writes (issue #19): the strings of a batch grouped by the
 * primary that owns their slot (as the Cluster client last saw the map) and
 * sent to that primary's PUT /v1/kv:import (node/http/import-routes.ts) in
 * bodies of at most ROWS_PER_REQUEST rows: one transaction, one
 * replication round and one HTTP exchange per body instead of a RESP
 * command per key. The node answers 200 only once the rows are durable on
 * it and on minSyncReplicas replicas.
 *
 * Anything else — a slot that moved (421), a failover under way (503), a
 * node that cannot be reached, a timeout — sends those rows as ordinary
 * `SET ... PX` through the Cluster client instead (which follows MOVED,
 * retries TRYAGAIN and waits out failovers; a redirection it returns anyway
 * is retried here for up to a minute), after asking it to reload the slot map. Every row is therefore acknowledged by one path or the other,
 * or the batch fails. Nodes without the route (404) get SETs from then on.
 *
 * With an ACL user restricted to some keys, a body the node refuses (403:
 * one of its keys is outside the user's patterns) goes as SETs too, and a
 * SET refused with NOPERM is counted as refused (with the first keys named),
 * not written and not an error of the batch: the import reports it.
 */
import type { Cluster } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { encodeRows } from '../../node/replication/row-codec.js';
import type { StoredRow } from '../../node/engine/types.js';
import { type FetchLike, nodeFetch } from '../../common/node-fetch.js';

export interface ImportString {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Milliseconds to live (> 0), or -1 for none. */
  readonly pttl: number;
}

/** Rows per request: within the nodes' default --max-batch-ops (1000). */
export const ROWS_PER_REQUEST = 1000;
/** A request that takes longer is given up and its rows sent as SETs (the node may have applied them too: SET is idempotent). */
const REQUEST_TIMEOUT_MS = 30_000;
const IMPORT_PATH = '/v1/kv:import';

export class ImportAuthError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ImportAuthError';
  }
}

export interface WriteCounts {
  /** Rows acknowledged by the bulk route. */
  bulk: number;
  /** Rows written as SETs (fallback). */
  set: number;
  /** Rows IrisDB refused (NOPERM: the user may not write the key). */
  refused: number;
}

/** Keys named in the report when some are refused. */
export const REFUSED_KEYS_SHOWN = 10;


export class BulkWriter {
  readonly counts: WriteCounts = { bulk: 0, set: 0, refused: 0 };
  /** The first refused keys (at most REFUSED_KEYS_SHOWN) and the node's reason. */
  readonly refusedKeys: string[] = [];
  refusedReason: string | null = null;
  /** Why the bulk route is no longer tried (a node without it), or null. */
  private disabled: string | null = null;

  constructor(
    private readonly cluster: Cluster,
    /** Node HTTP API base URLs by RESP address "host:port". */
    private readonly httpByAddress: ReadonlyMap<string, string>,
    /** HTTPS trusting the local cluster's CA where it runs TLS (common/node-fetch.ts). */
    private readonly fetchImpl: FetchLike = nodeFetch(null),
    /** The Authorization header for the nodes' HTTP API (target-credentials.ts), or null. */
    private readonly authorization: string | null = null,
    /** A monotonic clock, ms: how long a string has waited since it was read. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The TTL left of a string handed to write() at `readAt`: its source PTTL
   * less the time since, so a body or a SET sent late (a bulk request timed
   * out, SETs retried through a failover for up to SET_RETRY_MS) does not
   * make the key outlive its source. Relative (PX) and counted on this
   * process's monotonic clock, rather than PXAT, which would shift every TTL
   * by any difference between irisctl's wall clock and the nodes'. At least
   * 1 ms: a key whose TTL ran out meanwhile is written and expires at once
   * (as the source's did), so no older copy of it stays. -1: no TTL.
   */
  private ttlLeft(s: ImportString, readAt: number): number {
    return s.pttl > 0 ? Math.max(1, Math.round(s.pttl - (this.now() - readAt))) : -1;
  }

  /**
   * Resolves once every string is acknowledged by IrisDB or refused by its
   * ACL, with the refused keys; rejects if one could not be written.
   */
  async write(strings: readonly ImportString[]): Promise<Buffer[]> {
    // The batch was read from the source just before: TTLs count down from here.
    const readAt = this.now();
    const refused: Buffer[] = [];
    const groups = new Map<string, ImportString[]>();
    const direct: ImportString[] = [];
    for (const s of strings) {
      const owner = this.disabled === null ? this.cluster.slots[keySlot(s.key)]?.[0] : undefined;
      const url = owner === undefined ? undefined : this.httpByAddress.get(owner);
      if (url === undefined) {
        direct.push(s);
        continue;
      }
      let g = groups.get(url);
      if (g === undefined) groups.set(url, (g = []));
      g.push(s);
    }
    const sends: Promise<void>[] = [];
    if (direct.length > 0) sends.push(this.writeSets(direct, refused, readAt));
    for (const [url, rows] of groups) {
      for (let i = 0; i < rows.length; i += ROWS_PER_REQUEST) sends.push(this.writeBulk(url, rows.slice(i, i + ROWS_PER_REQUEST), refused, readAt));
    }
    await Promise.all(sends);
    return refused;
  }

  private async writeBulk(url: string, rows: ImportString[], refused: Buffer[], readAt: number): Promise<void> {
    // The route takes a TTL relative to its arrival (import-routes.ts).
    const body = encodeRows(rows.map((s): StoredRow => {
      const ttl = this.ttlLeft(s, readAt);
      return { key: s.key, value: s.value, flags: 0, version: 0, expiresAt: ttl > 0 ? ttl : null };
    }));
    let status: number;
    let text = '';
    try {
      const res = await this.fetchImpl(`${url}${IMPORT_PATH}`, {
        method: 'PUT',
        // Not forwarded by the node: rows of another node's slots come back as a 421 and go as SETs.
        headers: {
          'content-type': 'application/octet-stream', 'x-iris-forwarded': '1',
          ...(this.authorization !== null ? { authorization: this.authorization } : {}),
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      if (status !== 200) text = await res.text().catch(() => '');
    } catch {
      status = 0; // unreachable or timed out
    }
    if (status === 200) {
      this.counts.bulk += rows.length;
      return;
    }
    if (status === 401) throw new ImportAuthError(status, `IrisDB refused the import's credentials (401): ${text.slice(0, 300)}`);
    if (status === 404) this.disabled = `${url} has no ${IMPORT_PATH}`;
    else if (status !== 403) this.cluster.refreshSlotsCache();
    // 403: some key of the body is outside the user's patterns; key by key, the others are written and those are refused.
    await this.writeSets(rows, refused, readAt);
  }

  private async writeSets(rows: readonly ImportString[], refused: Buffer[], readAt: number): Promise<void> {
    await Promise.all(rows.map(async (s) => {
      try {
        await this.setRidingFailovers(s, readAt);
        this.counts.set++;
      } catch (err) {
        const text = (err as Error).message;
        if (!text.startsWith('NOPERM')) throw err;
        refused.push(s.key);
        this.counts.refused++;
        this.refusedReason ??= text;
        if (this.refusedKeys.length < REFUSED_KEYS_SHOWN) this.refusedKeys.push(s.key.toString('utf8'));
      }
    }));
  }

  /**
   * SET ... PX through the Cluster client, again after a redirection it
   * returned instead of following: with auto-pipelining, ioredis hands back
   * the MOVED of a pipeline whose commands were redirected to different
   * nodes — exactly what a failover does to the keys of the shard that
   * failed over, the moment this fallback exists for. Bounded: after
   * SET_RETRY_MS the error stands (and the import stops, resumable).
   */
  private async setRidingFailovers(s: ImportString, readAt: number): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const ttl = this.ttlLeft(s, readAt); // on each attempt: the time retried so far is not added to the key's life
        await (ttl > 0 ? this.cluster.set(s.key, s.value, 'PX', ttl) : this.cluster.set(s.key, s.value));
        return;
      } catch (err) {
        if (!isRedirection((err as Error).message) || Date.now() - started >= SET_RETRY_MS) throw err;
        this.cluster.refreshSlotsCache();
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
      }
    }
  }
}

/** How long a fallback SET is retried while the cluster's slot map settles (a failover takes a few seconds). */
const SET_RETRY_MS = 60_000;

/**
 * Replies that mean "not here / not now" while slots change owner: the SET is
 * sent again (it is idempotent). NOREPLICAS too: right after a failover the
 * new primary's replica is still in its full sync, or the old primary has
 * stepped down; the write was not acknowledged and the same SET again is harmless.
 */
export function isRedirection(message: string): boolean {
  return /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS) |^Too many Cluster redirections/.test(message);
}
