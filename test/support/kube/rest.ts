/**
 * A small JSON client for the Kubernetes REST API: the kubeconfig handling
 * (CA, client certs, tokens) comes from @kubernetes/client-node, requests go
 * over node:https with plain wire-format JSON, so the same helper serves core
 * objects, status subresources and custom resources alike.
 */
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeAnswer } from '../../../operator/kube/errors.js';

/** The subset of a Kubernetes object every helper relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    ownerReferences?: unknown[];
    finalizers?: string[];
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KubeList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

/** An error answer of the API server, with its Status object: the operator's own type. */
export { KubeApiError } from '../../../operator/kube/errors.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Per-request timeout; watches pass 0. */
  timeoutMs?: number;
}

export class KubeRest {
  readonly server: string;
  private constructor(
    readonly config: KubeConfig,
    private readonly base: https.RequestOptions,
    private readonly agent: http.Agent,
  ) {
    this.server = config.getCurrentCluster()?.server ?? '';
  }

  static async fromKubeConfig(config: KubeConfig): Promise<KubeRest> {
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    const base: https.RequestOptions = {};
    await config.applyToHTTPSOptions(base);
    const url = new URL(cluster.server);
    const agent = url.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 32, ca: base.ca, cert: base.cert, key: base.key, rejectUnauthorized: base.rejectUnauthorized })
      : new http.Agent({ keepAlive: true, maxSockets: 32 });
    return new KubeRest(config, base, agent);
  }

  static async fromFile(kubeconfigPath: string): Promise<KubeRest> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return KubeRest.fromKubeConfig(kc);
  }

  /** The same cluster with a bearer token instead of the kubeconfig's user. */
  withToken(token: string): KubeRest {
    const base: https.RequestOptions = { ...this.base, headers: { ...headersOf(this.base), Authorization: `Bearer ${token}` } };
    delete base.cert;
    delete base.key;
    return new KubeRest(this.config, base, this.agent);
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, path: string, opts: RequestOptions, payload?: string): http.ClientRequest {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...headersOf(this.base), Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      // Explicit length: node sends DELETE bodies unframed otherwise, which corrupts the keep-alive connection.
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const mod = url.protocol === 'https:' ? https : http;
    return mod.request(url, { method, headers, agent: this.agent, timeout: opts.timeoutMs ?? 30000 });
  }

  /** One request; resolves with the parsed JSON body, rejects with KubeApiError on a non-2xx answer. */
  request<T = KubeObject>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    return new Promise<T>((resolve, reject) => {
      const req = this.open(method, path, opts, payload);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const answer = kubeAnswer(method, path, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
          if (answer.ok) resolve(answer.body as T);
          else reject(answer.error);
        });
      });
      req.end(payload);
    });
  }

  get<T = KubeObject>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }
  /** GET that answers undefined for 404. */
  async find<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }
  create<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }
  replace<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }
  mergePatch<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }
  delete<T = KubeObject>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, { body });
  }

  /**
   * A watch stream from resourceVersion; `onEvent` gets every event, the
   * promise settles when the server closes the stream or `signal` aborts.
   */
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, object: KubeObject) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolveWatch, rejectWatch) => {
      const req = this.open('GET', path, { query: { ...query, watch: true, allowWatchBookmarks: true }, timeoutMs: 0 });
      // Every way out drops the abort listener: an informer re-watches on the same signal many times.
      const resolve = (): void => { signal.removeEventListener('abort', abort); resolveWatch(); };
      const reject = (err: Error): void => { signal.removeEventListener('abort', abort); rejectWatch(err); };
      const failed = (err: Error): void => (signal.aborted ? resolve() : reject(err));
      const abort = (): void => { req.destroy(); resolve(); };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', failed);
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', failed);
          res.on('end', () => reject(new KubeApiError(res.statusCode ?? 0, '', `watch ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`, undefined)));
          return;
        }
        // A destroyed request (abort, API server gone) ends the stream with an error: the caller re-watches.
        res.on('error', failed);
        const lines = readline.createInterface({ input: res });
        lines.on('error', failed);
        lines.on('line', (line) => {
          if (line.trim() === '') return;
          try {
            const ev = JSON.parse(line) as { type: WatchEventType; object: KubeObject };
            onEvent(ev.type, ev.object);
          } catch (err) {
            req.destroy(err instanceof Error ? err : new Error(String(err)));
          }
        });
        lines.on('close', resolve);
      });
      req.end();
    });
  }
}

function headersOf(o: https.RequestOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((o.headers ?? {}) as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The REST path of a namespaced or cluster-scoped collection or object. */
export function apiPath(group: string, version: string, resource: string, namespace?: string, name?: string, sub?: string): string {
  const root = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}${sub === undefined ? '' : `/${sub}`}`;
  return `${root}${ns}/${resource}${tail}`;
}
