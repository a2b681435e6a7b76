/**
 * The spans of one traced group-commit turn (engine TurnTrace): for every
 * sampled command or HTTP request that joined the turn, a `group commit`
 * child (COMMIT and its fsync) and, on a primary with a release gate, a
 * `replication ack wait` child (from shipping the turn to the replicas until
 * the gate releases the replies). The replicas continue the first joined
 * span's ack-wait span (its traceparent travels in the bus's TraceContext
 * frame), so one trace runs client → primary → replica apply → ack.
 */
import { type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { contextOf } from '../../common/tracing/provider.js';
import { traceparentOf } from '../../common/tracing/traceparent.js';
import type { TurnTrace } from '../engine/types.js';

interface Joined {
  readonly span: Span;
  /** RESP commands end with their turn; an HTTP request ends when its response is sent. */
  readonly endWithTurn: boolean;
  commit: Span | null;
  ack: Span | null;
}

export interface TurnTraceOptions {
  readonly tracer: Tracer;
  /** minSyncReplicas now (an attribute of the ack-wait span). */
  minSyncReplicas(): number;
  /** An exporter-side failure must not break a commit: reported, not thrown. */
  onError(err: unknown): void;
}

export class CommandTurnTrace implements TurnTrace {
  private readonly joined: Joined[] = [];
  replicationTraceparent = '';

  constructor(private readonly opts: TurnTraceOptions) {}

  join(span: Span, endWithTurn: boolean): void {
    this.joined.push({ span, endWithTurn, commit: null, ack: null });
  }

  committing(writes: number): void {
    this.guard(() => {
      for (const j of this.joined) {
        j.commit = this.opts.tracer.startSpan('group commit', { kind: SpanKind.INTERNAL, attributes: { 'irisdb.commit.writes': writes } }, contextOf(j.span));
      }
    });
  }

  shipping(): void {
    this.guard(() => {
      const min = this.opts.minSyncReplicas();
      for (const j of this.joined) {
        j.ack = this.opts.tracer.startSpan('replication ack wait', { kind: SpanKind.INTERNAL, attributes: { 'irisdb.replication.min_sync_replicas': min } }, contextOf(j.span));
      }
      const first = this.joined[0]?.ack;
      if (first !== undefined && first !== null) this.replicationTraceparent = traceparentOf(first);
    });
  }

  durable(err: Error | null): void {
    this.guard(() => {
      for (const j of this.joined) {
        if (j.commit === null) continue;
        endWith(j.commit, err);
        j.commit = null;
      }
    });
  }

  released(err: Error | null): void {
    this.guard(() => {
      for (const j of this.joined) {
        if (j.ack !== null) {
          endWith(j.ack, err);
          j.ack = null;
        }
        if (j.endWithTurn) endWith(j.span, err);
      }
    });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.onError(err);
    }
  }
}

export function endWith(span: Span, err: Error | null): void {
  if (err !== null) {
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  }
  span.end();
}
