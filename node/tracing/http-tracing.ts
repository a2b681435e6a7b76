/**
 * HTTP API spans with W3C trace context: a request carrying a sampled
 * `traceparent` continues that trace, others start one when sampleRoot says
 * so. The span's own traceparent is kept in res.locals for forwarding
 * (forward.ts passes it on), and a route handler runs inside an
 * AsyncLocalStorage scope so its commit wait (barrier) joins the span to
 * the group-commit turn. Only built when tracing is on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { traceparentOf } from '../../common/tracing/traceparent.js';
import type { CommitScheduler } from '../engine/types.js';
import { routeLabel } from '../http/route-table.js';
import type { NodeTracing } from './node-tracing.js';

/** Where the request's span is kept between the middleware and the route handler. */
const SPAN_LOCAL = 'irisTraceSpan';
/** The traceparent a forwarded request carries on (read by forward.ts). */
export const TRACEPARENT_LOCAL = 'traceparent';
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export class HttpTracing {
  private readonly scope = new AsyncLocalStorage<Span>();

  constructor(private readonly node: NodeTracing) {}

  /** First middleware: starts the request's span and ends it when the response is sent or the connection drops. */
  readonly middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    // Probes, scrapes and the control plane's admin calls (heartbeats every few hundred ms) would drown
    // the clients' traces: they are traced only when the caller sends a traceparent.
    if (req.get('traceparent') === undefined && (UNTRACED_PATHS.has(req.path) || req.path.startsWith('/admin'))) return next();
    const span = this.node.tracing.startFromTraceparent(`${req.method}`, req.get('traceparent'), {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'url.path': req.path },
    });
    if (span === null) return next();
    res.locals[SPAN_LOCAL] = span;
    res.locals[TRACEPARENT_LOCAL] = traceparentOf(span);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      const route = routeLabel(res);
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
      if (res.headersSent) span.setAttribute('http.response.status_code', res.statusCode);
      if (!res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was sent' });
      else if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.statusCode}` });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };

  /** Wraps a route's handler so what it awaits runs with the request's span in scope. */
  wrap(handler: RequestHandler): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const span = res.locals[SPAN_LOCAL] as Span | undefined;
      if (span === undefined) return handler(req, res, next);
      return this.scope.run(span, () => handler(req, res, next));
    };
  }

  /** The commits the routes use: a barrier inside a traced request joins its span to the turn. */
  commits(inner: CommitScheduler): CommitScheduler {
    const scope = this.scope;
    const node = this.node;
    return {
      afterCommit: (cb) => inner.afterCommit(cb),
      barrier: () => {
        const span = scope.getStore();
        if (span !== undefined) node.joinTurn(span, false);
        return inner.barrier();
      },
      get pending() {
        return inner.pending;
      },
      flushNow: () => inner.flushNow(),
    };
  }
}
