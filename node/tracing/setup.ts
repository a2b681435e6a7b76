/**
 * The node's tracing from its settings (node/config/schema.ts otel*, with
 * OpenTelemetry's OTEL_* variables as fallback): null when no endpoint is
 * configured, which keeps every tracing hook on the command path a null check.
 */
import type { Logger } from '../../common/logger.js';
import { createTracing, type Tracing } from '../../common/tracing/provider.js';
import { resolveTracingSettings } from '../../common/tracing/settings.js';
import { IRISDB_VERSION } from '../../common/version.js';
import type { NodeConfig } from '../config/schema.js';

export function startNodeTracing(config: NodeConfig, env: Readonly<Record<string, string | undefined>>, logger: Logger): Tracing | null {
  const settings = resolveTracingSettings(
    { endpoint: config.otelExporterOtlpEndpoint, serviceName: config.otelServiceName, samplerArg: config.otelTracesSamplerArg },
    env,
    'irisdb-node',
  );
  if (settings === null) return null;
  const u = new URL(settings.tracesUrl);
  // Origin and path only: credentials in a URL stay out of the log.
  logger.info('tracing on: exporting spans over OTLP/HTTP', { url: u.origin + u.pathname, service: settings.serviceName, ratio: settings.ratio });
  return createTracing(settings, { instance: config.nodeName, version: IRISDB_VERSION });
}
