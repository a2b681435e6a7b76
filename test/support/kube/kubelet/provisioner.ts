/**
 * Local-path volume provisioning: a default StorageClass, and for each
 * pending PVC a PersistentVolume pre-bound to it (claimRef) whose hostPath is
 * a fresh directory under the volumes root; the controller manager's PV
 * binder completes the binding. The directory outlives pods: it goes only
 * when the PVC is deleted and the PV, released with reclaim policy Delete,
 * is reclaimed here.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Informer } from '../../../../operator/kube/informer.js';
import { sinkLogger } from '../harness-logger.js';
import { KubeApiError } from '../../../../operator/kube/errors.js';
import type { KubeClient } from '../../../../operator/kube/client.js';
import { PERSISTENT_VOLUMES, STORAGE_CLASSES, type KubeObject } from '../objects.js';
import { PVCS, resourcePath } from '../../../../operator/kube/paths.js';

export const STORAGE_CLASS = 'irisdb-local';
export const PROVISIONER = 'irisdb.io/test-kubelet';

interface Pvc extends KubeObject {
  spec?: { storageClassName?: string; volumeName?: string; accessModes?: string[]; volumeMode?: string; resources?: { requests?: Record<string, string> } };
  status?: { phase?: string };
}
interface Pv extends KubeObject {
  spec?: { hostPath?: { path: string }; persistentVolumeReclaimPolicy?: string };
  status?: { phase?: string };
}
interface StorageClass extends KubeObject {
  provisioner?: string;
}

export class Provisioner {
  private readonly pvcs: Informer<Pvc>;
  private readonly pvs: Informer<Pv>;
  private readonly classes: Informer<StorageClass>;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly rest: KubeClient,
    private readonly volumesRoot: string,
    private readonly nodeName: string,
    private readonly log: (msg: string, err?: unknown) => void,
  ) {
    const logger = sinkLogger((e) => log(`provisioner: ${e.message}`, e.error));
    this.classes = new Informer(rest, { path: resourcePath(STORAGE_CLASSES), logger, maxBackoffMs: 5000 });
    this.pvcs = new Informer(rest, { path: resourcePath(PVCS), logger, maxBackoffMs: 5000 });
    this.pvcs.onEvent((type, pvc) => {
      if (type !== 'DELETED') void this.provision(pvc);
    });
    this.pvs = new Informer(rest, { path: resourcePath(PERSISTENT_VOLUMES), logger, maxBackoffMs: 5000 });
    this.pvs.onEvent((type, pv) => {
      if (type !== 'DELETED') void this.reclaim(pv);
    });
  }

  async start(): Promise<void> {
    await fs.mkdir(this.volumesRoot, { recursive: true });
    const sc = {
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
      metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: PROVISIONER, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate',
    };
    try {
      await this.rest.create(resourcePath(STORAGE_CLASSES), sc);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
    }
    await this.classes.start();
    await Promise.all([this.pvcs.start(), this.pvs.start()]);
  }

  stop(): void {
    this.pvcs.stop();
    this.pvs.stop();
    this.classes.stop();
  }

  /** Ours: our class, no class, or a class with no StorageClass object (e.g. kind's "standard"). */
  private wants(pvc: Pvc): boolean {
    const cls = pvc.spec?.storageClassName;
    if (cls === undefined || cls === '' || cls === STORAGE_CLASS) return true;
    const sc = this.classes.get('', cls);
    return sc === undefined || sc.provisioner === PROVISIONER;
  }

  private async provision(pvc: Pvc): Promise<void> {
    const md = pvc.metadata ?? {};
    const uid = md.uid ?? '';
    if (pvc.status?.phase !== 'Pending' || (pvc.spec?.volumeName ?? '') !== '' || md.deletionTimestamp !== undefined) return;
    if (!this.wants(pvc) || this.inFlight.has(uid)) return;
    this.inFlight.add(uid);
    const name = `pvc-${uid}`;
    const dir = path.join(this.volumesRoot, name);
    try {
      await fs.mkdir(dir, { recursive: true });
      await this.rest.create(resourcePath(PERSISTENT_VOLUMES), {
        apiVersion: 'v1', kind: 'PersistentVolume',
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER }, labels: { 'irisdb.io/test-node': this.nodeName } },
        spec: {
          capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
          accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
          volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
          storageClassName: pvc.spec?.storageClassName ?? '',
          persistentVolumeReclaimPolicy: 'Delete',
          hostPath: { path: dir, type: 'DirectoryOrCreate' },
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: md.namespace, name: md.name, uid },
        },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 409)) this.log(`provisioning ${md.namespace}/${md.name} failed`, err);
    } finally {
      this.inFlight.delete(uid);
    }
  }

  private async reclaim(pv: Pv): Promise<void> {
    const md = pv.metadata ?? {};
    if (md.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) return;
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    const dir = pv.spec.hostPath?.path;
    try {
      if (dir !== undefined && dir.startsWith(this.volumesRoot + path.sep)) await fs.rm(dir, { recursive: true, force: true });
      await this.rest.delete(resourcePath(PERSISTENT_VOLUMES, undefined, md.name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) this.log(`reclaiming ${md.name} failed`, err);
    }
  }
}
