/**
 * Tracing settings as the node, the local controller and the operator read
 * them: IrisDB's own setting first, then OpenTelemetry's standard variables
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER_ARG), so a pod set up for any
 * OpenTelemetry SDK traces without IrisDB-specific configuration. Pure.
 */

export interface TracingSettings {
  /** Full OTLP/HTTP traces URL (…/v1/traces). */
  readonly tracesUrl: string;
  readonly serviceName: string;
  /** Fraction of root operations (no sampled parent) that are traced, 0..1. */
  readonly ratio: number;
}

export interface TracingInput {
  /** OTLP/HTTP base endpoint (http://host:4318); '' falls back to the OTEL_* variables. */
  readonly endpoint: string;
  /** '' falls back to OTEL_SERVICE_NAME, then defaultServiceName. */
  readonly serviceName: string;
  /** A number 0..1 as text; '' falls back to OTEL_TRACES_SAMPLER_ARG, then 1. */
  readonly samplerArg: string;
}

export class TracingSettingsError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'TracingSettingsError';
  }
}

/** null: tracing is off (no endpoint anywhere). Throws TracingSettingsError on a bad URL or ratio. */
export function resolveTracingSettings(input: TracingInput, env: Readonly<Record<string, string | undefined>>, defaultServiceName: string): TracingSettings | null {
  const tracesUrl = tracesUrlOf(input.endpoint, env);
  if (tracesUrl === null) return null;
  const serviceName = input.serviceName !== '' ? input.serviceName : nonEmpty(env.OTEL_SERVICE_NAME) ?? defaultServiceName;
  const ratioText = input.samplerArg !== '' ? input.samplerArg : nonEmpty(env.OTEL_TRACES_SAMPLER_ARG) ?? '1';
  return { tracesUrl, serviceName, ratio: parseRatio(ratioText) };
}

function tracesUrlOf(endpoint: string, env: Readonly<Record<string, string | undefined>>): string | null {
  if (endpoint !== '') return checkUrl('otelExporterOtlpEndpoint', appendTracesPath(endpoint));
  const traces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  // The signal-specific variable is used as it is (OpenTelemetry's rule); the base one gets /v1/traces.
  if (traces !== undefined) return checkUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces);
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (base !== undefined) return checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', appendTracesPath(base));
  return null;
}

function appendTracesPath(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function checkUrl(setting: string, url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TracingSettingsError(setting, `not a URL: ${JSON.stringify(url)} (expected e.g. http://otel-collector:4318)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TracingSettingsError(setting, `OTLP/HTTP needs an http or https URL, got ${u.protocol}`);
  return url;
}

export function parseRatio(text: string): number {
  const n = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 1)) throw new TracingSettingsError('otelTracesSamplerArg', `the sampled fraction must be a number from 0 to 1, got ${JSON.stringify(text)}`);
  return n;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/**
 * The control plane's settings (local controller, operator): IRIS_OTEL_*
 * variables named as the node's settings, then the standard OTEL_* ones.
 */
export function tracingSettingsFromEnv(env: Readonly<Record<string, string | undefined>>, defaultServiceName: string): TracingSettings | null {
  return resolveTracingSettings({
    endpoint: (env.IRIS_OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim(),
    serviceName: (env.IRIS_OTEL_SERVICE_NAME ?? '').trim(),
    samplerArg: (env.IRIS_OTEL_TRACES_SAMPLER_ARG ?? '').trim(),
  }, env, defaultServiceName);
}
