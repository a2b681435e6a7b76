/**
 * Tracing settings (common/tracing/settings.ts): IrisDB's own settings win,
 * then OpenTelemetry's standard variables; bad URLs and fractions are
 * refused naming the setting; the ratio parser accepts exactly the numbers
 * 0..1 (fast-check).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { TracingSettingsError, parseRatio, resolveTracingSettings, tracingSettingsFromEnv } from '../../common/tracing/settings.js';

const none = { endpoint: '', serviceName: '', samplerArg: '' };

describe('tracing settings', () => {
  it('is off without an endpoint anywhere', () => {
    expect(resolveTracingSettings(none, {}, 'irisdb-node')).to.equal(null);
    expect(resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'irisdb-node')).to.equal(null);
  });

  it('appends /v1/traces to a base endpoint and takes the traces endpoint as it is', () => {
    expect(resolveTracingSettings({ ...none, endpoint: 'http://c:4318/' }, {}, 'x')!.tracesUrl).to.equal('http://c:4318/v1/traces');
    expect(resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'x')!.tracesUrl).to.equal('http://c:4318/v1/traces');
    expect(resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t:2/custom' }, 'x')!.tracesUrl).to.equal('https://t:2/custom');
    // The node's own setting wins over the environment.
    expect(resolveTracingSettings({ ...none, endpoint: 'http://mine:4318' }, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:2/v1/traces' }, 'x')!.tracesUrl).to.equal('http://mine:4318/v1/traces');
  });

  it('takes the service name and ratio from the setting, then OTEL_*, then the defaults', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'from-env', OTEL_TRACES_SAMPLER_ARG: '0.25' };
    expect(resolveTracingSettings(none, env, 'irisdb-node')).to.deep.include({ serviceName: 'from-env', ratio: 0.25 });
    expect(resolveTracingSettings({ ...none, serviceName: 'mine', samplerArg: '0.5' }, env, 'irisdb-node')).to.deep.include({ serviceName: 'mine', ratio: 0.5 });
    expect(resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'irisdb-node')).to.deep.include({ serviceName: 'irisdb-node', ratio: 1 });
    expect(tracingSettingsFromEnv({ IRIS_OTEL_EXPORTER_OTLP_ENDPOINT: 'http://i:1', IRIS_OTEL_TRACES_SAMPLER_ARG: '0' }, 'irisdb-controller')).to.deep.equal({ tracesUrl: 'http://i:1/v1/traces', serviceName: 'irisdb-controller', ratio: 0 });
  });

  it('refuses what is not an http(s) URL, naming the setting', () => {
    expect(() => resolveTracingSettings({ ...none, endpoint: 'collector:4318' }, {}, 'x')).to.throw(TracingSettingsError, /otelExporterOtlpEndpoint/);
    expect(() => resolveTracingSettings(none, { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://c:4317' }, 'x')).to.throw(TracingSettingsError, /OTEL_EXPORTER_OTLP_ENDPOINT: OTLP\/HTTP needs an http or https URL/);
  });

  it('parses exactly the fractions 0..1 (fast-check)', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (x) => {
      const text = x.toFixed(6);
      expect(parseRatio(text)).to.equal(Number(text));
    }));
    fc.assert(fc.property(fc.string(), (text) => {
      let got: number | null = null;
      try {
        got = parseRatio(text);
      } catch (err) {
        expect(err).to.be.instanceOf(TracingSettingsError);
        expect((err as Error).message).to.include(JSON.stringify(text));
        return;
      }
      expect(got).to.be.within(0, 1);
      expect(got).to.equal(Number(text.trim()));
    }));
    for (const bad of ['-0.1', '1.5', 'NaN', 'Infinity', '1e-3', '', ' ', '0x1', '50%']) expect(() => parseRatio(bad), bad).to.throw(TracingSettingsError);
  });
});
