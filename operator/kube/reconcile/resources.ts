/**
 * Step "resources": the objects around the StatefulSets — the token Secret
 * (created once), the headless and client Services, a PDB per shard (stale
 * ones of removed shards deleted) — and the StatefulSets' pod templates,
 * rewritten (OnDelete: no pod restarts by itself) when the spec they were
 * built from changed. The StatefulSets themselves, and their replicas, are
 * the platform's.
 */
import crypto from 'node:crypto';
import type { V1PodDisruptionBudget, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { podDisruptionBudget } from '../build/pdb.js';
import { clientService, headlessService } from '../build/services.js';
import { tokenOf, tokenSecret } from '../build/secret.js';
import { statefulSet, templateOutdated, withTemplateOf } from '../build/statefulset.js';
import type { KubeClient } from '../client.js';
import { OperatorError, isAlreadyExists, isConflict, isNotFound } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { LABEL_SHARD, clusterSelector, parseStatefulSetName, pdbName, selectorString, tokenSecretName } from '../names.js';
import { PDBS, SECRETS, SERVICES, STATEFULSETS, resourcePath } from '../paths.js';
import { isDeleting } from '../pod-facts.js';
import { applyOwned } from './apply.js';
import type { StepContext, StepReport } from './context.js';

/** The admin token: read from the cluster's Secret, which is created with a new random token when missing. */
export async function ensureToken(client: KubeClient, cr: IrisCluster): Promise<string> {
  const ns = cr.metadata.namespace ?? '';
  const name = tokenSecretName(cr.metadata.name ?? '');
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await client.find<V1Secret>(resourcePath(SECRETS, ns, name));
    if (existing !== null) {
      const token = tokenOf(existing);
      if (token === null) throw new OperatorError(`has no "token" key: the nodes' admin token cannot be read (delete it to have a new one made)`, `Secret ${ns}/${name}`);
      return token;
    }
    try {
      await client.create(resourcePath(SECRETS, ns), tokenSecret(cr, crypto.randomBytes(32).toString('hex')));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  throw new OperatorError('created but not readable', `Secret ${ns}/${name}`);
}

/** Services and PDBs: on start, on every spec change and now and then (someone may delete one). */
export async function ensureSurroundings(ctx: StepContext): Promise<void> {
  const cr = ctx.resource();
  const ns = ctx.namespace;
  await applyOwned(ctx.client, resourcePath(SERVICES, ns), headlessService(cr));
  await applyOwned(ctx.client, resourcePath(SERVICES, ns), clientService(cr));
  const shards = ctx.controller.state.shards.map((s) => s.index);
  for (const index of shards) await applyOwned(ctx.client, resourcePath(PDBS, ns), podDisruptionBudget(cr, index));
  const pdbs = await ctx.client.get<{ items: V1PodDisruptionBudget[] }>(resourcePath(PDBS, ns), { labelSelector: selectorString(clusterSelector(ctx.cluster)) });
  for (const pdb of pdbs.items) {
    const index = Number(pdb.metadata?.labels?.[LABEL_SHARD] ?? NaN);
    if (!Number.isInteger(index) || shards.includes(index) || pdb.metadata?.name !== pdbName(ctx.cluster, index)) continue;
    await ctx.client.delete(resourcePath(PDBS, ns, pdb.metadata.name)).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    ctx.logger.info('PodDisruptionBudget of a removed shard deleted', { pdb: pdb.metadata.name });
  }
}

/** Rewrites the template of every StatefulSet whose spec hash is outdated; returns how many it rewrote. */
export async function updateTemplates(ctx: StepContext): Promise<StepReport> {
  const cr = ctx.resource();
  let updated = 0;
  for (const sts of ctx.statefulSets()) {
    if (isDeleting(sts) || !templateOutdated(sts, cr)) continue;
    const index = parseStatefulSetName(ctx.cluster, sts.metadata?.name ?? '');
    if (index === null) continue;
    const desired = statefulSet(cr, index, sts.spec?.replicas ?? 0);
    try {
      const written = await ctx.client.replace<V1StatefulSet>(resourcePath(STATEFULSETS, ctx.namespace, sts.metadata!.name), withTemplateOf(sts, desired));
      updated++;
      ctx.logger.info('StatefulSet template updated (pods restart one at a time)', { statefulSet: written.metadata?.name });
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) continue; // changed meanwhile: the next pass sees the new one
      throw err;
    }
  }
  if (updated > 0) ctx.event({ type: 'Normal', reason: 'TemplatesUpdated', message: `pod template of ${updated} StatefulSet${updated === 1 ? '' : 's'} updated from the spec; pods restart one at a time (replicas first, primaries after a switchover)` });
  return { progress: null, problem: null };
}
