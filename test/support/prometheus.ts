/**
 * A real Prometheus (Debian's /usr/bin/prometheus, installed by
 * scripts/setup.sh --test) for the alert and dashboard tests: started on a
 * free loopback port with its storage in a temp directory and a generated
 * scrape config, queried over its HTTP API, killed at the end. Also where
 * the chart's rules, rule tests and Grafana dashboard live, and the metric
 * names a PromQL expression reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './kube/binaries.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export const PROMETHEUS_BIN = process.env.IRIS_PROMETHEUS ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.IRIS_PROMTOOL ?? '/usr/bin/promtool';
export const RULES_FILE = path.join(REPO_ROOT, 'helm/irisdb/rules/irisdb.rules.yaml');
/** promtool's unit tests of the rules: the second file holds the tests over days, evaluated hourly (promtool steps at each file's evaluation_interval). */
export const RULES_TEST_FILES: readonly string[] = ['irisdb.rules.test.yaml', 'irisdb.rules.days.test.yaml']
  .map((f) => path.join(REPO_ROOT, 'helm/irisdb/rules/tests', f));
export const DASHBOARD_FILE = path.join(REPO_ROOT, 'helm/irisdb/dashboards/irisdb.json');
export const ALERTS_DOC = path.join(REPO_ROOT, 'docs/alerts.md');

/** One scrape job: static targets with their labels, or an HTTP service discovery URL; optionally a bearer token file for each. */
export interface ScrapeJob {
  readonly job: string;
  readonly targets?: ReadonlyArray<{ readonly address: string; readonly labels: Readonly<Record<string, string>> }>;
  /** Prometheus's http_sd_configs, refreshed every second, with the token file it needs. */
  readonly httpSd?: { readonly url: string; readonly bearerTokenFile: string };
  /** Sent with every scrape of the job's targets. */
  readonly bearerTokenFile?: string;
}

export interface RunningPrometheus {
  readonly url: string;
  /** GET /api/v1/query: the result vector, or the error Prometheus gave (a parse error, say). */
  query(expr: string): Promise<{ ok: true; series: Array<{ metric: Record<string, string>; value: [number, string] }> } | { ok: false; error: string }>;
  /** Every metric name Prometheus has stored. */
  metricNames(): Promise<string[]>;
  /** The scrape targets and their health. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string; url: string }>>;
  /** GET /api/v1/rules: each loaded rule's health and last evaluation. */
  rules(): Promise<Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }>>;
  /** GET /api/v1/alerts: pending and firing alerts. */
  alerts(): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }>>;
  /** Kills Prometheus and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Renders a prometheus.yml scraping `jobs` every second and evaluating
 * `ruleFiles` every second; `rawJobs`: scrape_configs entries already in
 * YAML (prometheus-monitors.ts). Pure.
 */
export function scrapeConfig(jobs: readonly ScrapeJob[], ruleFiles: readonly string[] = [], rawJobs: readonly string[] = []): string {
  const lines = ['global:', '  scrape_interval: 1s', '  scrape_timeout: 900ms', '  evaluation_interval: 1s'];
  if (ruleFiles.length > 0) lines.push('rule_files:', ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  lines.push('scrape_configs:', ...rawJobs);
  for (const j of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(j.job)}`, '    honor_labels: true');
    if (j.bearerTokenFile !== undefined) lines.push('    authorization:', '      type: Bearer', `      credentials_file: ${JSON.stringify(j.bearerTokenFile)}`);
    if (j.httpSd !== undefined) {
      lines.push('    http_sd_configs:', `      - url: ${JSON.stringify(j.httpSd.url)}`, '        refresh_interval: 1s');
      lines.push('        authorization:', '          type: Bearer', `          credentials_file: ${JSON.stringify(j.httpSd.bearerTokenFile)}`);
    }
    if (j.targets !== undefined) {
      lines.push('    static_configs:');
      for (const t of j.targets) {
        lines.push(`      - targets: [${JSON.stringify(t.address)}]`);
        lines.push(`        labels: ${JSON.stringify(t.labels)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function startPrometheus(jobs: readonly ScrapeJob[], ruleFiles: readonly string[] = [], rawJobs: readonly string[] = []): Promise<RunningPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, scrapeConfig(jobs, ruleFiles, rawJobs));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'prometheus.log'), 'a');
  const child: ChildProcess = spawn(PROMETHEUS_BIN, [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h', '--log.level=warn',
  ], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const get = async (p: string): Promise<unknown> => {
    const res = await fetch(`${url}${p}`);
    return res.json();
  };
  try {
    await waitFor('prometheus to be ready', async () => {
      if (exited) throw new Error(`prometheus exited: ${fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8')}`);
      const res = await fetch(`${url}/-/ready`).catch(() => null);
      return res?.ok === true;
    }, { timeoutMs: 30_000, intervalMs: 100 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async query(expr) {
      const body = await get(`/api/v1/query?query=${encodeURIComponent(expr)}`) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
      if (body.status !== 'success') return { ok: false, error: body.error ?? 'unknown error' };
      const result = body.data?.resultType === 'vector' ? body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }> : [];
      return { ok: true, series: result };
    },
    async metricNames() {
      const body = await get('/api/v1/label/__name__/values') as { data: string[] };
      return body.data;
    },
    async targets() {
      const body = await get('/api/v1/targets') as { data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string; scrapeUrl: string }> } };
      return body.data.activeTargets.map((t) => ({ job: t.labels.job, health: t.health, lastError: t.lastError, url: t.scrapeUrl }));
    },
    async rules() {
      const body = await get('/api/v1/rules') as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }> } };
      return body.data.groups;
    },
    async alerts() {
      const body = await get('/api/v1/alerts') as { data: { alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }> } };
      return body.data.alerts;
    },
    stop,
  };
}

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan',
  // Aggregations, which may come before their `by (...)` rather than their parenthesis.
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
]);
const LABEL_LIST_BEFORE = /\b(by|without|on|ignoring|group_left|group_right)\s*$/;

/**
 * The metric names an expression selects: identifiers outside strings,
 * label matchers, ranges and grouping label lists that are not functions,
 * keywords or numbers. Enough for the expressions the chart ships. Pure.
 */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  const skipTo = (close: string): void => {
    while (i < expr.length && expr[i] !== close) {
      if (expr[i] === '"' || expr[i] === '\'') skipString();
      else i++;
    }
    i++;
  };
  const skipString = (): void => {
    const q = expr[i++];
    while (i < expr.length && expr[i] !== q) i += expr[i] === '\\' ? 2 : 1;
    i++;
  };
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === '\'' || c === '`') {
      skipString();
    } else if (c === '{') {
      i++;
      skipTo('}');
    } else if (c === '[') {
      i++;
      skipTo(']');
    } else if (c === '(' && LABEL_LIST_BEFORE.test(expr.slice(0, i))) {
      i++;
      skipTo(')');
    } else if (c === '$') {
      i++;
      while (i < expr.length && /[A-Za-z0-9_]/.test(expr[i]!)) i++;
    } else if (/[A-Za-z_:]/.test(c)) {
      const start = i;
      while (i < expr.length && /[A-Za-z0-9_:]/.test(expr[i]!)) i++;
      const word = expr.slice(start, i);
      const rest = expr.slice(i).trimStart();
      if (!KEYWORDS.has(word.toLowerCase()) && !rest.startsWith('(')) names.add(word);
    } else if (/[0-9.]/.test(c)) {
      // A number, possibly with an exponent or a duration unit: one token.
      while (i < expr.length && /[0-9.eE+a-z]/.test(expr[i]!) && !(expr[i] === '+' && !/[eE]/.test(expr[i - 1]!))) i++;
    } else {
      i++;
    }
  }
  return [...names];
}
