/**
 * The backup part of the control API (mounted behind its Bearer check):
 *   POST   /backups        {destination, s3?, compression?} → 202 BackupRecord
 *   GET    /backups        {backups: [BackupRecord]}
 *   GET    /backups/{id}   BackupRecord
 *   DELETE /backups/{id}   {objects}: the backup's objects, then its record
 * s3: {endpoint?, region?, forcePathStyle?, accessKeyId?, secretAccessKey?,
 * sessionToken?}; credentials not given come from the controller's AWS_*
 * environment. Errors as the rest of the API (ControlError → 4xx).
 */
import express, { type Router } from 'express';
import type { S3Options } from '../../common/backup/destination-url.js';
import type { BackupRecord } from '../core/backup-state.js';
import type { BackupRequest } from '../controller/backup-runner.js';
import { ControlError } from './types.js';

export interface BackupControl {
  createBackup(req: BackupRequest): Promise<BackupRecord>;
  readonly backups: readonly BackupRecord[];
  backup(id: string): BackupRecord;
  deleteBackup(id: string): Promise<{ objects: number }>;
}

export function backupRoutes(target: BackupControl): Router {
  const router = express.Router();
  const json = express.json({ limit: 64 * 1024, strict: true, type: () => true });
  router.post('/backups', json, async (req, res) => {
    res.status(202).json(await target.createBackup(parseBackupRequest(req.body ?? {})));
  });
  router.get('/backups', (_req, res) => {
    res.json({ backups: target.backups });
  });
  router.get('/backups/:id', (req, res) => {
    res.json(target.backup(String(req.params.id)));
  });
  router.delete('/backups/:id', async (req, res) => {
    res.json(await target.deleteBackup(String(req.params.id)));
  });
  return router;
}

const bad = (m: string): ControlError => new ControlError('bad_request', m);
/** The node's limits for a chunk (node/backup/admin-routes.ts). */
export const MIN_CHUNK_BYTES = 4096;
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** The node's lowest read pace (node/backup/admin-routes.ts). */
export const MIN_RATE = 64 * 1024;

export function parseBackupRequest(body: unknown): BackupRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body must be a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['destination', 's3', 'compression', 'chunkBytes', 'maxBytesPerSecond'].includes(k)) throw bad(`unknown field "${k.slice(0, 100)}" (expected destination, s3, compression, chunkBytes, maxBytesPerSecond)`);
  if (o.maxBytesPerSecond !== undefined && (!Number.isInteger(o.maxBytesPerSecond) || (o.maxBytesPerSecond as number) < MIN_RATE)) {
    throw bad(`field "maxBytesPerSecond" must be an integer of at least ${MIN_RATE}`);
  }
  if (o.chunkBytes !== undefined && (!Number.isInteger(o.chunkBytes) || (o.chunkBytes as number) < MIN_CHUNK_BYTES || (o.chunkBytes as number) > MAX_CHUNK_BYTES)) {
    throw bad(`field "chunkBytes" must be an integer from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}`);
  }
  if (typeof o.destination !== 'string' || o.destination === '') throw bad('field "destination" must be file:///path or s3://bucket/prefix');
  if (o.compression !== undefined && o.compression !== 'gzip' && o.compression !== 'brotli') throw bad('field "compression" must be gzip or brotli');
  let s3: S3Options | undefined;
  if (o.s3 !== undefined) {
    if (typeof o.s3 !== 'object' || o.s3 === null || Array.isArray(o.s3)) throw bad('field "s3" must be an object');
    const x = o.s3 as Record<string, unknown>;
    const str = (k: string): string | undefined => {
      if (x[k] === undefined) return undefined;
      if (typeof x[k] !== 'string') throw bad(`field "s3.${k}" must be a string`);
      return x[k] as string;
    };
    for (const k of Object.keys(x)) if (!['endpoint', 'region', 'forcePathStyle', 'accessKeyId', 'secretAccessKey', 'sessionToken'].includes(k)) throw bad(`unknown field "s3.${k.slice(0, 100)}"`);
    if (x.forcePathStyle !== undefined && typeof x.forcePathStyle !== 'boolean') throw bad('field "s3.forcePathStyle" must be a boolean');
    const id = str('accessKeyId');
    const secret = str('secretAccessKey');
    if ((id === undefined) !== (secret === undefined)) throw bad('give both s3.accessKeyId and s3.secretAccessKey, or neither');
    const token = str('sessionToken');
    const endpoint = str('endpoint');
    const region = str('region');
    s3 = {
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(region !== undefined ? { region } : {}),
      ...(x.forcePathStyle !== undefined ? { forcePathStyle: x.forcePathStyle as boolean } : {}),
      ...(id !== undefined && secret !== undefined ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(token !== undefined ? { sessionToken: token } : {}) } } : {}),
    };
  }
  return {
    destination: o.destination, ...(s3 !== undefined ? { s3 } : {}),
    ...(o.compression !== undefined ? { compression: o.compression as BackupRequest['compression'] & string } : {}),
    ...(o.chunkBytes !== undefined ? { chunkBytes: o.chunkBytes as number } : {}),
    ...(o.maxBytesPerSecond !== undefined ? { maxBytesPerSecond: o.maxBytesPerSecond as number } : {}),
  };
}
