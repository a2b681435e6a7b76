/** /healthz, /readyz and /metrics: probes and Prometheus scraping. */
import type { Request, Response } from 'express';
import type { HttpDeps } from './deps.js';
import { HttpError, sendError } from './errors.js';
import type { RouteDef } from './route-table.js';

export function healthRoutes(deps: HttpDeps): RouteDef[] {
  const status = { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } };
  const tags = ['operations'];
  return [
    {
      method: 'get', path: '/healthz', match: '/healthz',
      handlers: [(_req: Request, res: Response) => {
        // A store that can acknowledge nothing until a restart is not alive: a restart replays the write journal.
        const fatal = deps.commits.fatal ?? null;
        if (fatal === null) res.status(200).json({ status: 'ok' });
        else sendError(res, new HttpError(503, 'storage_failed', `${fatal.message} (restart the node)`));
      }],
      operation: {
        operationId: 'healthz', tags, summary: 'Liveness: the process is up and its storage can still acknowledge writes',
        responses: {
          200: { description: 'Alive', content: status },
          503: { description: 'The storage failed for good (a failed fsync, or the write journal\'s SQLite batch lost to a disk-full or I/O error): restart the node; the journal replays every acknowledged write', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      },
    },
    {
      method: 'get', path: '/readyz', match: '/readyz',
      handlers: [(_req: Request, res: Response) => {
        if (deps.isReady()) res.status(200).json({ status: 'ready' });
        else sendError(res, new HttpError(503, 'not_ready', 'the node is starting, shutting down, or a cluster member without a cluster map yet'));
      }],
      operation: {
        operationId: 'readyz', tags, summary: 'Readiness: the node serves traffic',
        responses: { 200: { description: 'Ready', content: status }, 503: { description: 'Starting, shutting down, or a cluster member without a map', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
      },
    },
    {
      method: 'get', path: '/metrics', match: '/metrics',
      handlers: [async (_req: Request, res: Response) => {
        const text = await deps.metrics.registry.metrics();
        res.status(200).set('Content-Type', deps.metrics.registry.contentType).send(text);
      }],
      operation: {
        operationId: 'metrics', tags, summary: 'Prometheus metrics',
        responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
  ];
}
