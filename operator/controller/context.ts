/**
 * What every step of the controller works with: the recorded state (changed
 * only through commit(), which persists before returning, so a step acts
 * only on progress that survives a controller crash), the platform, the
 * nodes' admin APIs (clients from a NodeApiFactory: HTTP in use, fakes in
 * tests) and the latest heartbeat observations.
 */
import type { Logger } from '../../common/logger.js';
import { nodeUp } from '../core/health.js';
import type { NodeObservation } from '../core/observation.js';
import type { ControllerState } from '../core/state.js';
import type { NodeEndpoint, Platform, StateStore } from '../platform/types.js';
import { httpNodeApi, type NodeAdminApi, type NodeApiFactory } from './node-api.js';
import type { FetchLike } from '../../common/node-fetch.js';
import { allocateId } from './shard-update.js';
import type { OperationTraces } from '../../common/tracing/operations.js';

/** Something a user should see: logged, counted in status, and (on Kubernetes) an Event. */
export interface ControllerEvent {
  readonly at: number;
  readonly type: 'Normal' | 'Warning';
  /** CamelCase reason, as Kubernetes Events have (FailoverStarted, PromotionRefused, MigrationFinished...). */
  readonly reason: string;
  readonly message: string;
}

export class ControllerContext {
  private stateValue: ControllerState;
  private readonly clients = new Map<string, NodeAdminApi>();
  private readonly eventLog: ControllerEvent[] = [];
  private readonly eventListeners: Array<(e: ControllerEvent) => void> = [];
  observations = new Map<string, NodeObservation>();
  /** Failovers and rebalances as traces (docs/tracing.md); null: tracing off. */
  traces: OperationTraces | null = null;

  constructor(
    state: ControllerState,
    readonly platform: Platform,
    private readonly store: StateStore,
    readonly token: string,
    readonly logger: Logger,
    readonly now: () => number = Date.now,
    private readonly nodeApi: NodeApiFactory = httpNodeApi,
    /** How other node clients (backups) reach the nodes' HTTP APIs. */
    readonly nodeFetch: FetchLike = (url, init) => fetch(url, init),
  ) {
    this.stateValue = state;
  }

  get state(): ControllerState {
    return this.stateValue;
  }

  /** Persists `next`, then makes it the state: nothing acts on progress that is not on disk. */
  async commit(next: ControllerState): Promise<void> {
    await this.store.save(next);
    this.stateValue = next;
  }

  /** The admin API of node `name` at its current address, or null while the platform has none. */
  api(name: string, timeoutMs = 10_000): NodeAdminApi | null {
    const ep = this.endpoint(name);
    if (ep === null) return null;
    const key = `${ep.httpUrl}|${timeoutMs}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      c = this.nodeApi(ep.httpUrl, this.token, timeoutMs);
      this.clients.set(key, c);
    }
    return c;
  }

  endpoint(name: string): NodeEndpoint | null {
    return this.platform.nodes().find((n) => n.name === name)?.endpoint ?? null;
  }

  /** The node answered its last heartbeat. */
  up(name: string): boolean {
    const obs = this.observations.get(name);
    return obs !== undefined && nodeUp(obs);
  }

  event(type: ControllerEvent['type'], reason: string, message: string, meta: Record<string, unknown> = {}): void {
    const e: ControllerEvent = { at: this.now(), type, reason, message };
    this.eventLog.push(e);
    if (this.eventLog.length > 100) this.eventLog.shift();
    if (type === 'Warning') this.logger.warn(message, { reason, ...meta });
    else this.logger.info(message, { reason, ...meta });
    if (this.traces !== null && typeof meta.id === 'string') this.traces.event(meta.id, type, reason, message);
    for (const l of this.eventListeners) l(e);
  }

  get events(): readonly ControllerEvent[] {
    return this.eventLog;
  }

  onEvent(listener: (e: ControllerEvent) => void): void {
    this.eventListeners.push(listener);
  }

  nextId(prefix: string): { id: string; state: ControllerState } {
    return allocateId(this.stateValue, prefix);
  }
}

/** Error text for logs and status, whatever was thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
