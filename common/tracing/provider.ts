/**
 * Creates the tracer of one process (node, local controller, operator) from
 * its TracingSettings: an SDK TracerProvider exporting over OTLP/HTTP (JSON)
 * in batches. The provider is passed around as a Tracing object, never
 * registered as OpenTelemetry's global: IrisDB code gets its Tracer injected,
 * and several nodes in one process (tests) keep their own service names.
 */
import { type Context, type Span, type SpanOptions, type Tracer, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { TracingSettings } from './settings.js';
import { contextFromTraceparent } from './traceparent.js';

export interface Tracing {
  readonly tracer: Tracer;
  readonly settings: TracingSettings;
  /**
   * Whether a new root operation (no incoming sampled context) is traced:
   * decided here, before any span object exists, so unsampled commands cost
   * one Math.random().
   */
  sampleRoot(): boolean;
  /** Starts a span under a W3C traceparent (an unsampled or absent one: a root span, if sampleRoot says so; else null). */
  startFromTraceparent(name: string, traceparent: string | undefined, options: SpanOptions): Span | null;
  /** Exports what is buffered now (tests, shutdown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracingResource {
  /** service.instance.id: the node name, or the controller's identity. */
  readonly instance: string;
  readonly version: string;
}

/** Export batches at least this often (ms): operators look at traces soon after the fact. */
const EXPORT_DELAY_MS = 1000;

export function createTracing(settings: TracingSettings, resource: TracingResource): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.instance.id': resource.instance,
      'service.version': resource.version,
    }),
    // Roots are sampled by sampleRoot(); children follow their parent.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl }), { scheduledDelayMillis: EXPORT_DELAY_MS })],
  });
  const tracer = provider.getTracer('irisdb', resource.version);
  const ratio = settings.ratio;
  return {
    tracer,
    settings,
    sampleRoot: ratio >= 1 ? () => true : ratio <= 0 ? () => false : () => Math.random() < ratio,
    startFromTraceparent(name, traceparent, options) {
      const parent = traceparent === undefined ? null : contextFromTraceparent(traceparent);
      if (parent !== null && trace.getSpanContext(parent)!.traceFlags & 1) return tracer.startSpan(name, options, parent);
      if (!this.sampleRoot()) return null;
      return tracer.startSpan(name, options, ROOT_CONTEXT);
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** The context to start a child of `span` in. */
export function contextOf(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}
