/**
 * A client of a node's admin API (`/admin/...`), for the control plane, the
 * CLI and the tests. Errors carry the HTTP status and the API's error code.
 */
import type { ClusterMap } from './cluster-map.js';
import type { DigestDiff, DigestReport, RepairResult, ReplicationStatus, RoleRequest } from './replication.js';
import type { FetchLike } from './node-fetch.js';

export class AdminApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export class AdminClient {
  /**
   * baseUrl: the node's HTTP address, e.g. http://10.0.0.5:8080 (https:// with --tls-http);
   * fetchImpl: how to reach it (node-fetch.ts nodeFetch for HTTPS with a private CA).
   */
  constructor(
    readonly baseUrl: string, protected readonly token: string, protected readonly timeoutMs = 30_000,
    protected readonly fetchImpl: FetchLike = (url, init) => fetch(url, init),
  ) {}

  replication(): Promise<ReplicationStatus> {
    return this.call('GET', '/admin/replication');
  }

  setRole(req: RoleRequest): Promise<ReplicationStatus> {
    return this.call('PUT', '/admin/replication/role', req);
  }

  digests(): Promise<DigestReport> {
    return this.call('GET', '/admin/replication/digests');
  }

  digestDiff(): Promise<DigestDiff> {
    return this.call('GET', '/admin/replication/digest-diff');
  }

  repair(slots?: readonly number[]): Promise<RepairResult> {
    return this.call('POST', '/admin/replication/repair', slots === undefined ? {} : { slots });
  }

  /** The node's installed cluster map, or null before the first push. */
  async clusterMap(): Promise<ClusterMap | null> {
    try {
      return await this.call<ClusterMap>('GET', '/admin/cluster/map');
    } catch (err) {
      if (err instanceof AdminApiError && err.status === 404 && (err.details as { reason?: unknown } | undefined)?.reason === 'no_cluster_map') return null;
      throw err;
    }
  }

  /**
   * Installs `map` on the node; returns the installed map. AdminApiError 409
   * (code 'conflict') if the node has a newer epoch, or the same epoch with
   * other content, or (with ifEpoch) its map is not at epoch ifEpoch (0: no
   * map); 400 if the map is invalid.
   */
  setClusterMap(map: ClusterMap, ifEpoch?: number): Promise<ClusterMap> {
    return this.call('PUT', `/admin/cluster/map${ifEpoch === undefined ? '' : `?ifEpoch=${ifEpoch}`}`, map);
  }

  /** One admin request; subclasses for other admin areas reuse it. */
  protected async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetchImpl(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new AdminApiError(res.status, 'bad_response', `${method} ${path}: not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new AdminApiError(res.status, err?.code ?? 'http_error', `${method} ${path}: HTTP ${res.status}: ${err?.message ?? text.slice(0, 200)}`, err?.details);
    }
    return parsed as T;
  }
}
