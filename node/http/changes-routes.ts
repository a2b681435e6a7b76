/**
 * GET /v1/changes: the shard's change feed as Server-Sent Events
 * (docs/change-feed.md). Served by the shard's primary; any other node
 * answers 307 to it (a stream cannot go through forward.ts, which buffers
 * whole answers). Auth and the browser guard apply as on every /v1 route
 * (app.ts).
 */
import type { Request, Response } from 'express';
import { ChangeFeed, type ChangeLogSource, type FeedSink } from '../changes/feed.js';
import { ChangePositionError, formatPosition, parsePosition } from '../../common/change-position.js';
import { type StartFrom, resumeDecision } from '../changes/resume.js';
import { sseMessage } from '../changes/event.js';
import { termAt } from '../replication/history.js';
import type { HttpDeps } from './deps.js';
import { HttpError, badRequest } from './errors.js';
import { isForwarded } from './forward.js';
import { scanShards, targetUrl } from './forward-target.js';
import { encodingParam, keyTooLarge, queryParam } from './params.js';
import type { RouteDef } from './route-table.js';
import { prefixFromRequest } from './scan-routes.js';
import { readableKeyFilter, requirePermission } from './acl-http.js';

/** How long EventSource waits before reconnecting (the SSE `retry:` field). */
const RETRY_MS = 1000;

function startFrom(req: Request): StartFrom {
  // An explicit ?from wins over EventSource's Last-Event-ID header.
  const text = queryParam(req, 'from') ?? req.get('last-event-id');
  if (text === undefined || text === '' || text === 'now') return { kind: 'now' };
  if (text === 'earliest') return { kind: 'earliest' };
  try {
    return { kind: 'after', position: parsePosition(text) };
  } catch (err) {
    if (err instanceof ChangePositionError) throw badRequest(`${err.message} (from: now, earliest, or a position <shard>:<epoch>:<seq>)`);
    throw err;
  }
}

function sinkOf(res: Response): FeedSink {
  const gone = new Promise<void>((resolve) => res.once('close', () => resolve()));
  return {
    write: (chunk) => res.write(chunk),
    drain: () => new Promise<void>((resolve) => res.once('drain', () => resolve())),
    get closed() { return res.destroyed || res.writableEnded; },
    gone,
  };
}

export function changesRoutes(deps: HttpDeps): RouteDef[] {
  const { config } = deps;
  let streams = 0;

  /** 307 to the named shard's primary, or an error saying why there is none. */
  function redirect(req: Request, res: Response, shard: string, why: string): void {
    const map = deps.clusterMap?.() ?? null;
    const target = map === null ? null : scanShards(map).find((s) => s.id === shard)?.target ?? null;
    if (map !== null && !map.shards.some((s) => s.id === shard)) throw new HttpError(404, 'not_found', `no shard ${shard} in the cluster map`);
    if (target === null || target.name === config.nodeName || isForwarded(req)) {
      throw new HttpError(421, 'read_only_replica', `${why}, and there is no other node to send the feed request to (yet): retry on the shard's primary`, { shard });
    }
    // An HTTPS node sends the client to the primary's HTTPS port (every node of a cluster serves the same scheme).
    res.status(307).set('Location', targetUrl(target, req.originalUrl, config.tlsHttp ? 'https' : 'http')).json({
      error: { code: 'moved', message: `${why}: the change feed of shard ${shard} is served by its primary ${target.name}`, details: { shard, node: target.name } },
    });
  }

  async function changes(req: Request, res: Response): Promise<void> {
    const src: ChangeLogSource | undefined = deps.changes;
    if (src === undefined) throw new HttpError(404, 'not_found', 'this node has no change feed');
    const prefix = prefixFromRequest(req);
    if (prefix.length > config.maxKeyBytes) throw keyTooLarge(prefix.length, config.maxKeyBytes, 'prefix');
    // ACL: the feed stands for a read of every key it shows; a user limited to key patterns sees only those.
    requirePermission(deps.acl, req, res, [Buffer.from('scan'), Buffer.from('0')], deps.now());
    const readable = readableKeyFilter(deps.acl, res);
    const encoding = encodingParam(req, 'encoding');
    const from = startFrom(req);
    const mine = src.shard();
    if (mine === null) throw new HttpError(503, 'cluster_down', 'this node has no cluster map yet');
    const wanted = from.kind === 'after' ? from.position.shard : queryParam(req, 'shard') || mine;
    if (from.kind === 'after' && queryParam(req, 'shard') !== undefined && queryParam(req, 'shard') !== wanted) {
      throw badRequest(`shard=${queryParam(req, 'shard')} but the position is on shard ${wanted}`);
    }
    if (wanted !== mine) return redirect(req, res, wanted, `this node serves shard ${mine}`);
    if (src.role() !== 'primary') return redirect(req, res, wanted, 'this node is a replica');
    if (streams >= config.changeFeedMaxStreams) {
      throw new HttpError(429, 'too_many_streams', `this node already serves ${streams} change feeds (changeFeedMaxStreams)`, undefined, { 'Retry-After': '1' });
    }
    const history = src.history();
    const lastSeq = src.lastSeq();
    const own = src.ownership();
    const decision = resumeDecision({ shard: mine, history, lastSeq, logFirstSeq: src.logFirstSeq(), provableFrom: own.provableFrom }, from);
    if (decision.kind === 'other_shard') return redirect(req, res, decision.shard, `this node serves shard ${mine}`);
    if (decision.kind === 'gone') {
      src.metrics?.gone.inc();
      throw new HttpError(410, 'gone', `${decision.reason}; start again from a fresh copy (GET /v1/scan) and from=now`, { shard: mine, oldestSeq: src.logFirstSeq() ?? lastSeq + 1 });
    }
    const startSeq = decision.fromSeq - 1;
    const epoch = termAt(history, startSeq)?.epoch ?? history[history.length - 1]?.epoch ?? 0;
    const position = formatPosition({ shard: mine, epoch, seq: startSeq });
    if (req.method === 'HEAD') {
      // Only the headers of a stream: nothing to follow.
      res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' }).end();
      return;
    }
    streams++;
    src.metrics?.streams.inc();
    try {
      res.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      res.write(`retry: ${RETRY_MS}\n` + sseMessage('hello', JSON.stringify({ shard: mine, node: config.nodeName, position }), position));
      const feed = new ChangeFeed(src, sinkOf(res), {
        shard: mine, fromSeq: decision.fromSeq, prefix, encoding, pageEvents: config.changeFeedPageEvents, keepaliveMs: config.changeFeedKeepaliveMs,
        ...(readable === null ? {} : { keyFilter: readable }),
      });
      const end = await feed.run();
      if (end.kind === 'gone') {
        src.metrics?.gone.inc();
        res.write(sseMessage('error', JSON.stringify({ status: 410, code: 'gone', message: end.reason })));
      } else if (end.kind === 'not_primary') res.write(sseMessage('end', JSON.stringify({ reason: end.reason })));
      res.end();
    } finally {
      streams--;
      src.metrics?.streams.dec();
    }
  }

  const p = (name: string) => ({ $ref: `#/components/parameters/${name}` });
  const r = (name: string) => ({ $ref: `#/components/responses/${name}` });
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  return [
    {
      method: 'get', path: '/v1/changes', match: '/v1/changes', handlers: [changes],
      operation: {
        operationId: 'changes', tags: ['kv'], summary: 'Follow the shard\'s changes (Server-Sent Events), resumable by position',
        description:
          'A stream of `change` events, one per logged change of this shard (set, del, expire, clear), in sequence order, each with `id:` = its position ' +
          '`<shard>:<epoch>:<seq>`. Reconnect with `from=<last position>` (or EventSource\'s Last-Event-ID) to get every later change exactly once, ' +
          'also after a failover. `progress` events move the position past changes the prefix or slot rules left out; `end` says the node stopped ' +
          'being the primary (reconnect); `error` (410) says the consumer fell behind retention. Served by the shard\'s primary; other nodes answer 307.',
        parameters: [
          p('Prefix'), p('KeyEncoding'), p('Encoding'),
          { name: 'from', in: 'query', schema: { type: 'string', default: 'now' }, description: '`now` (default), `earliest` (oldest retained change) or a position `<shard>:<epoch>:<seq>` (start after it).' },
          { name: 'shard', in: 'query', schema: { type: 'string' }, description: 'The shard to follow (default: this node\'s; a position names its own).' },
          { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' }, description: 'Same as from=<position> (sent by EventSource when it reconnects); ?from wins.' },
        ],
        responses: {
          200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          307: error('Another node serves this shard\'s feed: follow Location.'),
          400: r('BadRequest'),
          404: error('No such shard in the cluster map.'),
          410: error('The position is older than the retained log, or names a change this shard\'s log does not have (lost in a failover), or cannot be proven.'),
          413: r('PayloadTooLarge'),
          421: error('This node cannot serve the feed and knows no node that can (yet).'),
          429: error('changeFeedMaxStreams feeds are already open on this node.'),
          500: r('Internal'),
          503: error('A cluster member without its first map.'),
        },
      },
    },
  ];
}
