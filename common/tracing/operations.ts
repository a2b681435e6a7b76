/**
 * Control-plane operations (failover, switchover, rebalance) as traces: one
 * root span per operation id, from the moment a controller works on it until
 * it leaves the recorded state, and a child span per stage. The runners call
 * at() with the recorded stage on every step, so the spans follow what is on
 * disk; a controller restarted mid-operation starts a new root for the rest
 * (irisdb.operation.resumed). Events the controller reports for the
 * operation become span events.
 */
import { type Attributes, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Tracing } from './provider.js';
import { contextOf } from './provider.js';

interface Open {
  readonly root: Span;
  stage: Span | null;
  stageName: string | null;
}

export class OperationTraces {
  private readonly open = new Map<string, Open>();

  /** since: when this controller started (epoch ms); operations recorded before it are resumed ones. */
  constructor(private readonly tracing: Tracing, private readonly since: number) {}

  /**
   * Operation `id` (kind: failover, switchover, rebalance), recorded as
   * started at startedAt (epoch ms; the root span starts then), is at
   * `stage` now.
   */
  at(kind: string, id: string, startedAt: number, stage: string, attributes: Attributes = {}): void {
    let o = this.open.get(id);
    if (o === undefined) {
      const resumed = startedAt < this.since;
      const root = this.tracing.tracer.startSpan(kind, {
        kind: SpanKind.INTERNAL,
        // A resumed operation's root starts now: this controller did not see the stages before it.
        startTime: resumed ? undefined : startedAt,
        attributes: { 'irisdb.operation.kind': kind, 'irisdb.operation.id': id, 'irisdb.operation.resumed': resumed, ...attributes },
      });
      o = { root, stage: null, stageName: null };
      this.open.set(id, o);
    } else {
      // Latest values win (a rebalance knows its moves only after its add stage).
      o.root.setAttributes(attributes);
    }
    if (o.stageName === stage) return;
    o.stage?.end();
    o.stageName = stage;
    o.stage = this.tracing.tracer.startSpan(`${kind} ${stage}`, { kind: SpanKind.INTERNAL, attributes: { 'irisdb.operation.stage': stage, ...attributes } }, contextOf(o.root));
  }

  /** Something the controller reported about operation `id` (a Warning marks its stage as failed). */
  event(id: string, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const o = this.open.get(id);
    if (o === undefined) return;
    const span = o.stage ?? o.root;
    span.addEvent(reason, { 'event.type': type, 'event.message': message });
    if (type === 'Warning') span.setStatus({ code: SpanStatusCode.ERROR, message: `${reason}: ${message}` });
  }

  /** Operation `id` is no longer in the recorded state (finished or abandoned). */
  finish(id: string): void {
    const o = this.open.get(id);
    if (o === undefined) return;
    this.open.delete(id);
    o.stage?.end();
    o.root.end();
  }

  /** Ends every open span (controller stopping) and exports them. */
  async close(): Promise<void> {
    for (const id of [...this.open.keys()]) this.finish(id);
    await this.tracing.shutdown();
  }
}
