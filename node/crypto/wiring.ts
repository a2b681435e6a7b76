/**
 * Encryption at rest on a node: the keyring from --encryption-key-file
 * (read before the engine opens: a bad file stops startup), and the
 * re-encrypt job with its admin routes (mounted behind the admin token) and
 * metrics. The engine, the replication log and the archiver take the
 * keyring from the engine (engine.encryption).
 */
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import type { EncryptionStatus } from '../../common/encryption-admin.js';
import { HttpError } from '../http/errors.js';
import type { SqliteEngine } from '../engine/open.js';
import { KeyringStore } from './keyring-store.js';
import type { Keyring } from './keyring.js';
import { createEncryptionMetrics } from './metrics.js';
import { ReencryptJob } from './reencrypt-job.js';

export interface EncryptionSettings {
  readonly encryptionKeyFile: string;
  readonly encryptionKeyFileCheckMs: number;
  readonly reencryptBatchKeys: number;
  readonly reencryptVacuumMaxBytes: number;
}

/** The node's keyring, or null when encryption at rest is off. Throws (KeyringFileError) on a bad file. */
export function openNodeKeyring(config: EncryptionSettings, logger: Logger): KeyringStore | null {
  if (config.encryptionKeyFile === '') return null;
  const store = new KeyringStore(config.encryptionKeyFile, logger);
  store.watch(config.encryptionKeyFileCheckMs);
  logger.info('encryption at rest on', { file: config.encryptionKeyFile, keyIds: store.current.ids, activeKeyId: store.current.active.id });
  return store;
}

export interface NodeEncryption {
  /** /encryption routes, to mount under /admin behind the admin check. */
  readonly router: Router;
  close(): Promise<void>;
}

/** The re-encrypt job (resumed if a killed node left one unfinished) and its routes. */
export function startNodeEncryption(engine: SqliteEngine, config: EncryptionSettings, registry: Registry, logger: Logger): NodeEncryption {
  const keys = engine.encryption;
  const job = keys === null ? null : new ReencryptJob({
    db: engine.db, keyspace: engine.keyspace, commits: engine.commits, meta: engine.meta, keys,
    batchRows: config.reencryptBatchKeys, vacuumMaxBytes: config.reencryptVacuumMaxBytes, commitNow: () => engine.commitNow(), logger, metrics: createEncryptionMetrics(registry, () => keys.current.active.id),
  });
  job?.resumeIfPending();
  if (keys instanceof KeyringStore && job !== null) {
    // A key removed while values are still under it (as the last scan counted): say which, loudly, at start and on reload.
    const check = (next: Keyring): void => {
      for (const m of job.missingInUse(next)) logger.error('an encryption key still in use was removed from the keyring: values under it cannot be read; add it back', { keyId: m.keyId, values: m.values, file: keys.file });
    };
    check(keys.current);
    keys.onReload(check);
  }
  const router = express.Router();
  router.get('/encryption', (_req, res) => {
    res.json(job?.status() ?? disabled());
  });
  router.post('/encryption/reencrypt', (_req, res) => {
    if (job === null) throw new HttpError(409, 'conflict', 'encryption at rest is off on this node (no --encryption-key-file)', { reason: 'encryption_off' });
    res.status(202).json(job.start());
  });
  return {
    router,
    close: async () => {
      await job?.close();
      if (keys instanceof KeyringStore) keys.close();
    },
  };
}

function disabled(): EncryptionStatus {
  return {
    enabled: false, activeKeyId: null, keyIds: [], valuesByKeyId: null,
    reencrypt: { state: 'idle', targetKeyId: null, doneKeys: 0, totalKeys: 0, rewrittenKeys: 0, rewrittenLogBatches: 0, startedAt: null, finishedAt: null, error: null },
  };
}
