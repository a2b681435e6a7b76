/**
 * The hash of the parts of an IrisCluster spec that shape the pods, kept
 * as an annotation on each StatefulSet. A template is rewritten only when
 * this hash changes, i.e. when the user changed the spec — never because
 * a newer operator would build it differently (docs/architecture.md §5: upgrading the
 * operator never restarts data pods). Pure.
 */
import crypto from 'node:crypto';
import type { IrisClusterSpec } from '../iris-cluster.js';
import { backupPodHashPart } from './backup-pod-parts.js';
import { encryptionPodHashPart } from './encryption-pod-parts.js';

/** JSON with object keys sorted, so equal specs hash equal whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function podSpecHash(spec: IrisClusterSpec): string {
  const shaping = {
    image: spec.image, imagePullPolicy: spec.imagePullPolicy, resources: spec.resources,
    replication: spec.replication, scheduling: spec.scheduling,
    // Only when on, so clusters stored before these existed keep their hash (tls defaults to {enabled: false}); the
    // password's Secret is not part of the pods (they mount the aclfile the operator writes), so changing it restarts nothing.
    auth: spec.auth === undefined ? undefined : 'on', tls: spec.tls?.enabled === true ? spec.tls : undefined,
    // The backup Secret and the log archive are in the pods' environment (only when set: older clusters keep their hash).
    backup: backupPodHashPart(spec),
    // The keyring Secret's name and key (only when set: older clusters keep their hash).
    encryption: encryptionPodHashPart(spec),
  };
  return crypto.createHash('sha256').update(canonicalJson(shaping)).digest('hex').slice(0, 16);
}
