/**
 * The backup part of the admin API, mounted under /admin behind the admin
 * bearer-token check (common/backup/admin.ts lists the routes).
 */
import express, { type Router } from 'express';
import { HttpError, badRequest } from '../http/errors.js';
import type { BackupJobRequest } from '../../common/backup/admin.js';
import { checkBackupId } from '../../common/backup/manifest.js';
import { BackupRefused, type BackupManager } from './manager.js';

const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** 64 KiB/s: below it a backup of any size would take days. */
const MIN_RATE = 64 * 1024;

export function backupAdminRouter(manager: BackupManager): Router {
  const router = express.Router();
  const json = express.json({ limit: 64 * 1024, strict: true, type: () => true });

  router.post('/backups', json, (req, res) => {
    const body = parseJobRequest(req.body);
    try {
      res.status(202).json(manager.start(body));
    } catch (err) {
      if (err instanceof BackupRefused) {
        throw err.reason === 'bad_destination' ? badRequest(err.message) : new HttpError(409, 'conflict', err.message, { reason: err.reason });
      }
      throw err;
    }
  });

  router.get('/backups/:id', (req, res) => {
    const s = manager.get(String(req.params.id));
    if (s === null) throw new HttpError(404, 'not_found', `no backup ${String(req.params.id)} on this node (never started, or the node restarted)`, { reason: 'unknown_backup' });
    res.json(s);
  });
  return router;
}

function parseJobRequest(v: unknown): BackupJobRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('body must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['id', 'cluster', 'destination', 'compression', 'chunkBytes', 'maxBytesPerSecond'].includes(k)) throw badRequest(`unknown field ${k}`);
  if (typeof o.id !== 'string') throw badRequest('id must be a string');
  try {
    checkBackupId(o.id);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  if (typeof o.cluster !== 'string' || o.cluster === '') throw badRequest('cluster must be a non-empty string');
  const d = o.destination as Record<string, unknown> | undefined;
  if (typeof d !== 'object' || d === null || typeof d.url !== 'string') throw badRequest('destination must be {url, s3?}');
  if (d.s3 !== undefined && (typeof d.s3 !== 'object' || d.s3 === null)) throw badRequest('destination.s3 must be an object');
  if (o.compression !== undefined && o.compression !== 'gzip' && o.compression !== 'brotli') throw badRequest('compression must be gzip or brotli');
  if (o.chunkBytes !== undefined && (!Number.isInteger(o.chunkBytes) || (o.chunkBytes as number) < 4096 || (o.chunkBytes as number) > MAX_CHUNK_BYTES)) {
    throw badRequest(`chunkBytes must be an integer in 4096..${MAX_CHUNK_BYTES}`);
  }
  if (o.maxBytesPerSecond !== undefined && (!Number.isInteger(o.maxBytesPerSecond) || (o.maxBytesPerSecond as number) < MIN_RATE)) {
    throw badRequest(`maxBytesPerSecond must be an integer of at least ${MIN_RATE}`);
  }
  return o as unknown as BackupJobRequest;
}
