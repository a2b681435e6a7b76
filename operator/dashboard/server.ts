/**
 * The dashboard on a port of its own, for the Kubernetes operator (the
 * local controller mounts the routes on its control API instead). It
 * listens on loopback only: users reach it with `kubectl port-forward`,
 * which the API server authorizes (pods/portforward), so the page needs no
 * token of its own. Like the control API it refuses what a web page
 * elsewhere could send: a request with an Origin header (the page itself
 * sends none: it only GETs, same-origin) or a Host that is not loopback
 * (DNS rebinding).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { isLoopbackHost } from '../../common/http-browser-guard.js';
import { listenOnLoopback } from '../control-api/listen-loopback.js';
import type { Logger } from '../../common/logger.js';
import { dashboardRouter, type DashboardSources } from './routes.js';

export interface ListeningDashboard {
  readonly url: string;
  close(): Promise<void>;
}

export function dashboardApp(sources: DashboardSources, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.headers.origin !== undefined) {
      res.status(403).json({ error: { code: 'forbidden', message: 'requests from other web pages are refused' } });
      return;
    }
    if (!isLoopbackHost(req.headers.host)) {
      res.status(403).json({ error: { code: 'forbidden', message: `Host "${(req.headers.host ?? '').slice(0, 100)}" is not a loopback address: use kubectl port-forward` } });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).json({ error: { code: 'method_not_allowed', message: 'the dashboard is read-only' } });
      return;
    }
    next();
  });
  app.use(dashboardRouter(sources));
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path.slice(0, 200)}` } });
  });
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    logger.error('dashboard request failed', { path: req.path, err: err instanceof Error ? err.message : String(err) });
    if (res.headersSent) {
      next(err);
      return;
    }
    res.status(500).json({ error: { code: 'internal', message: 'internal error (logged)' } });
  });
  return app;
}

/** Serves the dashboard on `host` (a loopback address) and `port` (0: any free port). */
export async function listenDashboard(sources: DashboardSources, addr: { host: string; port: number }, logger: Logger): Promise<ListeningDashboard> {
  const listener = await listenOnLoopback(dashboardApp(sources, logger), addr, 'the dashboard');
  return { url: `${listener.origin}/`, close: listener.close };
}
