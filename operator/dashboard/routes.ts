/**
 * The dashboard's HTTP routes, mounted by the control API before its token
 * check (viewing is read-only; see docs/monitoring.md):
 *   GET /                      the page (assets/index.html)
 *   GET /dashboard/<asset>     its script and style sheet
 *   GET /dashboard/api/view    DashboardView as JSON; the page polls it
 *                              (?cluster=KEY picks one of several clusters)
 * The assets are files of the source tree (operator/dashboard/assets), found
 * beside the compiled module or, in a build from the repository, in the
 * source tree next to dist/; every response forbids framing and any
 * script, style or connection not from this origin (CSP), so the page can
 * load nothing from another host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response, type NextFunction } from 'express';
import { NodeSampler } from './node-sampler.js';
import { buildView, type DashboardSource } from './view.js';

/** The clusters a dashboard shows, by key (local: the one cluster; the operator: namespace/name of each it runs). */
export type DashboardSources = () => ReadonlyMap<string, DashboardSource>;

/** One source as the only cluster. */
export const singleCluster = (key: string, source: DashboardSource): DashboardSources => {
  const m = new Map([[key, source]]);
  return () => m;
};

const here = path.dirname(fileURLToPath(import.meta.url));

/** Where the assets are: beside the module (copied into an image), else the source tree (dist/operator/dashboard → operator/dashboard). */
export function assetsDir(candidates: readonly string[] = [path.join(here, 'assets'), path.resolve(here, '../../../operator/dashboard/assets')]): string {
  for (const d of candidates) if (fs.existsSync(path.join(d, 'index.html'))) return d;
  throw new Error(`the dashboard's assets are missing (looked in ${candidates.join(', ')})`);
}

const ASSETS: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface DashboardOptions {
  /**
   * The page offers switchover and rebalance, sent to the control API's own
   * routes with the token the user pastes (the local controller); off, it is
   * read-only (the operator: changes go through the IrisCluster resource).
   */
  readonly actions?: boolean;
  readonly newSampler?: () => NodeSampler;
  readonly assetsDir?: string;
}

export function dashboardRouter(sources: DashboardSources, opts: DashboardOptions = {}): express.Router {
  const newSampler = opts.newSampler ?? (() => new NodeSampler());
  const dir = opts.assetsDir ?? assetsDir();
  // One sampler per cluster: each keeps its nodes' history.
  const samplers = new Map<string, NodeSampler>();
  // Read once: the files are small and served on every page load.
  const files = new Map<string, Buffer>();
  for (const f of ['index.html', ...Object.keys(ASSETS)]) files.set(f, fs.readFileSync(path.join(dir, f)));

  const router = express.Router();
  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const page = (_req: Request, res: Response): void => {
    res.type('text/html; charset=utf-8').send(files.get('index.html'));
  };
  router.get('/', page);
  router.get('/dashboard/', page);
  // Browsers ask for it on their own; without it the request would meet the token check.
  router.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  for (const [name, type] of Object.entries(ASSETS)) {
    router.get(`/dashboard/${name}`, (_req, res) => {
      res.type(type).send(files.get(name));
    });
  }
  router.get('/dashboard/api/view', async (req, res) => {
    const all = sources();
    const keys = [...all.keys()].sort();
    for (const k of samplers.keys()) if (!all.has(k)) samplers.delete(k);
    const asked = typeof req.query.cluster === 'string' ? req.query.cluster : undefined;
    const key = asked ?? keys[0];
    const source = key === undefined ? undefined : all.get(key);
    if (key === undefined || source === undefined) {
      const message = keys.length === 0
        ? 'this control plane runs no cluster\'s controller now (an operator standby, or no IrisCluster yet)'
        : `no cluster ${JSON.stringify(key.slice(0, 100))} here (clusters: ${keys.join(', ')})`;
      res.status(404).json({ error: { code: 'not_found', message }, clusters: keys });
      return;
    }
    let sampler = samplers.get(key);
    if (sampler === undefined) samplers.set(key, (sampler = newSampler()));
    const status = source.status();
    const nodes = status.shards.flatMap((s) => s.nodes);
    await sampler.refresh(nodes.map((n) => ({ name: n.name, httpUrl: n.httpUrl })));
    res.json(buildView({
      actions: opts.actions ?? false,
      cluster: key,
      clusters: keys,
      status,
      events: source.events(),
      operation: source.operation(),
      backups: source.backups(),
      charts: nodes.map((n) => ({ name: n.name, points: sampler.history(n.name), error: sampler.error(n.name) })),
      now: Date.now(),
    }));
  });
  return router;
}
