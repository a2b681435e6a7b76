/**
 * Routes are declared as data: method, OpenAPI path, the express matcher,
 * the OpenAPI operation and the handlers. The app is mounted from this table
 * and the OpenAPI document is generated from it, so every served route is
 * documented by construction (a test also walks express's router to check).
 */
import type express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from './errors.js';

export type Method = 'get' | 'put' | 'post' | 'delete';

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  /** OpenAPI security requirements ({} = none needed: the KV API needs credentials only with requirePass). */
  security?: Array<Record<string, string[]>>;
}

export interface RouteDef {
  readonly method: Method;
  /** OpenAPI path template, also the metrics label ("/v1/kv/{key}"). */
  readonly path: string;
  /** Express matcher. A RegExp without capture groups keeps express from decoding the path (keys are binary). */
  readonly match: string | RegExp;
  readonly operation: OpenApiOperation;
  readonly handlers: RequestHandler[];
}

/** Metrics label of the request's route; "unmatched" until a route claims it. */
export function routeLabel(res: Response): string {
  const r: unknown = res.locals.route;
  return typeof r === 'string' ? r : 'unmatched';
}

function labelled(path: string): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.locals.route = path;
    next();
  };
}

/** Mounts the table: one express route per path, with 405 + Allow for other methods and OPTIONS answered. */
export function mountRoutes(app: express.Express, routes: readonly RouteDef[]): void {
  const byPath = new Map<string, RouteDef[]>();
  for (const r of routes) {
    const list = byPath.get(r.path) ?? [];
    list.push(r);
    byPath.set(r.path, list);
  }
  for (const [path, defs] of byPath) {
    const route = app.route(defs[0]!.match);
    for (const d of defs) route[d.method](labelled(path), ...d.handlers);
    const methods = defs.map((d) => d.method.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    methods.push('OPTIONS');
    const allow = methods.join(', ');
    route.all(labelled(path), (req: Request, res: Response) => {
      if (req.method === 'OPTIONS') {
        res.set('Allow', allow).status(204).end();
        return;
      }
      throw new HttpError(405, 'method_not_allowed', `${req.method} is not supported on ${path}; allowed: ${allow}`, undefined, { Allow: allow });
    });
  }
}
