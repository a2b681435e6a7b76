/** The encryption part of a node's admin API (common/encryption-admin.ts), for irisctl and the tests. */
import { AdminClient } from './admin-client.js';
import { ENCRYPTION_STATUS_PATH, REENCRYPT_PATH, type EncryptionStatus } from './encryption-admin.js';

export class EncryptionAdminClient extends AdminClient {
  encryption(): Promise<EncryptionStatus> {
    return this.call('GET', ENCRYPTION_STATUS_PATH);
  }

  /** Starts re-encryption under the active key (or joins the job running). */
  reencrypt(): Promise<EncryptionStatus> {
    return this.call('POST', REENCRYPT_PATH, {});
  }
}
