/**
 * Objects in the node's backup volume (--backup-volume, a mounted PVC on
 * Kubernetes), under /admin/backup-volume behind the admin bearer-token
 * check: the operator cannot mount the claim, so what it writes itself (a
 * backup's top-level manifest, retention deletions, the listing behind the
 * recoverability window) goes through a node that has it mounted
 * (common/backup/volume-client.ts is the other end). Keys are relative to
 * the volume root and checked like every backup object key (no "..", no
 * absolute path), so the route never reaches outside the volume. The same
 * FileDestination the nodes back up with does the I/O (atomic writes).
 *   GET    /admin/backup-volume/objects?prefix=P   → [{key, size}] in key order
 *   GET    /admin/backup-volume/object?key=K       → the bytes (404 reason missing_object)
 *   GET    /admin/backup-volume/object-info?key=K  → {key, size} (404 reason missing_object)
 *   PUT    /admin/backup-volume/object?key=K       ← the bytes (application/octet-stream)
 *   DELETE /admin/backup-volume/object?key=K       → 204, also when already gone
 */
import express, { type Request, type Router } from 'express';
import { BackupObjectMissing, checkObjectKey } from '../../common/backup/destination.js';
import { FileDestination } from '../../common/backup/file-destination.js';
import { HttpError, badRequest } from '../http/errors.js';

export interface BackupVolumeRouteOptions {
  /** The volume's mount point; '' (no volume): every route answers 404 no_backup_volume. */
  readonly root: string;
  /** The largest object a PUT may carry (--backup-volume-max-object-bytes). */
  readonly maxObjectBytes: number;
}

export function backupVolumeRouter(o: BackupVolumeRouteOptions): Router {
  const router = express.Router();
  const dest = o.root === '' ? null : new FileDestination(o.root.replace(/\/+$/, ''));
  const volume = (): FileDestination => {
    if (dest === null) throw new HttpError(404, 'not_found', 'this node has no backup volume (--backup-volume)', { reason: 'no_backup_volume' });
    return dest;
  };
  const raw = express.raw({ limit: o.maxObjectBytes, type: () => true });

  router.get('/backup-volume/objects', async (req, res) => {
    const prefix = queryString(req, 'prefix', true);
    res.json(await volume().list(prefix));
  });

  router.get('/backup-volume/object', async (req, res) => {
    const key = objectKey(req);
    try {
      res.type('application/octet-stream').send(await volume().get(key));
    } catch (err) {
      if (err instanceof BackupObjectMissing) throw missing(key);
      throw err;
    }
  });

  router.get('/backup-volume/object-info', async (req, res) => {
    const key = objectKey(req);
    const info = await volume().head(key);
    if (info === null) throw missing(key);
    res.json(info);
  });

  router.put('/backup-volume/object', raw, async (req, res) => {
    const key = objectKey(req);
    const body: unknown = req.body;
    // express.raw leaves {} when there was no body at all; an empty object is a Buffer of length 0.
    await volume().put(key, Buffer.isBuffer(body) ? body : Buffer.alloc(0));
    res.status(204).end();
  });

  router.delete('/backup-volume/object', async (req, res) => {
    await volume().delete(objectKey(req));
    res.status(204).end();
  });
  return router;
}

function queryString(req: Request, name: string, optional: boolean): string {
  const v = req.query[name];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') throw badRequest(`query parameter ${name} must be given once`);
  return v;
}

function objectKey(req: Request): string {
  const key = queryString(req, 'key', false);
  try {
    return checkObjectKey(key);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

function missing(key: string): HttpError {
  return new HttpError(404, 'not_found', `no object ${key} in the backup volume`, { reason: 'missing_object' });
}
