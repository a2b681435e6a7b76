/**
 * W3C trace context (traceparent) in and out of IrisDB's own carriers: HTTP
 * headers, the replication bus frame that carries a sampled write's context
 * to the replicas. Uses OpenTelemetry's W3C propagator for the parsing.
 */
import { type Context, ROOT_CONTEXT, type Span, type SpanContext, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

const getter = {
  keys: (c: Record<string, string>) => Object.keys(c),
  get: (c: Record<string, string>, key: string) => c[key],
};

/** The context a traceparent header value continues, or null if it is malformed. */
export function contextFromTraceparent(traceparent: string): Context | null {
  const ctx = propagator.extract(ROOT_CONTEXT, { traceparent }, getter);
  return trace.getSpanContext(ctx) === undefined ? null : ctx;
}

/** The traceparent header value naming `span` as the parent. */
export function traceparentOf(span: Span): string {
  return formatTraceparent(span.spanContext());
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
