/**
 * Scrapes every node's `/metrics` for the dashboard's charts and keeps a
 * short history of points per node. It scrapes only when asked (a page
 * polling the dashboard's view), at most once per `intervalMs`, so a
 * cluster nobody watches is not scraped by the dashboard at all.
 */
import { countersOf, pointBetween, type NodeCounters, type NodePoint } from './node-rates.js';
import { parsePromText } from './prom-text.js';
import type { FetchLike } from '../../common/node-fetch.js';

export interface NodeTarget {
  readonly name: string;
  /** The node's HTTP address (http://host:port), null while it has none. */
  readonly httpUrl: string | null;
}

/** GETs a node's metrics text; injected so the sampler has no network of its own. */
export type MetricsFetcher = (httpUrl: string, timeoutMs: number) => Promise<string>;

/** The fetcher over `fetchImpl` (common/node-fetch.ts for nodes serving HTTPS with a private CA). */
export function metricsFetcherVia(fetchImpl: FetchLike): MetricsFetcher {
  return async (httpUrl, timeoutMs) => {
    const res = await fetchImpl(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${httpUrl}/metrics: HTTP ${res.status}`);
    return text;
  };
}

export const httpMetricsFetcher: MetricsFetcher = metricsFetcherVia((url, init) => fetch(url, init));

export interface NodeSamplerOptions {
  readonly intervalMs: number;
  /** Points kept per node. */
  readonly historyPoints: number;
  readonly timeoutMs: number;
  readonly fetchMetrics: MetricsFetcher;
  readonly now: () => number;
}

export const DEFAULT_SAMPLER_OPTIONS: NodeSamplerOptions = {
  intervalMs: 1000, historyPoints: 120, timeoutMs: 2000, fetchMetrics: httpMetricsFetcher, now: Date.now,
};

export class NodeSampler {
  private readonly last = new Map<string, NodeCounters>();
  private readonly points = new Map<string, NodePoint[]>();
  private readonly errors = new Map<string, string>();
  private lastRun = -Infinity;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: NodeSamplerOptions = DEFAULT_SAMPLER_OPTIONS) {}

  /** Scrapes `nodes` unless a scrape ran within intervalMs; concurrent callers share one scrape. */
  async refresh(nodes: readonly NodeTarget[]): Promise<void> {
    if (this.running !== null) return this.running;
    if (this.opts.now() - this.lastRun < this.opts.intervalMs) return;
    this.lastRun = this.opts.now();
    this.running = this.scrapeAll(nodes).finally(() => (this.running = null));
    return this.running;
  }

  history(name: string): readonly NodePoint[] {
    return this.points.get(name) ?? [];
  }

  /** Why the last scrape of `name` failed; null when it worked. */
  error(name: string): string | null {
    return this.errors.get(name) ?? null;
  }

  private async scrapeAll(nodes: readonly NodeTarget[]): Promise<void> {
    const names = new Set(nodes.map((n) => n.name));
    // Nodes gone from the cluster (a shard removed) lose their history.
    for (const m of [this.last, this.points, this.errors]) for (const k of m.keys()) if (!names.has(k)) m.delete(k);
    await Promise.all(nodes.map((n) => this.scrape(n)));
  }

  private async scrape(node: NodeTarget): Promise<void> {
    if (node.httpUrl === null) {
      this.errors.set(node.name, 'no address');
      this.last.delete(node.name);
      return;
    }
    let counters: NodeCounters;
    try {
      const text = await this.opts.fetchMetrics(node.httpUrl, this.opts.timeoutMs);
      counters = countersOf(parsePromText(text), this.opts.now());
    } catch (err) {
      this.errors.set(node.name, err instanceof Error ? err.message : String(err));
      this.last.delete(node.name);
      return;
    }
    this.errors.delete(node.name);
    const prev = this.last.get(node.name);
    this.last.set(node.name, counters);
    const point = prev === undefined ? null : pointBetween(prev, counters);
    if (point === null) return;
    const list = this.points.get(node.name) ?? [];
    list.push(point);
    if (list.length > this.opts.historyPoints) list.splice(0, list.length - this.opts.historyPoints);
    this.points.set(node.name, list);
  }
}
