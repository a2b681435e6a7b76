/**
 * The slot-ordered cluster scan (issue #13, docs/consistency.md "Scanning a
 * cluster"): the client's cursor is a position (slot, last key returned in
 * that slot); each slot's keys are read in byte order from the shard that
 * owns the slot when the page is asked for. A slot that moves between two
 * pages is resumed on its new owner after the same key, so a key that exists
 * for the whole scan is returned exactly once, also while slots migrate.
 * This file: the cursor, the pure page over a node's own slots, and the
 * node's answer to a coordinator's forwarded page request.
 */
import type { Request, Response } from 'express';
import { slotOwners } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { Entry } from '../engine/types.js';
import { decodeBase64Strict } from './codec.js';
import { awaitReadCommit } from './commit.js';
import { consistencyOf, finishRead } from './consistency.js';
import type { HttpDeps } from './deps.js';
import { entryJson } from './entry-json.js';
import { HttpError, badRequest } from './errors.js';
import { encodingParam, boolParam, queryParam } from './params.js';

/** Where a cluster scan is: the slot it is in and the last key it returned there (null: from the slot's start). */
export interface SlotPosition {
  readonly slot: number;
  readonly after: Buffer | null;
}

/** "t" + base64url of JSON [slot, base64url(after) | null]: opaque to clients, distinct from a node's "c…" cursor. */
export function encodeSlotCursor(p: SlotPosition): string {
  return 't' + Buffer.from(JSON.stringify([p.slot, p.after === null ? null : p.after.toString('base64url')]), 'utf8').toString('base64url');
}

export function decodeSlotCursor(text: string): SlotPosition | null {
  if (!/^t[A-Za-z0-9_-]+$/.test(text)) return null;
  const bytes = decodeBase64Strict(text.slice(1));
  if (bytes === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 2 || !Number.isInteger(v[0]) || v[0] < 0 || v[0] >= SLOT_COUNT) return null;
  if (v[1] === null) return { slot: v[0] as number, after: null };
  if (typeof v[1] !== 'string') return null;
  const after = decodeBase64Strict(v[1]);
  return after === null ? null : { slot: v[0] as number, after };
}

/** What the slot page reads of a node's keyspace. */
export interface SlotSource {
  keysInSlot(slot: number, count: number, now: number): Buffer[];
  get(key: Buffer, now: number): Entry | null;
}

export interface SlotPage {
  readonly entries: Array<{ key: Buffer; entry: Entry }>;
  /** Where the next page starts within [from.slot, lastSlot]; null when the range is done. */
  readonly next: SlotPosition | null;
}

/**
 * Up to `limit` live keys under `prefix` from slot `from.slot` (after
 * `from.after`) through `lastSlot`, slot by slot, each slot in key byte order.
 * `readable` (an ACL key filter) drops keys without counting them. Pure over `source`.
 */
export function slotPage(source: SlotSource, from: SlotPosition, lastSlot: number, prefix: Buffer, limit: number, now: number,
  readable: ((key: Uint8Array) => boolean) | null = null): SlotPage {
  const entries: Array<{ key: Buffer; entry: Entry }> = [];
  for (let slot = from.slot; slot <= lastSlot; slot++) {
    const after = slot === from.slot ? from.after : null;
    const keys = source.keysInSlot(slot, Number.MAX_SAFE_INTEGER, now)
      .filter((k) => hasPrefix(k, prefix) && (after === null || Buffer.compare(k, after) > 0) && (readable === null || readable(k)))
      .sort(Buffer.compare);
    for (const key of keys) {
      const entry = source.get(key, now);
      if (entry === null) continue;
      entries.push({ key, entry });
      if (entries.length >= limit) return { entries, next: { slot, after: key } };
    }
  }
  return { entries, next: null };
}

function hasPrefix(k: Buffer, prefix: Buffer): boolean {
  return k.length >= prefix.length && k.subarray(0, prefix.length).equals(prefix);
}

/** Query parameters of a coordinator's page request (never a client's: only forwarded requests use them). */
export const SLOT_PARAMS = ['slots', 'after'] as const;

/** A forwarded page request (`slots=a-b`, `after=`): served only while this node is the primary owning every slot in it. */
export async function serveSlotPage(deps: HttpDeps, req: Request, res: Response, prefix: Buffer, limit: number,
  readable: ((key: Uint8Array) => boolean) | null): Promise<void> {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(queryParam(req, 'slots') ?? '');
  const first = m === null ? -1 : Number(m[1]);
  const last = m === null ? -1 : Number(m[2]);
  if (m === null || first > last || last >= SLOT_COUNT) throw badRequest(`slots must be FIRST-LAST within 0-${SLOT_COUNT - 1}`);
  const afterText = queryParam(req, 'after');
  const after = afterText === undefined || afterText === '' ? null : decodeBase64Strict(afterText);
  if (after === null && afterText !== undefined && afterText !== '') throw badRequest('after is not base64url');
  const map = deps.clusterMap?.() ?? null;
  const role = deps.replication?.role().role ?? 'primary';
  const me = deps.config.nodeName;
  if (map === null || role !== 'primary') throw moved(`this node is not a primary with a cluster map`);
  const owners = slotOwners(map);
  for (let s = first; s <= last; s++) {
    const shard = map.shards[owners[s]!];
    // The slot moved (a migration flipped) since the coordinator read its map: it retries with a newer one.
    if (shard === undefined || shard.primary !== me) throw moved(`slot ${s} is not served by ${me} any more`);
  }
  const now = deps.now();
  const page = slotPage(deps.keyspace, { slot: first, after }, last, prefix, limit, now, readable);
  await awaitReadCommit(deps.commits);
  await finishRead(deps.consistency, consistencyOf(req), res);
  const encoding = encodingParam(req, 'encoding');
  const values = boolParam(req, 'values', true);
  res.status(200).json({
    items: page.entries.map((e) => entryJson(e.key, e.entry, encoding, values)),
    next: page.next === null ? null : { slot: page.next.slot, after: page.next.after === null ? null : page.next.after.toString('base64url') },
  });
}

/** The answer a coordinator retries on with a fresher map. */
export const SLOT_MOVED_CODE = 'cluster_down';

function moved(why: string): HttpError {
  return new HttpError(503, SLOT_MOVED_CODE, `scan page refused: ${why}`, { retry: true });
}
