/**
 * Events on an IrisBackup object (`kubectl describe irisbackup`): the
 * IrisCluster's Event shape (events.ts) with the IrisBackup as the object.
 * Best effort: a failure is logged, never thrown.
 */
import crypto from 'node:crypto';
import type { Logger } from '../../../common/logger.js';
import type { KubeClient } from '../client.js';
import { errorText } from '../errors.js';
import { eventObject, type RecordedEvent } from '../events.js';
import { EVENTS, apiVersionOf, resourcePath } from '../paths.js';
import { IRISBACKUPS, type IrisBackup } from './iris-backup.js';

export async function recordBackupEvent(client: KubeClient, b: IrisBackup, e: RecordedEvent, instance: string, logger: Logger): Promise<void> {
  const ev = eventObject(b, e, `${e.at.toString(16)}${crypto.randomBytes(4).toString('hex')}`, instance);
  ev.involvedObject = { apiVersion: apiVersionOf(IRISBACKUPS), kind: IRISBACKUPS.kind, name: b.metadata.name, namespace: b.metadata.namespace, uid: b.metadata.uid };
  try {
    await client.create(resourcePath(EVENTS, b.metadata.namespace), ev);
  } catch (err) {
    logger.warn('recording an IrisBackup event failed', { backup: b.metadata.name, reason: e.reason, error: errorText(err) });
  }
}
