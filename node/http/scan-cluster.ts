/**
 * GET /v1/scan across a cluster (issue #13): any node walks the slots in
 * order, asking the primary that owns each run of consecutive slots (by its
 * current map) for a page of them (a forwarded request, served from that
 * node's own keys: scan-slots.ts), and hands the client a cursor naming the
 * slot and the last key returned in it. Within a slot keys are in byte order,
 * so a page of a slot that migrated meanwhile resumes on the new owner after
 * the same key: a key that exists for the whole scan is returned exactly
 * once. Keys are in order within a slot, not across slots; a page may hold
 * fewer than `limit` items (even none) while the cursor is not null.
 */
import type { Request } from 'express';
import { slotOwners, type ClusterMap } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { ERROR_CODES, type ErrorCode, HttpError, badRequest } from './errors.js';
import { type PeerLink, sendToPeer } from './forward.js';
import { scanShards } from './forward-target.js';
import { SLOT_MOVED_CODE, SLOT_PARAMS, type SlotPosition, decodeSlotCursor, encodeSlotCursor } from './scan-slots.js';
import { decodeBase64Strict } from './codec.js';

export interface ScanPage {
  readonly items: unknown[];
  readonly cursor: string | null;
}

/** How long to wait before asking again when a slot's owner refused a page because the slot moved. */
const MOVED_RETRY_MS = 50;

/** The request's raw query without `cursor`, `limit`, `redirect` and the coordinator's own parameters (the prefix's %XX bytes stay exact). */
function baseQuery(originalUrl: string): string[] {
  const q = originalUrl.indexOf('?');
  if (q === -1) return [];
  const dropped = new Set<string>(['cursor', 'limit', 'redirect', ...SLOT_PARAMS]);
  return originalUrl.slice(q + 1).split('&').filter((part) => part !== '' && !dropped.has(part.split('=', 1)[0]!));
}

/** The run of consecutive slots from `slot` that one shard owns in `map`, and where its primary listens. */
export function slotRun(map: ClusterMap, slot: number): { shard: string; primary: string; last: number } | null {
  const owners = slotOwners(map);
  const i = owners[slot]!;
  if (i < 0) return null;
  let last = slot;
  while (last + 1 < SLOT_COUNT && owners[last + 1] === i) last++;
  const s = map.shards[i]!;
  return { shard: s.id, primary: s.primary, last };
}

interface PeerSlotPage {
  readonly items: unknown[];
  readonly next: SlotPosition | null;
}

type Attempt = { kind: 'page'; page: PeerSlotPage } | { kind: 'moved'; message: string };

async function peerSlotPage(peer: PeerLink, map: ClusterMap, req: Request, pos: SlotPosition, limit: number): Promise<{ attempt: Attempt; last: number }> {
  const run = slotRun(map, pos.slot);
  if (run === null) throw new HttpError(503, 'cluster_down', `slot ${pos.slot} is not assigned to any shard: the scan cannot go on; retry with the same cursor`, { slot: pos.slot });
  const target = scanShards(map).find((s) => s.id === run.shard)?.target ?? null;
  if (target === null) throw new HttpError(503, 'cluster_down', `the cluster map has no HTTP address for ${run.primary}, primary of ${run.shard}`, { shard: run.shard });
  const query = [...baseQuery(req.originalUrl), `limit=${limit}`, `slots=${pos.slot}-${run.last}`];
  if (pos.after !== null) query.push(`after=${pos.after.toString('base64url')}`);
  const answer = await sendToPeer(peer, target, req, `/v1/scan?${query.join('&')}`, null);
  const body = (await answer.json().catch(() => null)) as { items?: unknown; next?: unknown; error?: { code?: unknown; message?: unknown; details?: unknown } } | null;
  if (answer.status === 200 && body !== null && Array.isArray(body.items)) {
    const next = parseNext(body.next);
    if (next !== undefined) return { attempt: { kind: 'page', page: { items: body.items, next } }, last: run.last };
  }
  const e = body?.error;
  const msg = typeof e?.message === 'string' ? e.message : `unexpected answer ${answer.status}`;
  const retry = typeof e?.details === 'object' && e.details !== null && (e.details as { retry?: unknown }).retry === true;
  if (answer.status === 503 && e?.code === SLOT_MOVED_CODE && retry) return { attempt: { kind: 'moved', message: msg }, last: run.last };
  // The shard's own refusal (auth, a bad prefix) is the client's answer.
  const code = ERROR_CODES.includes(e?.code as ErrorCode) ? (e?.code as ErrorCode) : 'internal';
  throw new HttpError(answer.status === 200 ? 502 : answer.status, code, `scan of ${run.shard} (on ${run.primary}): ${msg}`, { shard: run.shard });
}

function parseNext(v: unknown): SlotPosition | null | undefined {
  if (v === null) return null;
  if (typeof v !== 'object' || v === null) return undefined;
  const { slot, after } = v as { slot?: unknown; after?: unknown };
  if (!Number.isInteger(slot) || (slot as number) < 0 || (slot as number) >= SLOT_COUNT) return undefined;
  if (after === null) return { slot: slot as number, after: null };
  const bytes = typeof after === 'string' ? decodeBase64Strict(after) : null;
  return bytes === null ? undefined : { slot: slot as number, after: bytes };
}

/**
 * One page of a scan over every slot, starting from the client's cursor ('' = the start).
 * `currentMap` is read again when a slot's owner says the slot moved, until httpForwardTimeoutMs.
 */
export async function clusterScanPage(peer: PeerLink, currentMap: () => ClusterMap | null, req: Request, cursorText: string, limit: number): Promise<ScanPage> {
  let pos: SlotPosition | null = { slot: 0, after: null };
  if (cursorText !== '') {
    pos = decodeSlotCursor(cursorText);
    if (pos === null) throw badRequest('malformed cursor: pass back the cursor of the previous page unchanged (a cursor from before the slot-ordered scan: start the scan again)');
  }
  const items: unknown[] = [];
  const { config } = peer;
  const deadline = Date.now() + config.httpForwardTimeoutMs;
  while (pos !== null && items.length < limit) {
    const map = currentMap();
    if (map === null) throw new HttpError(503, 'cluster_down', 'this node has no cluster map any more: retry with the same cursor');
    const { attempt, last } = await peerSlotPage(peer, map, req, pos, limit - items.length);
    if (attempt.kind === 'moved') {
      if (Date.now() >= deadline) throw new HttpError(503, 'cluster_down', `${attempt.message}; the map did not settle in ${config.httpForwardTimeoutMs} ms: retry with the same cursor`);
      await new Promise((r) => setTimeout(r, MOVED_RETRY_MS));
      continue;
    }
    items.push(...attempt.page.items);
    pos = attempt.page.next ?? (last + 1 < SLOT_COUNT ? { slot: last + 1, after: null } : null);
  }
  return { items, cursor: pos === null ? null : encodeSlotCursor(pos) };
}
