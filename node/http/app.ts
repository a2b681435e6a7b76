/**
 * The node's HTTP app (express 5): the KV API under /v1, probes, metrics,
 * the OpenAPI document and, when the runtime provides one, the admin API
 * under /admin. Every error leaves as JSON; nothing a client sends can throw
 * past the error handler.
 */
import { eventualRead } from './consistency.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import { batchRoutes } from './batch-routes.js';
import { importRoutes } from './import-routes.js';
import { changesRoutes } from './changes-routes.js';
import { browserGuard } from './browser-guard.js';
import { AUTHENTICATED_SOCKETS_LOCAL } from './admin-auth.js';
import { type AuthenticatedSockets, clientAuth } from './client-auth.js';
import { aclAuth } from './acl-http.js';
import type { HttpDeps } from './deps.js';
import { HttpError, sendError, toHttpError } from './errors.js';
import { type ForwardDeps, tryForward } from './forward.js';
import { nodePeerSchemes } from './forward-probe.js';
import { healthRoutes } from './health-routes.js';
import { kvRoutes } from './kv-routes.js';
import { parseQueryOnce } from './params.js';
import { type OpenApiDocument, buildOpenApi, openApiRoute } from './openapi.js';
import { type RouteDef, mountRoutes, routeLabel } from './route-table.js';
import { scanRoutes } from './scan-routes.js';
import { buildSchemas } from './schemas.js';

export type { HttpDeps } from './deps.js';

export interface HttpApp extends express.Express {
  /** The routes this app serves (for tests and tooling). */
  readonly irisRoutes: readonly RouteDef[];
  readonly openApi: OpenApiDocument;
  /** Sockets that carried an authenticated request (createHttpServer's unauthenticated-connection timeout spares them). */
  readonly authenticatedSockets: AuthenticatedSockets;
}

export function createHttpApp(given: HttpDeps): HttpApp {
  // One memory of the peers' schemes for forwarding and cluster scans: each peer learnt (and logged) once.
  const deps: HttpDeps = { ...given, peerSchemes: given.peerSchemes ?? nodePeerSchemes(given.config, given.logger) };
  const app = express();
  app.disable('x-powered-by');
  // Our ETags are key versions; express's body-hash ETags would be wrong and cost a hash per response.
  app.set('etag', false);
  // The /v1/kv matcher is a case-sensitive RegExp; keep the other paths consistent with it.
  app.set('case sensitive routing', true);

  const { metrics } = deps;
  // First: the span covers everything the node does with the request (docs/tracing.md).
  if (deps.tracing !== undefined) app.use(deps.tracing.middleware);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = routeLabel(res);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpRequests.inc({ route, method: req.method, code: String(res.statusCode) });
      metrics.httpDuration.observe({ route, method: req.method }, seconds);
    });
    next();
  });
  // Before anything parses the request or answers: what a web page could send is refused.
  app.use(browserGuard(deps.config));
  app.use(parseQueryOnce);

  // With requirePass the KV API needs the same password as RESP AUTH; the OpenAPI document and probes stay open.
  const authenticatedSockets: AuthenticatedSockets = new WeakSet();
  const acl = deps.acl;
  if (acl !== undefined) {
    // ACL users (node/http/acl-http.ts): every /v1 request runs as a user, "default" when it is open.
    const auth = aclAuth(acl, authenticatedSockets, deps.now, deps.audit);
    app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
      if (req.path === '/openapi.json') next();
      else auth(req, res, next);
    });
    if (deps.config.metricsRequirePass && !acl.defaultOpen()) app.use('/metrics', auth);
  } else if (deps.config.requirePass !== '') {
    const auth = clientAuth(deps.config.requirePass, authenticatedSockets, deps.audit);
    app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
      if (req.path === '/openapi.json') next();
      else auth(req, res, next);
    });
    if (deps.config.metricsRequirePass) app.use('/metrics', auth);
  }

  // A replica serves no KV requests: its data may lag, and writes go to the primary.
  // Before that: a cluster member without its first map serves nothing, whatever its role (issue #13).
  const repl = deps.replication;
  const router = deps.keyRouter;
  if (repl !== undefined || router?.down !== undefined) {
    app.use('/v1', (req: Request, _res: Response, next: NextFunction) => {
      const down = router?.down?.() ?? null;
      if (down !== null && req.path !== '/openapi.json') throw new HttpError(503, 'cluster_down', down);
      if (repl === undefined) return next();
      const view = repl.role();
      // With a map, slot routing sends a replica's requests to the slot's primary (forwarded, issue #13).
      const mapped = (deps.clusterMap?.() ?? null) !== null;
      if (view.role === 'replica' && !mapped && req.path !== '/openapi.json' && !eventualRead(req)) {
        const where = view.primary === null ? 'its primary is not reachable yet' : `use the primary at ${view.primary.host}:${view.primary.port} (RESP)`;
        throw new HttpError(421, 'read_only_replica', `this node is a replica: ${where}`, view.primary === null ? undefined : { primary: view.primary });
      }
      next();
    });
  }

  const schemas = buildSchemas(deps.config);
  let doc: OpenApiDocument | undefined;
  const tracing = deps.tracing;
  // Traced: a route's commit wait joins its request span to the group-commit turn.
  const routeDeps: HttpDeps = tracing === undefined ? deps : { ...deps, commits: tracing.commits(deps.commits) };
  const routes: RouteDef[] = [
    ...kvRoutes(routeDeps),
    ...batchRoutes(routeDeps, schemas),
    ...importRoutes(routeDeps),
    ...scanRoutes(routeDeps),
    ...changesRoutes(routeDeps),
    ...healthRoutes(routeDeps),
    openApiRoute(() => doc!),
  ];
  doc = buildOpenApi(routes, schemas, deps.config);
  mountRoutes(app, tracing === undefined ? routes : routes.map((r) => ({ ...r, handlers: r.handlers.map((h) => tracing.wrap(h)) })));

  if (deps.admin) {
    app.use('/admin', (_req: Request, res: Response, next: NextFunction) => {
      res.locals.route = '/admin';
      res.locals[AUTHENTICATED_SOCKETS_LOCAL] = authenticatedSockets;
      next();
    }, deps.admin);
  }

  app.use((req: Request) => {
    throw new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`);
  });

  const forwarding: ForwardDeps = { config: deps.config, clusterMap: () => deps.clusterMap?.() ?? null, schemes: deps.peerSchemes! };
  const fail = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    let httpErr = toHttpError(err);
    if (httpErr === null) {
      deps.logger.error('HTTP request failed', {
        method: req.method, route: routeLabel(res), err: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined,
      });
      httpErr = new HttpError(500, 'internal', 'internal error (logged on the node)');
    } else if (httpErr.status >= 500) {
      deps.logger.error('HTTP request failed', { method: req.method, route: routeLabel(res), code: httpErr.code, err: httpErr.message });
    }
    if (res.headersSent) {
      next(err); // express closes the connection: the response is already partly out
      return;
    }
    sendError(res, httpErr);
  };
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const httpErr = toHttpError(err);
    if (httpErr === null || httpErr.code !== 'moved' || res.headersSent) {
      fail(err, req, res, next);
      return;
    }
    // A 421 from slot routing: forward to the slot's primary, redirect, or answer the 421 (forward.ts).
    tryForward(forwarding, httpErr, req, res).then(
      (done) => { if (!done) fail(err, req, res, next); },
      (e: unknown) => fail(e, req, res, next),
    );
  });

  return Object.assign(app, { irisRoutes: routes, openApi: doc, authenticatedSockets });
}
