/**
 * How the Kubernetes operator reaches its nodes' HTTP API. With spec.tls
 * the nodes serve HTTPS only (--tls-http): the operator verifies them
 * against the cluster's CA — ca.crt of the Secret the pods mount (the
 * operator-issued <cluster>-tls, a copy of <cluster>-ca's certificate, or
 * the user's spec.tls.secretRef, which must hold ca.crt: tls-certificates.ts
 * refuses it otherwise, in status) — and against the client Service's name
 * <cluster>.<namespace>.svc, which every node's certificate holds (nodes
 * are reached by pod IP, which certificates do not name). Without TLS the
 * URLs are http:// and the global fetch is used.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { type FetchLike, nodeFetch } from '../../../common/node-fetch.js';
import { MigrationAdminClient } from '../../../common/migration-admin-client.js';
import type { NodeApiFactory } from '../../controller/node-api.js';
import { secretText } from '../build/auth-secret.js';
import { CA_CERT_KEY, podTlsSecretName } from '../build/tls-secret.js';
import type { KubeClient } from '../client.js';
import type { IrisCluster } from '../iris-cluster.js';
import { clientServiceName } from '../names.js';
import { SECRETS, resourcePath } from '../paths.js';

/**
 * A CA read this long ago is read again: the fallback for a ca.crt changed by
 * someone else (a user's secretRef Secret, an edit by hand). What this
 * operator writes itself it hands over at once (remember).
 */
export const CA_REREAD_MS = 60_000;

/** Told the ca.crt this operator just wrote to the pods' TLS Secret. */
export interface CaWritten {
  remember(pem: string): void;
}

/**
 * The CA the nodes' certificates are verified against, read from the pods'
 * TLS Secret and kept for CA_REREAD_MS, or handed over by the operator's
 * own write of that Secret (remember). One instance per cluster runner,
 * shared by every node client of that cluster and the TLS step that writes.
 */
export class ClusterCa implements CaWritten {
  private pem: string | null = null;
  private readAt = 0;
  private reading: Promise<string | null> | null = null;
  /** Bumped by remember: a read that began before it must not put back what it read. */
  private epoch = 0;

  constructor(private readonly client: KubeClient, private readonly resource: () => IrisCluster, private readonly now: () => number = Date.now) {}

  /** The CA's PEM; null when TLS is off or the Secret (or its ca.crt) is missing and none was read before. */
  get(): Promise<string | null> {
    if (this.pem !== null && this.now() - this.readAt < CA_REREAD_MS) return Promise.resolve(this.pem);
    this.reading ??= this.read().finally(() => { this.reading = null; });
    return this.reading;
  }

  /**
   * The ca.crt this operator has just written (its write succeeded): used from
   * the next call on, with no read, and kept CA_REREAD_MS like one read.
   */
  remember(pem: string): void {
    this.pem = pem;
    this.readAt = this.now();
    this.epoch++;
  }

  private async read(): Promise<string | null> {
    const epoch = this.epoch;
    const cr = this.resource();
    const name = podTlsSecretName(cr.metadata.name ?? '', cr.spec ?? {});
    if (name === null) return null;
    const secret = await this.client.find<V1Secret>(resourcePath(SECRETS, cr.metadata.namespace ?? '', name));
    // Written (and remembered) while this read was on the wire: the remembered one is newer.
    if (epoch !== this.epoch) return this.pem;
    const pem = secret === null ? null : secretText(secret, CA_CERT_KEY);
    if (pem === null) return this.pem; // keep the last one: running nodes still hold certificates from it
    this.pem = pem;
    this.readAt = this.now();
    return pem;
  }
}

/** The name the operator verifies every node's certificate against. */
export function nodeServerName(cluster: string, namespace: string): string {
  return `${clientServiceName(cluster)}.${namespace}.svc`;
}

/** The controller's node clients (admin API and backups) for one cluster. */
export function operatorNodeClients(cluster: string, namespace: string, ca: ClusterCa): { nodeApi: NodeApiFactory; nodeFetch: FetchLike } {
  const fetchImpl = nodeFetch({ caPem: () => ca.get(), serverName: nodeServerName(cluster, namespace) });
  return { nodeApi: (url, token, timeoutMs) => new MigrationAdminClient(url, token, timeoutMs, fetchImpl), nodeFetch: fetchImpl };
}
