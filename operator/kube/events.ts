/**
 * Every ControllerEvent becomes a core/v1 Event on the IrisCluster
 * (`kubectl describe irisclusters`, `kubectl get events`), with the reason
 * and type the controller gave. Recording never blocks the controller:
 * events queue and are written one at a time; a failure is logged, never
 * thrown.
 */
import crypto from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import type { KubeClient } from './client.js';
import { errorText } from './errors.js';
import type { IrisCluster } from './iris-cluster.js';
import { EVENTS, IRISCLUSTERS, apiVersionOf, resourcePath } from './paths.js';

export interface RecordedEvent {
  readonly at: number;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** Events are capped at 1 KiB of message by the API server's conventions. */
const MAX_MESSAGE = 1024;
const MAX_QUEUE = 500;

/** The Event object for `e` about `cr`. Pure (name suffix given). */
export function eventObject(cr: Pick<IrisCluster, 'metadata'>, e: RecordedEvent, suffix: string, instance: string): CoreV1Event {
  const time = new Date(e.at).toISOString().replace(/\.\d{3}Z$/, 'Z') as unknown as Date;
  const message = e.message.length <= MAX_MESSAGE ? e.message : `${e.message.slice(0, MAX_MESSAGE - 1)}…`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${cr.metadata.name}.${suffix}`, namespace: cr.metadata.namespace },
    involvedObject: {
      apiVersion: apiVersionOf(IRISCLUSTERS), kind: IRISCLUSTERS.kind,
      name: cr.metadata.name, namespace: cr.metadata.namespace, uid: cr.metadata.uid,
    },
    reason: e.reason,
    message,
    type: e.type,
    source: { component: 'irisdb-operator' },
    reportingComponent: 'irisdb-operator',
    reportingInstance: instance,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

export class EventRecorder {
  private readonly pending: RecordedEvent[] = [];
  private draining = false;
  private dropped = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly cr: () => Pick<IrisCluster, 'metadata'>,
    private readonly instance: string,
    private readonly logger: Logger,
    private readonly counted?: (e: RecordedEvent) => void,
  ) {}

  record(e: RecordedEvent): void {
    this.counted?.(e);
    if (this.pending.length >= MAX_QUEUE) {
      this.dropped++;
      return;
    }
    this.pending.push(e);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const e = this.pending.shift()!;
        const cr = this.cr();
        const suffix = `${e.at.toString(16)}${crypto.randomBytes(4).toString('hex')}`;
        try {
          await this.client.create(resourcePath(EVENTS, cr.metadata.namespace), eventObject(cr, e, suffix, this.instance));
        } catch (err) {
          this.logger.warn('recording an event failed', { reason: e.reason, error: errorText(err) });
        }
      }
      if (this.dropped > 0) {
        this.logger.warn('events dropped: the API server was too slow to take them', { dropped: this.dropped });
        this.dropped = 0;
      }
    } finally {
      this.draining = false;
    }
  }
}
