/**
 * GET /v1/scan across a cluster (issue #13): any node walks the shards in
 * order of their id, asking each shard's primary for pages (a forwarded
 * request, served from that node's own keys), and hands the client a cursor
 * naming the shard and that shard's own cursor. Keys are in byte order within
 * a shard, not across shards; a page may hold fewer than `limit` items (even
 * none) while the cursor is not null.
 */
import type { Request } from 'express';
import type { ClusterMap } from '../../common/cluster-map.js';
import type { NodeConfig } from '../config/schema.js';
import { ERROR_CODES, type ErrorCode, HttpError, badRequest } from './errors.js';
import { sendToPeer } from './forward.js';
import { type ScanShard, decodeShardCursor, encodeShardCursor, nextShard, scanShards } from './forward-target.js';

export interface ScanPage {
  readonly items: unknown[];
  readonly cursor: string | null;
}

/** The request's raw query without `cursor`, `limit` and `redirect` (the prefix's %XX bytes stay exact). */
function baseQuery(originalUrl: string): string[] {
  const q = originalUrl.indexOf('?');
  if (q === -1) return [];
  return originalUrl.slice(q + 1).split('&').filter((part) => {
    const name = part.split('=', 1)[0];
    return part !== '' && name !== 'cursor' && name !== 'limit' && name !== 'redirect';
  });
}

async function peerPage(config: NodeConfig, shard: ScanShard, req: Request, inner: string | null, limit: number): Promise<ScanPage> {
  if (shard.target === null) throw new HttpError(503, 'cluster_down', `the cluster map has no HTTP address for ${shard.primary}, primary of ${shard.id}`, { shard: shard.id });
  const query = [...baseQuery(req.originalUrl), `limit=${limit}`];
  if (inner !== null) query.push(`cursor=${encodeURIComponent(inner)}`);
  const answer = await sendToPeer(config, shard.target, req, `/v1/scan?${query.join('&')}`, null);
  const body = (await answer.json().catch(() => null)) as { items?: unknown; cursor?: unknown; error?: { code?: unknown; message?: unknown; details?: unknown } } | null;
  if (answer.status === 200 && body !== null && Array.isArray(body.items) && (body.cursor === null || typeof body.cursor === 'string')) {
    return { items: body.items, cursor: body.cursor };
  }
  // The shard's own refusal (auth, a bad prefix, not a primary any more) is the client's answer.
  const e = body?.error;
  const code = ERROR_CODES.includes(e?.code as ErrorCode) ? (e?.code as ErrorCode) : 'internal';
  const msg = typeof e?.message === 'string' ? e.message : `unexpected answer ${answer.status}`;
  throw new HttpError(answer.status === 200 ? 502 : answer.status, code, `scan of ${shard.id} (on ${shard.primary}): ${msg}`, { shard: shard.id });
}

/** One page of a scan over every shard of `map`, starting from the client's cursor ('' = the start). */
export async function clusterScanPage(config: NodeConfig, map: ClusterMap, req: Request, cursorText: string, limit: number): Promise<ScanPage> {
  const shards = scanShards(map);
  if (shards.length === 0) return { items: [], cursor: null };
  let shard: ScanShard | null = shards[0]!;
  let inner: string | null = null;
  if (cursorText !== '') {
    const c = decodeShardCursor(cursorText);
    if (c === null) throw badRequest('malformed cursor: pass back the cursor of the previous page unchanged');
    shard = shards.find((s) => s.id === c.shard) ?? null;
    if (shard === null) throw badRequest(`the cursor names shard ${c.shard}, which the cluster no longer has: start the scan again`);
    inner = c.inner;
  }
  const items: unknown[] = [];
  for (;;) {
    const page: ScanPage = await peerPage(config, shard, req, inner, limit - items.length);
    items.push(...page.items);
    if (page.cursor !== null) return { items, cursor: encodeShardCursor({ shard: shard.id, inner: page.cursor }) };
    const next = nextShard(shards, shard.id);
    if (next === null) return { items, cursor: null };
    if (items.length >= limit) return { items, cursor: encodeShardCursor({ shard: next.id, inner: null }) };
    shard = next;
    inner = null;
  }
}
