/**
 * A small JSON client for the Kubernetes API over @kubernetes/client-node's
 * KubeConfig (in-cluster service account or KUBECONFIG: CA, client
 * certificates, tokens). Requests go over node:https with wire-format JSON,
 * so one client serves core objects, status subresources, custom resources,
 * merge and JSON patches, and watch streams alike. Credentials are applied
 * per request: a projected service-account token is rotated on disk.
 */
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeAnswer } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Per-request timeout in ms (default 30 s). */
  readonly timeoutMs?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One JSON Patch operation (RFC 6902). */
export interface JsonPatchOp {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

export class KubeClient {
  readonly server: string;

  private constructor(
    private readonly config: KubeConfig,
    private readonly agent: http.Agent,
  ) {
    this.server = config.getCurrentCluster()?.server ?? '';
  }

  /** In a pod: its service account; otherwise KUBECONFIG or ~/.kube/config. */
  static async load(): Promise<KubeClient> {
    const kc = new KubeConfig();
    const explicit = process.env.KUBECONFIG !== undefined && process.env.KUBECONFIG !== '';
    if (!explicit && process.env.KUBERNETES_SERVICE_HOST !== undefined && process.env.KUBERNETES_SERVICE_HOST !== '') kc.loadFromCluster();
    else kc.loadFromDefault();
    return KubeClient.fromKubeConfig(kc);
  }

  /** The current context of a kubeconfig file (the e2e harness's clusters). */
  static async fromFile(kubeconfigPath: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    return KubeClient.fromKubeConfig(kc);
  }

  static async fromKubeConfig(kc: KubeConfig): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new KubeApiError(0, '', 'the kubeconfig has no current cluster', undefined);
    const base: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(base);
    const url = new URL(cluster.server);
    const agent = url.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 32, ca: base.ca, cert: base.cert, key: base.key, rejectUnauthorized: base.rejectUnauthorized })
      : new http.Agent({ keepAlive: true, maxSockets: 32 });
    return new KubeClient(kc, agent);
  }

  /** The same cluster (server, CA) as `token`'s bearer instead of this kubeconfig's user: what a pod's service account may do. */
  withToken(token: string): Promise<KubeClient> {
    const cluster = this.config.getCurrentCluster();
    if (cluster === null) throw new KubeApiError(0, '', 'the kubeconfig has no current cluster', undefined);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'token', token }],
      contexts: [{ name: 'token', cluster: cluster.name, user: 'token' }],
      currentContext: 'token',
    });
    return KubeClient.fromKubeConfig(kc);
  }

  close(): void {
    this.agent.destroy();
  }

  private async open(method: string, path: string, opts: RequestOptions, payload: string | undefined): Promise<http.ClientRequest> {
    const auth: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(auth);
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [k, v] of Object.entries((auth.headers ?? {}) as Record<string, unknown>)) if (typeof v === 'string') headers[k] = v;
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      // Explicit length: node sends DELETE bodies unframed otherwise, which corrupts the keep-alive connection.
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const mod = url.protocol === 'https:' ? https : http;
    return mod.request(url, { method, headers, agent: this.agent, timeout: opts.timeoutMs ?? 30_000 });
  }

  /** One request; resolves with the parsed body, rejects with KubeApiError on a non-2xx answer. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = await this.open(method, path, opts, payload);
    return new Promise<T>((resolve, reject) => {
      req.on('timeout', () => req.destroy(new KubeApiError(0, 'Timeout', `${method} ${path}: no answer within ${opts.timeoutMs ?? 30_000} ms`, undefined)));
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

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** GET that answers null for 404. */
  async find<T>(path: string): Promise<T | null> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return null;
      throw err;
    }
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  /** PUT: the body carries metadata.resourceVersion, so a stale update fails with 409 Conflict. */
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  mergePatch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }

  jsonPatch<T>(path: string, ops: readonly JsonPatchOp[]): Promise<T> {
    return this.request<T>('PATCH', path, { body: ops, contentType: 'application/json-patch+json' });
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, { body });
  }

  /**
   * A watch stream from `query.resourceVersion`: `onEvent` gets every event;
   * resolves when the server ends the stream or `signal` aborts, rejects on
   * a non-200 answer (KubeApiError) or a broken connection.
   */
  async watch(path: string, query: Query, onEvent: (type: WatchEventType, object: unknown) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const req = await this.open('GET', path, { query: { ...query, watch: true, allowWatchBookmarks: true }, timeoutMs: 0 }, undefined);
    return new Promise<void>((resolveWatch, rejectWatch) => {
      const done = (err?: Error): void => {
        signal.removeEventListener('abort', abort);
        if (err === undefined || signal.aborted) resolveWatch();
        else rejectWatch(err);
      };
      const abort = (): void => {
        req.destroy();
        done();
      };
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', (err) => done(err));
      // An abort while the request was being opened fired no event: honour it now.
      if (signal.aborted) {
        abort();
        return;
      }
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => done(err));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let reason = '';
            try {
              reason = (JSON.parse(text) as { reason?: string }).reason ?? '';
            } catch {
              /* not a Status */
            }
            done(new KubeApiError(res.statusCode ?? 0, reason, `watch ${path}: ${res.statusCode} ${text}`, text));
          });
          return;
        }
        res.on('error', (err) => done(err));
        const lines = readline.createInterface({ input: res });
        // readline re-emits the response's errors (an aborted stream): unhandled, they would crash the process.
        lines.on('error', (err) => done(err));
        lines.on('line', (line) => {
          if (line.trim() === '') return;
          let ev: { type: WatchEventType; object: unknown };
          try {
            ev = JSON.parse(line) as { type: WatchEventType; object: unknown };
          } catch (err) {
            req.destroy(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          onEvent(ev.type, ev.object);
        });
        lines.on('close', () => done());
      });
      req.end();
    });
  }
}
