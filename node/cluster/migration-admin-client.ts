/**
 * A client of the slot-migration admin API (`/admin/cluster/migrations`),
 * for the tests, the benchmark and (once it moves to common/ with the
 * types) the control plane. Errors are AdminApiError with the HTTP status
 * and the API's error code; details.reason carries the migration's reason.
 */
import { AdminClient } from '../../common/admin-client.js';
import type { SlotRange } from '../../common/cluster-map.js';
import type { MigrationList, MigrationStatus } from './migration-types.js';

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
