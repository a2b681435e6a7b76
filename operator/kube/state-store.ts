/**
 * The core's StateStore on Kubernetes: the controller's record lives in the
 * IrisCluster's status (status.controllerState), so a new leader — or the
 * same one after a restart — resumes from it. Writes go to the status
 * subresource as a JSON Patch that replaces the record whole: a merge patch
 * cannot store it, since it treats the record's many null fields (no map
 * yet, no operation, no failover) as "delete this key". The patch also
 * tests the resource's uid, so a controller of a deleted cluster never
 * writes into a new one of the same name. Saves run one at a time, in call
 * order.
 */
import { parseControllerState } from '../core/record.js';
import type { ControllerState } from '../core/state.js';
import type { StateStore } from '../platform/types.js';
import type { KubeClient, JsonPatchOp } from './client.js';
import { KubeApiError, OperatorError } from './errors.js';
import type { IrisCluster } from './iris-cluster.js';
import { IRISCLUSTERS, resourcePath } from './paths.js';

export class StatusStateStore implements StateStore {
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the resource has a status object at all (a JSON Patch cannot add below a missing parent). */
  private hasStatus: boolean | null = null;
  /** Set when this instance stops leading: a late save must not overwrite its successor's record. */
  private fenced: string | null = null;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
    private readonly uid: string,
  ) {}

  private where(): string {
    return `IrisCluster ${this.namespace}/${this.name}`;
  }

  async load(): Promise<ControllerState | null> {
    const cr = await this.client.find<IrisCluster>(resourcePath(IRISCLUSTERS, this.namespace, this.name));
    if (cr === null) throw new OperatorError('the resource is gone', this.where());
    if (cr.metadata.uid !== this.uid) throw new OperatorError(`the resource was replaced (uid ${cr.metadata.uid}, expected ${this.uid})`, this.where());
    this.hasStatus = cr.status !== undefined && cr.status !== null;
    const raw = cr.status?.controllerState;
    if (raw === undefined || raw === null) return null;
    return parseControllerState(JSON.stringify(raw), `${this.where()} status.controllerState`);
  }

  /** Refuses every later save (the controller using this store was stopped). */
  fence(why: string): void {
    this.fenced = why;
  }

  save(state: ControllerState): Promise<void> {
    if (this.fenced !== null) return Promise.reject(new OperatorError(`not saving the controller state: ${this.fenced}`, this.where()));
    const next = this.queue.catch(() => undefined).then(() => this.write(state));
    this.queue = next;
    return next;
  }

  private async write(state: ControllerState): Promise<void> {
    if (this.fenced !== null) throw new OperatorError(`not saving the controller state: ${this.fenced}`, this.where());
    const path = resourcePath(IRISCLUSTERS, this.namespace, this.name, 'status');
    const guard: JsonPatchOp = { op: 'test', path: '/metadata/uid', value: this.uid };
    if (this.hasStatus !== false) {
      try {
        await this.client.jsonPatch(path, [guard, { op: 'add', path: '/status/controllerState', value: state }]);
        this.hasStatus = true;
        return;
      } catch (err) {
        if (!missingParent(err)) throw err;
      }
    }
    // No status yet: this is the very first write; nothing else in status is lost.
    await this.client.jsonPatch(path, [guard, { op: 'add', path: '/status', value: { controllerState: state } }]);
    this.hasStatus = true;
  }
}

/** The API server's answer to a JSON Patch adding below a path that does not exist. */
function missingParent(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusCode === 422 || err.statusCode === 500 || err.statusCode === 400) && /missing|does not exist|doesn't exist|not found/i.test(err.message);
}
