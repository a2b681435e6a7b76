/**
 * A client of the controller's control API (server.ts), for irisctl and the
 * tests. Every failure is a ControlApiError: the HTTP status and the API's
 * error code, or status 0 when no answer came (code 'unreachable' or
 * 'timeout'). Every request carries the cluster token as a Bearer credential
 * (the API answers 401 without it).
 */
import type { ClusterStatus } from '../core/observation.js';
import type { RequestAccepted, ScaleRequest } from './types.js';
import type { BackupRecord } from '../core/backup-state.js';

/** POST /backups: s3 credentials as flat fields (accessKeyId, secretAccessKey). */
export interface BackupRequestBody {
  readonly destination: string;
  readonly s3?: Readonly<Record<string, string | boolean>>;
  readonly compression?: 'gzip' | 'brotli';
  readonly chunkBytes?: number;
  readonly maxBytesPerSecond?: number;
}

export class ControlApiError extends Error {
  /** status: the HTTP status, or 0 when the controller did not answer. */
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ControlApiError';
  }
}

/** The control API's token, or how to get it (read when a request is made: a starting cluster writes it late). */
export type ControlToken = string | (() => Promise<string>);

export class ControlClient {
  readonly url: string;

  /** url: the control API's base URL, e.g. http://127.0.0.1:7999; token: the cluster's token (its directory's token file). */
  constructor(url: string, private readonly token: ControlToken, private readonly timeoutMs = 10_000) {
    this.url = url.replace(/\/+$/, '');
  }

  async status(): Promise<ClusterStatus> {
    const s = await this.call<ClusterStatus>('GET', '/status');
    if (typeof s !== 'object' || s === null || !Array.isArray(s.shards) || typeof s.phase !== 'string') {
      throw new ControlApiError(200, 'bad_response', `GET ${this.url}/status: the answer is not a cluster status`);
    }
    return s;
  }

  failover(shard: string): Promise<RequestAccepted> {
    return this.call('POST', '/failover', { shard });
  }

  restartNode(node: string): Promise<RequestAccepted> {
    return this.call('POST', '/restart', { node });
  }

  switchover(shard: string, to?: string): Promise<RequestAccepted> {
    return this.call('POST', '/switchover', to === undefined ? { shard } : { shard, to });
  }

  scale(req: ScaleRequest): Promise<RequestAccepted> {
    return this.call('POST', '/scale', req);
  }

  rebalance(): Promise<RequestAccepted> {
    return this.call('POST', '/rebalance', {});
  }

  /** Backups (backup-routes.ts): POST /backups, GET /backups[/{id}], DELETE /backups/{id}. */
  createBackup(req: BackupRequestBody): Promise<BackupRecord> {
    return this.call('POST', '/backups', req);
  }

  async listBackups(): Promise<readonly BackupRecord[]> {
    return (await this.call<{ backups: BackupRecord[] }>('GET', '/backups')).backups;
  }

  backup(id: string): Promise<BackupRecord> {
    return this.call('GET', `/backups/${encodeURIComponent(id)}`);
  }

  deleteBackup(id: string): Promise<{ objects: number }> {
    return this.call('DELETE', `/backups/${encodeURIComponent(id)}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = typeof this.token === 'string' ? this.token : await this.token();
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.transportError(err);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ControlApiError(res.status, 'bad_response', `${method} ${this.url}${path}: the answer is not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof e?.code === 'string' ? e.code : 'http_error';
      const message = typeof e?.message === 'string' ? e.message : `${method} ${this.url}${path}: HTTP ${res.status}: ${text.slice(0, 200)}`;
      throw new ControlApiError(res.status, code, message);
    }
    return parsed as T;
  }

  private transportError(err: unknown): ControlApiError {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ControlApiError(0, 'timeout', `the controller at ${this.url} did not answer within ${this.timeoutMs} ms`);
    }
    const code = causeCode(err);
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND') {
      return new ControlApiError(0, 'unreachable', `no controller answers at ${this.url}: is \`irisctl local up\` running?`);
    }
    const detail = err instanceof Error ? (code !== undefined ? `${err.message} (${code})` : err.message) : String(err);
    return new ControlApiError(0, 'unreachable', `cannot reach the controller at ${this.url}: ${detail}`);
  }
}

/** The system error code under fetch's "fetch failed" (its cause, or the first of an AggregateError's errors). */
function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const o = e as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof o.code === 'string' && o.code.startsWith('E')) return o.code;
    e = o.cause ?? (Array.isArray(o.errors) ? o.errors[0] : undefined);
  }
  return undefined;
}
