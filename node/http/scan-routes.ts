/** GET /v1/scan: key-ordered pages of keys under a prefix, with an opaque cursor. */
import type { Request, Response } from 'express';
import { decodeBase64Strict, decodeCursor, encodeCursor, percentDecode } from './codec.js';
import { awaitReadCommit } from './commit.js';
import { consistencyOf, finishRead } from './consistency.js';
import type { HttpDeps } from './deps.js';
import { entryJson } from './entry-json.js';
import { HttpError, badRequest } from './errors.js';
import { isForwarded } from './forward.js';
import { scanShards } from './forward-target.js';
import { clusterScanPage } from './scan-cluster.js';
import { nodePeerSchemes } from './forward-probe.js';
import { serveSlotPage } from './scan-slots.js';
import { boolParam, encodingParam, intParam, keyTooLarge, queryParam } from './params.js';
import type { RouteDef } from './route-table.js';
import { readableKeyFilter, requirePermission } from './acl-http.js';

/**
 * The prefix bytes. The query parser has already percent-decoded the value
 * as UTF-8, which is lossy for binary prefixes, so keyEncoding=base64 is the
 * way to give those; the raw query string is used to keep %XX bytes exact.
 */
export function prefixFromRequest(req: Request): Buffer {
  const text = queryParam(req, 'prefix');
  if (text === undefined || text === '') return Buffer.alloc(0);
  if (encodingParam(req, 'keyEncoding') === 'base64') {
    const b = decodeBase64Strict(text);
    if (b === null) throw badRequest('prefix is not valid base64 (keyEncoding=base64)');
    return b;
  }
  const raw = rawQueryValue(req.originalUrl, 'prefix');
  const bytes = raw === null ? null : percentDecode(raw.replace(/\+/g, '%20'));
  if (bytes === null) throw badRequest('malformed percent-escape in prefix');
  return bytes;
}

function rawQueryValue(url: string, name: string): string | null {
  const q = url.indexOf('?');
  if (q === -1) return null;
  for (const part of url.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    if ((eq === -1 ? part : part.slice(0, eq)) === name) return eq === -1 ? '' : part.slice(eq + 1);
  }
  return null;
}

const SCAN_CMD = Buffer.from('scan');

export function scanRoutes(deps: HttpDeps): RouteDef[] {
  const { keyspace, commits, config } = deps;
  // Which peers speak another scheme (a roll to --tls-http): the app's one memory, shared with forwarding.
  const schemes = deps.peerSchemes ?? nodePeerSchemes(config, deps.logger);
  const defaultLimit = Math.min(100, config.maxScanLimit);

  async function scan(req: Request, res: Response): Promise<void> {
    const prefix = prefixFromRequest(req);
    if (prefix.length > config.maxKeyBytes) throw keyTooLarge(prefix.length, config.maxKeyBytes, 'prefix');
    const cursorText = queryParam(req, 'cursor');
    const limit = intParam(req, 'limit', 1, config.maxScanLimit, defaultLimit);
    const encoding = encodingParam(req, 'encoding');
    const values = boolParam(req, 'values', true);
    requirePermission(deps.acl, req, res, [SCAN_CMD, Buffer.from('0')], deps.now());
    // A user restricted to key patterns sees only the keys it may read (Redis's SCAN would list them all).
    const readable = readableKeyFilter(deps.acl, res);
    // In a cluster any node walks every shard (scan-cluster.ts); the pages it asks for are served from local keys.
    const map = deps.clusterMap?.() ?? null;
    if (map !== null && !isForwarded(req) && scanShards(map).every((s) => s.target !== null)) {
      res.status(200).json(await clusterScanPage({ config, schemes }, () => deps.clusterMap?.() ?? null, req, cursorText ?? '', limit));
      return;
    }
    // A coordinator's page of a run of slots (scan-slots.ts).
    if (map !== null && isForwarded(req) && queryParam(req, 'slots') !== undefined) return serveSlotPage(deps, req, res, prefix, limit, readable);
    if (map !== null && deps.replication?.role().role === 'replica') {
      // A replica's keys may lag: it serves no scan pages itself.
      if (isForwarded(req)) throw new HttpError(503, 'cluster_down', 'a scan page was forwarded to a node that is now a replica (the map changed): start the scan again');
      throw new HttpError(421, 'read_only_replica', 'this node is a replica and the cluster map has no HTTP addresses to forward the scan to: scan on a primary');
    }
    let after: string | null = null;
    if (cursorText !== undefined && cursorText !== '') {
      after = decodeCursor(cursorText);
      if (after === null) throw badRequest('malformed cursor: pass back the cursor of the previous page unchanged');
    }
    let page;
    try {
      page = keyspace.scanPrefix(prefix, after, limit, deps.now());
    } catch (err) {
      // The cursor is opaque but user-supplied: the engine's RangeError for a token it did not
      // issue is a client error; anything else (a storage failure) stays a 500.
      if (after !== null && err instanceof RangeError) throw badRequest(`invalid cursor: ${err.message}`);
      throw err;
    }
    await awaitReadCommit(commits);
    // Strong: this primary confirms it still leads (a cluster scan forwards ?consistency to every shard's primary).
    await finishRead(deps.consistency, consistencyOf(req), res);
    const shown = readable === null ? page.entries : page.entries.filter((e) => readable(e.key));
    const items = shown.map((e) => entryJson(e.key, e.entry, encoding, values));
    res.status(200).json({ items, cursor: page.next === null ? null : encodeCursor(page.next) });
  }

  const p = (name: string) => ({ $ref: `#/components/parameters/${name}` });
  const r = (name: string) => ({ $ref: `#/components/responses/${name}` });
  return [
    {
      method: 'get', path: '/v1/scan', match: '/v1/scan', handlers: [scan],
      operation: {
        operationId: 'scan', tags: ['kv'], summary: 'List keys by prefix, in key order, a page at a time',
        description:
          'Keys are ordered by their bytes. Follow `cursor` until it is null: every key that exists for the whole scan is returned exactly once; ' +
          'keys written during the scan may or may not appear. A binary prefix can be percent-encoded (%FF) or given in base64 with keyEncoding=base64. ' +
          'In a cluster any node scans every slot in turn, each slot from its owner at the time (also while slots migrate, a key that exists for the whole scan is returned once): keys are in order within a slot, and a page may be short (even empty) before the cursor is null.',
        parameters: [p('Prefix'), p('KeyEncoding'), p('Cursor'), p('Limit'), p('Encoding'), p('Values'), p('Consistency'), p('ConsistencyHeader')],
        responses: {
          200: { description: 'One page', content: { 'application/json': { schema: { $ref: '#/components/schemas/ScanPage' } } } },
          400: r('BadRequest'), 413: r('PayloadTooLarge'), 500: r('Internal'), 503: r('WriteFailed'),
        },
      },
    },
  ];
}
