/**
 * Trace context across the replication stream. The primary sends a
 * TraceContext frame ahead of the Entries of a traced turn, to replicas
 * whose Hello said they understand it (older replicas never get one); the
 * replica's `replication apply` span continues the primary's ack-wait span
 * and ends once the entries are durably applied, just before the ack.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Tracing } from '../../common/tracing/provider.js';
import { contextFromTraceparent } from '../../common/tracing/traceparent.js';
import type { CommitScheduler } from '../engine/types.js';
import { endWith } from './turn-trace.js';

export interface ApplySpan {
  /** The entries up to `seq` are durably applied (or failed). */
  end(err: Error | null, seq: number): void;
}

export interface ReplicationTracing {
  /** Primary: the traceparent of the turn being shipped right now, '' if it is not traced. */
  shippingTraceparent(): string;
  /** Replica: a span for applying the entries a TraceContext frame announced (null: malformed or unsampled). */
  startApply(traceparent: string, primary: string, seq: number): ApplySpan | null;
}

export function replicationTracing(tracing: Tracing, commits: CommitScheduler): ReplicationTracing {
  return {
    shippingTraceparent: () => commits.committingTrace?.replicationTraceparent ?? '',
    startApply(traceparent, primary, seq) {
      const parent = contextFromTraceparent(traceparent);
      if (parent === null) return null;
      const span = tracing.tracer.startSpan('replication apply', {
        kind: SpanKind.CONSUMER,
        attributes: { 'irisdb.replication.primary': primary, 'irisdb.replication.seq': seq },
      }, parent);
      return {
        end(err, appliedSeq) {
          span.setAttribute('irisdb.replication.applied_seq', appliedSeq);
          endWith(span, err);
        },
      };
    },
  };
}
