/** Prometheus metrics of encryption at rest (docs/security.md). */
import { Gauge, type Registry } from 'prom-client';
import type { ReencryptProgress } from '../../common/encryption-admin.js';

export interface EncryptionMetrics {
  progress(p: ReencryptProgress): void;
  /** Values per key id ("" = in clear) found by the last full scan. */
  setValuesByKeyId(counts: Readonly<Record<string, number>>): void;
}

export function createEncryptionMetrics(r: Registry, activeKeyId: () => string): EncryptionMetrics {
  new Gauge({
    name: 'irisdb_encryption_active_key_info', help: 'The key id new writes are encrypted with (value 1)', labelNames: ['key_id'], registers: [r],
    collect() {
      this.reset();
      this.set({ key_id: activeKeyId() }, 1);
    },
  });
  const values = new Gauge({ name: 'irisdb_encryption_values', help: 'Stored values per encryption key id (key_id="" : in clear), as of the last re-encrypt scan; a key id listed here must stay in the keyring', labelNames: ['key_id'], registers: [r] });
  const done = new Gauge({ name: 'irisdb_reencrypt_done_keys', help: 'Keys the running (or last) re-encrypt job has looked at', registers: [r] });
  const total = new Gauge({ name: 'irisdb_reencrypt_total_keys', help: 'Keys the node held when the running (or last) re-encrypt job started', registers: [r] });
  const running = new Gauge({ name: 'irisdb_reencrypt_running', help: '1 while a re-encrypt job runs on this node', registers: [r] });
  return {
    progress(p) {
      done.set(p.doneKeys);
      total.set(p.totalKeys);
      running.set(p.state === 'running' ? 1 : 0);
    },
    setValuesByKeyId(counts) {
      values.reset();
      for (const [k, n] of Object.entries(counts)) values.set({ key_id: k }, n);
      running.set(0);
    },
  };
}
