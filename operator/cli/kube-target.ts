/**
 * The IrisCluster `irisctl --kube` acts on, reached like kubectl reaches it:
 * @kubernetes/client-node's KubeConfig from --kubeconfig, else KUBECONFIG
 * (several files merged), else ~/.kube/config; --context; -n, else the
 * context's namespace, else "default". Reads the resource and writes only
 * merge patches of it (its annotations or spec): what the user's RBAC on
 * irisclusters allows, nothing on pods. Errors become CliError with what
 * to check; for follow-loop.ts, status() throws ControlApiError (retried).
 */
import { KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { ControlApiError } from '../control-api/client.js';
import type { ClusterStatus } from '../core/observation.js';
import { KubeClient } from '../kube/client.js';
import { errorText, KubeApiError } from '../kube/errors.js';
import type { IrisCluster } from '../kube/iris-cluster.js';
import { IRISCLUSTERS, SECRETS, resourcePath } from '../kube/paths.js';
import { CliError } from './errors.js';
import type { KubeTarget } from './kube-args.js';
import { clusterStatusOf } from './kube-view.js';

export class KubeClusterRef {
  private constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly name: string,
  ) {}

  static async open(t: KubeTarget): Promise<KubeClusterRef> {
    const kc = new KubeConfig();
    try {
      if (t.kubeconfig !== undefined) kc.loadFromFile(t.kubeconfig);
      else kc.loadFromDefault();
    } catch (err) {
      throw new CliError(`reading the kubeconfig${t.kubeconfig !== undefined ? ` ${t.kubeconfig}` : ''} failed: ${errorText(err)}`);
    }
    if (t.context !== undefined) {
      if (kc.getContextObject(t.context) == null) throw new CliError(`the kubeconfig has no context "${t.context}" (kubectl config get-contexts)`);
      kc.setCurrentContext(t.context);
    }
    const namespace = t.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
    try {
      return new KubeClusterRef(await KubeClient.fromKubeConfig(kc), namespace, t.cluster);
    } catch (err) {
      throw new CliError(`the kubeconfig is not usable: ${errorText(err)}`);
    }
  }

  /** "IrisCluster ns/name" */
  get label(): string {
    return `IrisCluster ${this.namespace}/${this.name}`;
  }

  close(): void {
    this.client.close();
  }

  /** The API client, for the verbs on the cluster's other resources (kube-backup.ts: its IrisBackup objects). */
  get api(): KubeClient {
    return this.client;
  }

  private get path(): string {
    return resourcePath(IRISCLUSTERS, this.namespace, this.name);
  }

  /** A Secret of the IrisCluster's namespace (null: none of that name); CliError when this kubeconfig's user may not read it. */
  async findSecret(name: string): Promise<V1Secret | null> {
    try {
      return await this.client.find<V1Secret>(resourcePath(SECRETS, this.namespace, name));
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 403) {
        throw new CliError(`reading Secret ${this.namespace}/${name} is not allowed for this kubeconfig's user: give the CA with --cacert FILE and the password with IRISDB_PASSWORD or --target-password-file`);
      }
      throw this.explain(err, `reading Secret ${name} for`);
    }
  }

  async get(): Promise<IrisCluster> {
    try {
      return await this.client.get<IrisCluster>(this.path);
    } catch (err) {
      throw this.explain(err, 'reading');
    }
  }

  /** A merge patch of the resource (not its status), pinned to `uid` so a recreated cluster of the same name is never changed. */
  async patch(uid: string | undefined, body: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> }): Promise<IrisCluster> {
    try {
      return await this.client.mergePatch<IrisCluster>(this.path, { ...body, metadata: { ...body.metadata, uid } });
    } catch (err) {
      throw this.explain(err, 'changing');
    }
  }

  /** For follow-loop.ts: the view of the resource now; failures as ControlApiError (status 0: no answer, retried). */
  statusSource(): { status(): Promise<ClusterStatus> } {
    return {
      status: async () => {
        try {
          return clusterStatusOf(await this.client.get<IrisCluster>(this.path), Date.now());
        } catch (err) {
          if (err instanceof KubeApiError) throw new ControlApiError(err.statusCode, err.reason, `Kubernetes API: ${err.message}`);
          throw new ControlApiError(0, 'unreachable', `Kubernetes API at ${this.client.server}: ${errorText(err)}`);
        }
      },
    };
  }

  private explain(err: unknown, doing: string): CliError {
    if (err instanceof KubeApiError) {
      const m = (err.body as { message?: unknown } | undefined)?.message;
      const text = typeof m === 'string' ? m : err.message;
      if (err.statusCode === 404) return new CliError(`${this.label} not found (kubectl get irisclusters -n ${this.namespace})`);
      if (err.statusCode === 403) return new CliError(`${doing} ${this.label} is not allowed for this kubeconfig's user: ${text}`);
      if (err.statusCode === 409) return new CliError(`${this.label} was deleted and created again meanwhile: ${text}`);
      if (err.statusCode === 422) return new CliError(`the API server refused the change to ${this.label}: ${text}`);
      if (err.statusCode !== 0) return new CliError(`${doing} ${this.label} failed: ${text}`);
    }
    return new CliError(`cannot reach the Kubernetes API at ${this.client.server || '(no server)'}: ${errorText(err)}`);
  }
}
