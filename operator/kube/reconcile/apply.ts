/**
 * Create-or-update of one object the operator owns: created when missing;
 * otherwise merge-patched with what the operator builds, only when that
 * differs from what it last applied (an annotation holds the hash), so the
 * API server's defaults never cause an endless stream of writes.
 */
import crypto from 'node:crypto';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { KubeClient } from '../client.js';
import { isAlreadyExists, isNotFound } from '../errors.js';
import { canonicalJson } from '../build/spec-hash.js';

export const ANNOTATION_APPLIED = 'irisdb.io/applied-hash';

export interface Owned {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export function appliedHash(obj: Owned): string {
  const { metadata, ...rest } = obj;
  const { annotations: _a, ...meta } = metadata ?? {};
  return crypto.createHash('sha256').update(canonicalJson({ ...rest, metadata: meta })).digest('hex').slice(0, 16);
}

/** 'created' | 'updated' | 'unchanged' */
export async function applyOwned(client: KubeClient, collection: string, desired: Owned): Promise<'created' | 'updated' | 'unchanged'> {
  const name = desired.metadata?.name ?? '';
  const hash = appliedHash(desired);
  const body: Owned = { ...desired, metadata: { ...desired.metadata, annotations: { ...(desired.metadata?.annotations ?? {}), [ANNOTATION_APPLIED]: hash } } };
  const path = `${collection}/${encodeURIComponent(name)}`;
  const current = await client.find<Owned>(path);
  if (current === null) {
    try {
      await client.create(collection, body);
      return 'created';
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return 'unchanged'; // created meanwhile; the next pass compares
    }
  }
  if (current.metadata?.annotations?.[ANNOTATION_APPLIED] === hash) return 'unchanged';
  const { apiVersion: _v, kind: _k, ...patch } = body;
  try {
    await client.mergePatch(path, patch);
  } catch (err) {
    if (isNotFound(err)) return 'unchanged';
    throw err;
  }
  return 'updated';
}
