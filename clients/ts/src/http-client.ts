/**
 * IrisHttpClient: a typed client for the HTTP API (docs/http-api.md) —
 * /v1/kv, /v1/kv:batch, /v1/scan and the change feed — with the same
 * policies as the RESP client: the HTTP retry table, a breaker per base
 * URL (a request goes to the next URL while one is open), per-attempt
 * timeouts, AbortSignal deadlines, read consistency (strong, default,
 * eventual), Basic credentials, a pool limit and metrics hooks. Any node
 * answers any request (it forwards to the key's primary), so the URLs need
 * not know the slot map.
 */
import { type ChangeEvent, followShard } from '../../../common/change-feed-client.js';
import type { ChangePosition } from '../../../common/change-position.js';
import { BreakerSet, DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
import { CircuitOpenError, IrisClientError } from './errors.js';
import { DEFAULT_POOL, DEFAULT_RETRY, type CallOptions, type MetricsHooks, type PoolOptions, type ReadConsistency, type ReadOptions, type RetryOptions } from './options.js';
import { PoolLimiter } from './pool-limiter.js';
import { classifyHttpStatus, classifyHttpTransport, errorFacts, type CommandKind } from './retry-policy.js';
import { withRetries, type AttemptFailure } from './retry-loop.js';

export type { ChangeEvent, ChangePosition };

export interface IrisHttpClientOptions {
  /** Base URLs of nodes (http://host:port); requests go to the first healthy one. */
  readonly urls: readonly string[];
  readonly username?: string;
  readonly password?: string;
  /** One attempt's timeout (ms). Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Default deadline of a call, all attempts included (ms). Default 15000. */
  readonly deadlineMs?: number;
  readonly readConsistency?: ReadConsistency;
  readonly retry?: Partial<RetryOptions>;
  readonly breaker?: Partial<BreakerOptions>;
  readonly pool?: Partial<PoolOptions>;
  readonly metrics?: MetricsHooks;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface KvItem {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly version: number;
  /** Unix ms, or null without a TTL. */
  readonly expiresAt: number | null;
}

export interface GetResult extends KvItem {
  /** `primary` or `replica` (X-Iris-Served-By), when the node says. */
  readonly servedBy: string | null;
  /** An eventual read served by a replica: how far it lagged (ops), when known. */
  readonly replicaLagOps: number | null;
}

export interface PutOptions extends CallOptions {
  readonly ttlMs?: number;
  /** Compare-and-set: only if the key is at this version. */
  readonly ifVersion?: number;
  /** Create only. */
  readonly ifAbsent?: boolean;
}

export type BatchOp =
  | { op: 'get'; key: string | Buffer; ifVersion?: number; ifAbsent?: boolean }
  | { op: 'put'; key: string | Buffer; value: string | Buffer; ttlMs?: number | null; ifVersion?: number; ifAbsent?: boolean }
  | { op: 'delete'; key: string | Buffer; ifVersion?: number; ifAbsent?: boolean };

export type BatchResult =
  | { op: 'get'; found: false }
  | { op: 'get'; found: true; key: Buffer; value: Buffer; version: number; expiresAt: number | null }
  | { op: 'put'; version: number; expiresAt: number | null }
  | { op: 'delete'; deleted: boolean };

export interface ScanOptions extends ReadOptions {
  readonly prefix?: string | Buffer;
  /** Items per page. */
  readonly limit?: number;
  /** false: keys, versions and expiries only (value is empty). */
  readonly values?: boolean;
}

/** The HTTP error body the nodes send. */
interface ErrorBody { error?: { code?: string; message?: string; details?: unknown } }

class HttpStatusError extends Error {
  constructor(readonly status: number, readonly irisCode: string | null, message: string, readonly details: unknown) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

interface WireItem { key: string; keyEncoding: string; value?: string; valueEncoding?: string; version: number; expiresAt: number | null }

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const fromWire = (s: string, enc: string | undefined): Buffer => Buffer.from(s, enc === 'base64' ? 'base64' : 'utf8');

export class IrisHttpClient {
  private readonly breakers: BreakerSet;
  private readonly pool: PoolLimiter;
  private readonly retry: RetryOptions;
  private readonly metrics: MetricsHooks;
  private readonly random: () => number;
  private readonly authorization: string | undefined;
  private next = 0;

  constructor(private readonly opts: IrisHttpClientOptions) {
    if (opts.urls.length === 0) throw new RangeError('IrisHttpClient needs at least one URL');
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.metrics = opts.metrics ?? {};
    this.random = opts.random ?? Math.random;
    this.pool = new PoolLimiter({ ...DEFAULT_POOL, ...opts.pool });
    this.breakers = new BreakerSet({ ...DEFAULT_BREAKER, ...opts.breaker }, opts.now ?? Date.now, (node, from, to) => this.metrics.onBreakerStateChange?.({ node, from, to }));
    this.authorization = opts.password !== undefined ? `Basic ${Buffer.from(`${opts.username ?? 'default'}:${opts.password}`).toString('base64')}` : undefined;
  }

  breakerStates(): Record<string, BreakerState> {
    return this.breakers.states();
  }

  /** The value, or null when the key is absent. */
  async get(key: string | Buffer, o: ReadOptions = {}): Promise<GetResult | null> {
    const q = new URLSearchParams({ format: 'json', encoding: 'base64', keyEncoding: 'base64', consistency: o.consistency ?? this.opts.readConsistency ?? 'default' });
    const r = await this.request<WireItem>('GET', `/v1/kv/${encodeURIComponent(b64(key))}?${q}`, undefined, 'read', o, [404]);
    if (r.status === 404) return null;
    const item = r.body!;
    const lag = r.headers.get('x-iris-replica-lag-ops');
    return { ...this.item(item), servedBy: r.headers.get('x-iris-served-by'), replicaLagOps: lag !== null ? Number(lag) : null };
  }

  async put(key: string | Buffer, value: string | Buffer, o: PutOptions = {}): Promise<{ version: number; expiresAt: number | null }> {
    const q = new URLSearchParams({ keyEncoding: 'base64' });
    if (o.ttlMs !== undefined) q.set('ttlMs', String(o.ttlMs));
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (o.ifVersion !== undefined) headers['if-match'] = `"${o.ifVersion}"`;
    if (o.ifAbsent === true) headers['if-none-match'] = '*';
    const r = await this.request<{ version: number; expiresAt: number | null }>('PUT', `/v1/kv/${encodeURIComponent(b64(key))}?${q}`, { body: new Uint8Array(Buffer.from(value)), headers }, 'write', o);
    return r.body!;
  }

  /** true when a key was deleted. */
  async delete(key: string | Buffer, o: CallOptions & { ifVersion?: number } = {}): Promise<boolean> {
    const headers: Record<string, string> = {};
    if (o.ifVersion !== undefined) headers['if-match'] = `"${o.ifVersion}"`;
    const r = await this.request<{ deleted: boolean }>('DELETE', `/v1/kv/${encodeURIComponent(b64(key))}?keyEncoding=base64`, { headers }, 'write', o);
    return r.body!.deleted;
  }

  /** All or nothing, keys of one slot; a batch of gets only is a read (retried, and takes a consistency). */
  async batch(ops: readonly BatchOp[], o: ReadOptions = {}): Promise<BatchResult[]> {
    const kind: CommandKind = ops.every((x) => x.op === 'get') ? 'read' : 'write';
    const wire = ops.map((x) => {
      const w: Record<string, unknown> = { op: x.op, key: b64(x.key), keyEncoding: 'base64' };
      if (x.op === 'put') {
        w.value = b64(x.value);
        w.valueEncoding = 'base64';
        if (x.ttlMs !== undefined) w.ttlMs = x.ttlMs;
      }
      if (x.op === 'get') w.valueEncoding = 'base64';
      if (x.ifVersion !== undefined) w.ifVersion = x.ifVersion;
      if (x.ifAbsent !== undefined) w.ifAbsent = x.ifAbsent;
      return w;
    });
    const q = kind === 'read' ? `?consistency=${o.consistency ?? this.opts.readConsistency ?? 'default'}` : '';
    const r = await this.request<{ results: Array<Record<string, unknown>> }>('POST', `/v1/kv:batch${q}`, { body: JSON.stringify({ ops: wire }), headers: { 'content-type': 'application/json' } }, kind, o);
    return r.body!.results.map((x): BatchResult => {
      if (x.op === 'get') {
        if (x.found !== true) return { op: 'get', found: false };
        return { op: 'get', found: true, ...this.item(x as unknown as WireItem) };
      }
      if (x.op === 'put') return { op: 'put', version: x.version as number, expiresAt: (x.expiresAt as number | null) ?? null };
      return { op: 'delete', deleted: x.deleted === true };
    });
  }

  /** Every key with the prefix, page by page (each page one retried request). */
  async *scan(o: ScanOptions = {}): AsyncGenerator<KvItem> {
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ encoding: 'base64', limit: String(o.limit ?? 500), values: String(o.values ?? true), consistency: o.consistency ?? this.opts.readConsistency ?? 'default' });
      if (o.prefix !== undefined) {
        q.set('prefix', b64(o.prefix));
        q.set('keyEncoding', 'base64');
      }
      if (cursor !== null) q.set('cursor', cursor);
      const r: { body: { items: WireItem[]; cursor: string | null } | null } = await this.request<{ items: WireItem[]; cursor: string | null }>('GET', `/v1/scan?${q}`, undefined, 'read', o);
      for (const it of r.body!.items) yield this.item(it);
      cursor = r.body!.cursor;
    } while (cursor !== null);
  }

  /**
   * Follows one shard's change feed (common/change-feed-client.ts) until
   * `signal` aborts; reconnects with its position after a failover (any
   * node redirects to the shard's primary). Resolves with the last position.
   */
  async followChanges(o: { shard: string; from: ChangePosition | 'now' | 'earliest'; prefix?: Buffer; signal: AbortSignal; onChange(ev: ChangeEvent): void; onReconnect?(why: string): void }): Promise<ChangePosition | null> {
    return followShard({
      ...o,
      urlOf: async () => this.pickUrl(),
      ...(this.authorization !== undefined ? { authorization: this.authorization } : {}),
    });
  }

  private item(x: WireItem): KvItem {
    return { key: fromWire(x.key, x.keyEncoding), value: x.value !== undefined ? fromWire(x.value, x.valueEncoding) : Buffer.alloc(0), version: x.version, expiresAt: x.expiresAt ?? null };
  }

  /** The next URL whose breaker lets a request through (round robin), or null when all are open. */
  private pickUrl(): string | null {
    const urls = this.opts.urls;
    for (let i = 0; i < urls.length; i++) {
      const u = urls[(this.next + i) % urls.length]!;
      if (this.breakers.get(u).allow()) {
        this.next = (this.next + i) % urls.length;
        return u;
      }
    }
    return null;
  }

  private async request<T>(method: string, pathAndQuery: string, init: { body?: Uint8Array<ArrayBuffer> | string; headers?: Record<string, string> } | undefined, kind: CommandKind, o: CallOptions, okStatuses: readonly number[] = []): Promise<{ status: number; body: T | null; headers: Headers }> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 5000;
    return this.pool.run(() => withRetries({
      command: `${method} ${pathAndQuery.split('?')[0]!.replace(/^\/v1\/kv\/.*/, '/v1/kv/{key}')}`,
      kind,
      retry: this.retry,
      metrics: this.metrics,
      random: this.random,
      deadlineMs: o.deadlineMs ?? this.opts.deadlineMs ?? 15_000,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      attempt: async (_n, signal) => {
        const url = this.pickUrl();
        if (url === null) {
          const err = new CircuitOpenError(this.opts.urls.join(', '));
          throw { error: err, decision: classifyHttpTransport(errorFacts(err), kind), node: null } satisfies AttemptFailure;
        }
        const breaker = this.breakers.get(url);
        const headers: Record<string, string> = { ...init?.headers };
        if (this.authorization !== undefined) headers.authorization = this.authorization;
        let res: Response;
        try {
          res = await fetch(`${url.replace(/\/+$/, '')}${pathAndQuery}`, { method, headers, ...(init?.body !== undefined ? { body: init.body } : {}), signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
        } catch (err) {
          if (signal.aborted) {
            breaker.abandon();
            throw { error: err, decision: { retry: false, outcome: 'unknown', nodeFailure: false, refreshMap: false, reason: 'aborted' }, node: url } satisfies AttemptFailure;
          }
          const decision = classifyHttpTransport(errorFacts(err), kind);
          if (decision.nodeFailure) breaker.onFailure();
          else breaker.abandon();
          this.next += 1; // try another node next time
          throw { error: err, decision, node: url } satisfies AttemptFailure;
        }
        if (res.ok || okStatuses.includes(res.status)) {
          breaker.onSuccess();
          const text = res.status === 204 || method === 'HEAD' ? '' : await res.text();
          return { status: res.status, body: text === '' || res.status === 404 ? null : (JSON.parse(text) as T), headers: res.headers };
        }
        const body = (await res.json().catch(() => null)) as ErrorBody | null;
        const code = body?.error?.code ?? null;
        const decision = classifyHttpStatus(res.status, code, kind);
        if (decision.nodeFailure) {
          breaker.onFailure();
          this.next += 1;
        } else breaker.onSuccess();
        const err = new HttpStatusError(res.status, code, `HTTP ${res.status} ${code ?? ''}: ${body?.error?.message ?? res.statusText}`.trim(), body?.error?.details);
        throw { error: err, decision, node: url } satisfies AttemptFailure;
      },
    }));
  }
}

export { IrisClientError };
