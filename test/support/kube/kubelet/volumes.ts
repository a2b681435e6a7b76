/**
 * A pod's volumes as host directories: emptyDir under the pod's directory,
 * a PVC as its bound PersistentVolume's hostPath directory (so data outlives
 * the pod), hostPath as is, and ConfigMap / Secret / downwardAPI / projected
 * volumes (including the service-account token, via the TokenRequest API)
 * written out as files. Mounts then bind these directories into the
 * container's private mount namespace (see process.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { V1KeyToPath, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { fieldRefValue } from './env.js';
import type { KubeClient } from '../../../../operator/kube/client.js';
import { PERSISTENT_VOLUMES, SERVICE_ACCOUNTS, coreResource, type KubeObject } from '../objects.js';
import { PVCS, resourcePath } from '../../../../operator/kube/paths.js';

/** Raised while a volume cannot be set up yet (PVC not bound, ConfigMap missing); the pod stays ContainerCreating. */
export class VolumeNotReady extends Error {}

export interface VolumeContext {
  rest: KubeClient;
  pod: V1Pod;
  podDir: string;
  podIP: string;
  hostIP: string;
}

interface DataObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/**
 * The real kubelet's AtomicWriter layout: the files in a fresh "..<stamp>"
 * directory, "..data" a symlink to it swapped by rename, and each top-level
 * name a symlink through "..data" — so a reader sees the old set or the new
 * one, never a mix, and a changed file is a new inode.
 */
async function writeFiles(dir: string, files: Map<string, Buffer | string>, mode: number | undefined): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  const payload = path.join(dir, stamp);
  for (const [rel, content] of files) {
    const target = path.join(payload, rel);
    if (!target.startsWith(payload + path.sep)) throw new Error(`volume item path ${rel} escapes the volume`);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content, { mode: mode ?? 0o644 });
  }
  const old = await fs.readlink(path.join(dir, '..data')).catch(() => null);
  await fs.rm(path.join(dir, '..data_tmp'), { force: true });
  await fs.symlink(stamp, path.join(dir, '..data_tmp'));
  await fs.rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  const top = new Set([...files.keys()].map((rel) => rel.split('/')[0]!));
  for (const name of top) await fs.symlink(path.join('..data', name), path.join(dir, name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  for (const entry of await fs.readdir(dir)) {
    if (!entry.startsWith('..') && !top.has(entry)) await fs.rm(path.join(dir, entry), { force: true });
  }
  if (old !== null && old !== stamp) await fs.rm(path.join(dir, old), { recursive: true, force: true });
}

/** The files under the volume's current "..data" equal `files`. */
async function sameFiles(dir: string, files: Map<string, Buffer | string>): Promise<boolean> {
  const data = path.join(dir, '..data');
  const count = async (d: string): Promise<number> => {
    let n = 0;
    for (const e of await fs.readdir(d, { withFileTypes: true })) n += e.isDirectory() ? await count(path.join(d, e.name)) : 1;
    return n;
  };
  try {
    for (const [rel, content] of files) if (!(await fs.readFile(path.join(data, rel))).equals(Buffer.from(content))) return false;
    return (await count(data)) === files.size;
  } catch {
    return false;
  }
}

function pickItems(data: Map<string, Buffer | string>, items: V1KeyToPath[] | undefined, what: string, optional: boolean): Map<string, Buffer | string> {
  if (items === undefined || items.length === 0) return data;
  const out = new Map<string, Buffer | string>();
  for (const item of items) {
    const v = data.get(item.key);
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeNotReady(`key ${item.key} not found in ${what}`);
    }
    out.set(item.path, v);
  }
  return out;
}

async function objectData(ctx: VolumeContext, kind: 'configmaps' | 'secrets', name: string, optional: boolean): Promise<Map<string, Buffer | string> | undefined> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  const obj = await ctx.rest.find<DataObject>(resourcePath(coreResource(kind), ns, name));
  if (obj === null) {
    if (optional) return undefined;
    throw new VolumeNotReady(`${kind === 'configmaps' ? 'configmap' : 'secret'} "${name}" not found`);
  }
  const out = new Map<string, Buffer | string>();
  for (const [k, v] of Object.entries(obj.data ?? {})) out.set(k, kind === 'secrets' ? Buffer.from(v, 'base64') : v);
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

async function serviceAccountToken(ctx: VolumeContext, audience: string | undefined, expirationSeconds: number | undefined): Promise<string> {
  const md = ctx.pod.metadata ?? {};
  const ns = md.namespace ?? 'default';
  const sa = ctx.pod.spec?.serviceAccountName ?? 'default';
  const res = await ctx.rest.create<{ status: { token: string } }>(resourcePath(SERVICE_ACCOUNTS, ns, sa, 'token'), {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      audiences: audience !== undefined && audience !== '' ? [audience] : [],
      expirationSeconds: expirationSeconds ?? 3607,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: md.name, uid: md.uid },
    },
  });
  return res.status.token;
}

async function projectedFiles(ctx: VolumeContext, sources: V1VolumeProjection[]): Promise<Map<string, Buffer | string>> {
  const out = new Map<string, Buffer | string>();
  for (const src of sources) {
    if (src.serviceAccountToken !== undefined) {
      const t = src.serviceAccountToken;
      out.set(t.path, await serviceAccountToken(ctx, t.audience, t.expirationSeconds));
    } else if (src.configMap !== undefined) {
      const data = await objectData(ctx, 'configmaps', src.configMap.name ?? '', src.configMap.optional === true);
      if (data !== undefined) for (const [k, v] of pickItems(data, src.configMap.items, `configmap ${src.configMap.name}`, src.configMap.optional === true)) out.set(k, v);
    } else if (src.secret !== undefined) {
      const data = await objectData(ctx, 'secrets', src.secret.name ?? '', src.secret.optional === true);
      if (data !== undefined) for (const [k, v] of pickItems(data, src.secret.items, `secret ${src.secret.name}`, src.secret.optional === true)) out.set(k, v);
    } else if (src.downwardAPI !== undefined) {
      for (const item of src.downwardAPI.items ?? []) {
        if (item.fieldRef === undefined) continue;
        out.set(item.path, fieldRefValue(ctx.pod, item.fieldRef.fieldPath, ctx) ?? '');
      }
    }
  }
  return out;
}

async function persistentVolumeDir(ctx: VolumeContext, claimName: string): Promise<string> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  const pvc = await ctx.rest.find<KubeObject & { spec?: { volumeName?: string }; status?: { phase?: string } }>(
    resourcePath(PVCS, ns, claimName));
  if (pvc === null) throw new VolumeNotReady(`persistentvolumeclaim "${claimName}" not found`);
  if (pvc.status?.phase !== 'Bound' || pvc.spec?.volumeName === undefined) throw new VolumeNotReady(`persistentvolumeclaim "${claimName}" is not bound`);
  const pv = await ctx.rest.find<KubeObject & { spec?: { hostPath?: { path: string }; local?: { path: string } } }>(
    resourcePath(PERSISTENT_VOLUMES, undefined, pvc.spec.volumeName));
  const dir = pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path;
  if (dir === undefined) throw new VolumeNotReady(`persistentvolume ${pvc.spec.volumeName} has no hostPath or local path`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

async function setUp(ctx: VolumeContext, v: V1Volume): Promise<string> {
  const dir = path.join(ctx.podDir, 'volumes', v.name);
  if (v.persistentVolumeClaim !== undefined) return persistentVolumeDir(ctx, v.persistentVolumeClaim.claimName);
  if (v.hostPath !== undefined) {
    if (v.hostPath.type === 'DirectoryOrCreate') await fs.mkdir(v.hostPath.path, { recursive: true });
    return v.hostPath.path;
  }
  if (v.emptyDir !== undefined) {
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }
  // File-backed volumes are rewritten on every pod start: new token, current data.
  await fs.rm(dir, { recursive: true, force: true });
  if (v.configMap !== undefined) {
    const optional = v.configMap.optional === true;
    const data = await objectData(ctx, 'configmaps', v.configMap.name ?? '', optional);
    await writeFiles(dir, pickItems(data ?? new Map(), v.configMap.items, `configmap ${v.configMap.name}`, optional), v.configMap.defaultMode);
  } else if (v.secret !== undefined) {
    const optional = v.secret.optional === true;
    const data = await objectData(ctx, 'secrets', v.secret.secretName ?? '', optional);
    await writeFiles(dir, pickItems(data ?? new Map(), v.secret.items, `secret ${v.secret.secretName}`, optional), v.secret.defaultMode ?? 0o644);
  } else if (v.projected !== undefined) {
    await writeFiles(dir, await projectedFiles(ctx, v.projected.sources ?? []), v.projected.defaultMode);
  } else if (v.downwardAPI !== undefined) {
    await writeFiles(dir, await projectedFiles(ctx, [{ downwardAPI: v.downwardAPI }]), v.downwardAPI.defaultMode);
  } else {
    throw new VolumeNotReady(`volume ${v.name}: this volume type is not supported by the test kubelet`);
  }
  return dir;
}

/**
 * The kubelet's periodic sync of Secret and ConfigMap volumes: a changed
 * object is written again (atomically, as above) into the running pod's
 * volume; a missing one leaves the files as they are. Returns how many
 * volumes changed.
 */
export async function refreshVolumes(ctx: VolumeContext): Promise<number> {
  let changed = 0;
  for (const v of ctx.pod.spec?.volumes ?? []) {
    const source = v.secret !== undefined
      ? { kind: 'secrets' as const, name: v.secret.secretName ?? '', items: v.secret.items, mode: v.secret.defaultMode ?? 0o644 }
      : v.configMap !== undefined ? { kind: 'configmaps' as const, name: v.configMap.name ?? '', items: v.configMap.items, mode: v.configMap.defaultMode } : null;
    if (source === null) continue;
    const dir = path.join(ctx.podDir, 'volumes', v.name);
    const data = await objectData(ctx, source.kind, source.name, true);
    if (data === undefined) continue;
    let files: Map<string, Buffer | string>;
    try {
      files = pickItems(data, source.items, `${source.kind} ${source.name}`, false);
    } catch {
      continue;
    }
    if (await sameFiles(dir, files)) continue;
    await writeFiles(dir, files, source.mode);
    changed++;
  }
  return changed;
}

/** Sets up every volume of the pod; returns volume name → host directory. */
export async function setUpVolumes(ctx: VolumeContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of ctx.pod.spec?.volumes ?? []) out.set(v.name, await setUp(ctx, v));
  return out;
}
