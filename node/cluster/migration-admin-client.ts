/**
 * A client of the slot-migration admin API (`/admin/cluster/migrations`),
 * for the tests, the benchmark and (once it moves to common/ with the
 * types) the control plane. Errors are AdminApiError with the HTTP status
 * and the API's error code; details.reason carries the migration's reason.
 */
import { AdminApiError } from '../../common/admin-client.js';
import type { SlotRange } from '../../common/cluster-map.js';
import type { MigrationList, MigrationStatus } from './migration-types.js';

export class MigrationAdminClient {
  constructor(readonly baseUrl: string, private readonly token: string, private readonly timeoutMs = 30_000) {}

  start(id: string, slots: readonly SlotRange[], targetShard: string): Promise<MigrationStatus> {
    return this.call('POST', '/admin/cluster/migrations', { id, slots, targetShard });
  }

  list(): Promise<MigrationList> {
    return this.call('GET', '/admin/cluster/migrations');
  }

  get(id: string): Promise<MigrationStatus> {
    return this.call('GET', `/admin/cluster/migrations/${encodeURIComponent(id)}`);
  }

  resume(id: string): Promise<MigrationStatus> {
    return this.call('POST', `/admin/cluster/migrations/${encodeURIComponent(id)}/resume`);
  }

  abort(id: string): Promise<MigrationStatus> {
    return this.call('POST', `/admin/cluster/migrations/${encodeURIComponent(id)}/abort`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
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
