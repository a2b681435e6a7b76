/**
 * A client of the slot-migration admin API (`/admin/cluster/migrations`),
 * for the control plane, the tests and the benchmark.
 * Errors are AdminApiError with the HTTP status
 * and the API's error code; details.reason carries the migration's reason.
 */
import { AdminClient } from './admin-client.js';
import type { SlotRange } from './cluster-map.js';
import type { MigrationList, MigrationStatus } from './migration.js';

export class MigrationAdminClient extends AdminClient {
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
}
