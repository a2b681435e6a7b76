/**
 * The controller's control API over HTTP (express 5), for irisctl:
 *   GET  /status       ClusterStatus
 *   POST /failover     {shard}                      → 202 RequestAccepted
 *   POST /switchover   {shard, to?}                 → 202
 *   POST /restart      {node}                       → 202
 *   POST /scale        {shards?, replicasPerShard?} → 202 (at least one)
 *   POST /rebalance    {} or no body                → 202
 *   GET  /healthz      200
 *   GET  /, /dashboard/... the web dashboard, when given (operator/dashboard)
 *   GET  /metrics, /prometheus/targets   the controller's metrics and the nodes to scrape, when given
 * Errors: {error: {code, message}}; ControlError → 400/404/409/503, a bad
 * body → 400 naming the field, anything else → 500 (logged).
 *
 * Every route but /healthz needs `Authorization: Bearer <token>`, the
 * cluster's token (auth.ts): 401 unauthorized otherwise, so another local
 * user cannot fail over or scale the cluster. It also only ever listens on
 * loopback, and refuses what a web page could send it: requests with an
 * Origin header other than its own (cross-site POSTs from a browser; the
 * dashboard's page is same-origin and sends the token the user pastes) or
 * a Host that is not a loopback name (DNS rebinding).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { NODE_NAME } from '../../common/cluster-map.js';
import { isLoopbackHost, sameOrigin } from '../../common/http-browser-guard.js';
import { listenOnLoopback } from './listen-loopback.js';
import type { Logger } from '../../common/logger.js';
import type { Registry } from 'prom-client';
import { SPEC_LIMITS, SpecError } from '../core/spec.js';
import { BEARER_CHALLENGE, bearerMatches, checkControlToken } from './auth.js';
import { prometheusTargets } from './prometheus-targets.js';
import { ControlError, type ControlTarget, type RequestAccepted, type ScaleRequest } from './types.js';
import type { AuditSink } from '../../common/audit/sink.js';
import { auditControlRequests } from '../audit/control-audit.js';

const BODY_LIMIT = 64 * 1024;

export type ControlErrorCode = ControlError['code'] | 'forbidden' | 'unauthorized' | 'method_not_allowed' | 'payload_too_large' | 'unsupported' | 'internal';

/** An error with the status and code it is answered with. */
class ApiError extends Error {
  constructor(readonly status: number, readonly code: ControlErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

const STATUS_OF: Record<ControlError['code'], number> = { bad_request: 400, not_found: 404, conflict: 409, unavailable: 503 };

const bad = (message: string): ApiError => new ApiError(400, 'bad_request', message);

/**
 * token: the Bearer token every route but /healthz requires (the cluster directory's token).
 * publicRoutes: read-only routes served without the token, behind the same Host/Origin checks (the dashboard).
 * metrics: served as GET /metrics (Prometheus text), with the token like every other route, beside
 * GET /prometheus/targets (the nodes to scrape, for Prometheus's http_sd_configs).
 */
export function controlApiApp(target: ControlTarget, logger: Logger, token: string, publicRoutes?: express.Router, metrics?: Registry, authedRoutes?: express.Router, audit?: AuditSink): express.Express {
  checkControlToken(token);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The audit log (docs/security.md): refused tokens and every changing request, with its outcome.
  if (audit !== undefined) app.use(auditControlRequests(audit));

  app.use((req: Request, _res: Response, next: NextFunction) => {
    // The dashboard's own page (same origin: served here, so on a loopback Host) may send its actions, with the token like irisctl.
    if (req.headers.origin !== undefined && !sameOrigin(req.headers.origin, req.headers.host)) throw new ApiError(403, 'forbidden', 'requests from other web pages are refused: use irisctl or the dashboard');
    if (!isLoopbackHost(req.headers.host)) throw new ApiError(403, 'forbidden', `Host "${req.headers.host ?? ''}" is not a loopback address`);
    next();
  });

  // Every POST body is JSON whatever its content type says; no body counts as {}.
  const json = express.json({ limit: BODY_LIMIT, strict: true, type: () => true });

  // Liveness only: it says nothing about the cluster, so it needs no token.
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  if (publicRoutes !== undefined) app.use(publicRoutes);
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
      throw new ApiError(401, 'unauthorized', 'the control API needs the cluster token (Authorization: Bearer <token>, from the cluster directory\'s token file): use irisctl');
    }
    next();
  });
  app.get('/status', (_req, res) => {
    res.json(target.status());
  });
  if (metrics !== undefined) {
    app.get('/metrics', async (_req, res) => {
      const text = await metrics.metrics();
      res.setHeader('Content-Type', metrics.contentType);
      res.send(text);
    });
    app.get('/prometheus/targets', (_req, res) => {
      res.json(prometheusTargets(target.status()));
    });
  }
  app.post('/failover', json, accept(async (body) => {
    const o = fields(body, ['shard'], ['shard']);
    return target.failover(name(o.shard, 'shard'));
  }));
  app.post('/switchover', json, accept(async (body) => {
    const o = fields(body, ['shard', 'to'], ['shard']);
    const shard = name(o.shard, 'shard');
    return o.to === undefined ? target.switchover(shard) : target.switchover(shard, name(o.to, 'to'));
  }));
  app.post('/scale', json, accept(async (body) => target.scale(scaleRequest(body))));
  app.post('/rebalance', json, accept(async (body) => {
    fields(body, [], []);
    return target.rebalance();
  }));
  app.post('/restart', json, accept(async (body) => {
    const o = fields(body, ['node'], ['node']);
    return target.restartNode(name(o.node, 'node'));
  }));

  // More token-protected routes (the backups, operator/control-api/backup-routes.ts).
  if (authedRoutes !== undefined) app.use(authedRoutes);

  for (const path of ['/healthz', '/status', '/failover', '/switchover', '/scale', '/rebalance', '/restart']) {
    app.all(path, (req: Request) => {
      throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
    });
  }
  app.use((req: Request) => {
    throw new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`);
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const e = toApiError(err);
    if (e.code === 'internal') {
      logger.error('control API request failed', {
        method: req.method, path: req.path, code: e.code, err: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined,
      });
    }
    if (res.headersSent) {
      next(err);
      return;
    }
    res.status(e.status).json({ error: { code: e.code, message: e.message } });
  });
  return app;
}

export interface ListeningControlApi {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the control API on `host` (a loopback address: it is for irisctl on
 * this machine), `port` (0: any free port), requiring `token` (Bearer).
 */
export async function listenControlApi(target: ControlTarget, addr: { host: string; port: number; token: string }, logger: Logger, publicRoutes?: express.Router, metrics?: Registry, authedRoutes?: express.Router, audit?: AuditSink): Promise<ListeningControlApi> {
  const listener = await listenOnLoopback(controlApiApp(target, logger, addr.token, publicRoutes, metrics, authedRoutes, audit), addr, 'the control API');
  return { url: listener.origin, close: listener.close };
}

function accept(run: (body: unknown) => Promise<RequestAccepted>) {
  return async (req: Request, res: Response): Promise<void> => {
    res.status(202).json(await run(req.body ?? {}));
  };
}

/** The body as an object with only `allowed` fields and every `required` one; 400 naming the field otherwise. */
function fields(body: unknown, allowed: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw bad(`unknown field "${k.slice(0, 100)}"${allowed.length > 0 ? ` (expected ${allowed.join(', ')})` : ' (expected none)'}`);
  }
  for (const k of required) if (o[k] === undefined) throw bad(`field "${k}" is required`);
  return o;
}

function name(v: unknown, field: string): string {
  if (typeof v !== 'string' || !NODE_NAME.test(v)) throw bad(`field "${field}" must be a name (letters, digits, '.', '_', '-')`);
  return v;
}

function scaleRequest(body: unknown): ScaleRequest {
  const o = fields(body, ['shards', 'replicasPerShard'], []);
  if (o.shards === undefined && o.replicasPerShard === undefined) throw bad('give field "shards", "replicasPerShard" or both');
  const out: { shards?: number; replicasPerShard?: number } = {};
  if (o.shards !== undefined) out.shards = integer(o.shards, 'shards', SPEC_LIMITS.shards);
  if (o.replicasPerShard !== undefined) out.replicasPerShard = integer(o.replicasPerShard, 'replicasPerShard', SPEC_LIMITS.replicasPerShard);
  return out;
}

function integer(v: unknown, field: string, { min, max }: { min: number; max: number }): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`field "${field}" must be an integer from ${min} to ${max}`);
  return v;
}

interface BodyParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ControlError) return new ApiError(STATUS_OF[err.code] ?? 500, err.code, err.message);
  if (err instanceof SpecError) return new ApiError(400, 'bad_request', `field "${err.field}": ${err.message}`);
  if (typeof err === 'object' && err !== null) {
    // body-parser tags its errors with `type` and a 4xx `status`.
    const e = err as BodyParserError;
    const msg = typeof e.message === 'string' ? e.message : 'bad request';
    if (e.type === 'entity.parse.failed') return bad(`the body is not valid JSON: ${msg}`);
    if (e.type === 'entity.too.large') return new ApiError(413, 'payload_too_large', `the body is larger than ${BODY_LIMIT} bytes`);
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new ApiError(415, 'unsupported', msg);
    // Other client-side failures reading the body (a truncated gzip stream, an aborted upload) are http-errors with expose set.
    if ((typeof e.type === 'string' || e.expose === true) && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return bad(`the body could not be read: ${msg}`);
    }
  }
  return new ApiError(500, 'internal', 'internal error (logged by the controller)');
}
