/**
 * A real OpenTelemetry Collector for the tracing tests: otelcol-irisdb (the
 * Collector's OTLP receiver and file exporter, built by
 * scripts/otel-collector.sh into a cache outside the repository) on a
 * loopback free port, writing what it receives as OTLP JSON lines that
 * spans() reads back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { REPO_ROOT } from './kube/binaries.js';
import { run } from './run.js';
import { GiveUp, waitFor } from './wait.js';

let collectorPath: Promise<string> | undefined;

/** $IRIS_OTELCOL if set, else the binary scripts/otel-collector.sh prints the directory of (building it once). */
export function collectorBinary(): Promise<string> {
  collectorPath ??= (async () => {
    const fromEnv = process.env.IRIS_OTELCOL;
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const script = path.join(REPO_ROOT, 'scripts/otel-collector.sh');
    const r = await run('bash', [script], { stderr: 'inherit', timeoutMs: 0 });
    if (r.code !== 0) throw new Error(`${script} exited with ${r.code}`);
    const bin = path.join(r.stdout.trim().split('\n').pop() ?? '', 'otelcol-irisdb');
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run scripts/otel-collector.sh`);
    return bin;
  })();
  return collectorPath;
}

/** One received span, flattened from the OTLP JSON. */
export interface ReceivedSpan {
  readonly service: string;
  /** service.instance.id: the node name, or the controller's identity. */
  readonly instance: string;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** 2: error. */
  readonly statusCode: number;
}

interface OtlpValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
interface OtlpAttr { key: string; value: OtlpValue }
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; attributes?: OtlpAttr[]; status?: { code?: number } }
interface OtlpLine { resourceSpans?: Array<{ resource?: { attributes?: OtlpAttr[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> }

function attrs(list: OtlpAttr[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of list ?? []) {
    const v = a.value;
    if (v.stringValue !== undefined) out[a.key] = v.stringValue;
    else if (v.intValue !== undefined) out[a.key] = Number(v.intValue);
    else if (v.doubleValue !== undefined) out[a.key] = v.doubleValue;
    else if (v.boolValue !== undefined) out[a.key] = v.boolValue;
  }
  return out;
}

export class OtelCollector {
  private proc: ChildProcess | null = null;
  private log = '';

  private constructor(readonly dir: string, private readonly bin: string, readonly port: number) {}

  /** The OTLP/HTTP base endpoint (what OTEL_EXPORTER_OTLP_ENDPOINT takes). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private get output(): string {
    return path.join(this.dir, 'traces.jsonl');
  }

  static async start(): Promise<OtelCollector> {
    const bin = await collectorBinary();
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-otel-'));
    const c = new OtelCollector(dir, bin, await freePort());
    try {
      await c.run();
    } catch (err) {
      await c.destroy();
      throw err;
    }
    return c;
  }

  private async run(): Promise<void> {
    const config = path.join(this.dir, 'otelcol.yaml');
    await fs.promises.writeFile(config, [
      'receivers:',
      '  otlp:',
      '    protocols:',
      '      http:',
      `        endpoint: 127.0.0.1:${this.port}`,
      'exporters:',
      '  file:',
      `    path: ${this.output}`,
      '    flush_interval: 100ms',
      'service:',
      '  telemetry:',
      '    metrics:',
      '      level: none',
      '  pipelines:',
      '    traces:',
      '      receivers: [otlp]',
      '      exporters: [file]',
      '',
    ].join('\n'));
    const p = spawn(this.bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20_000); });
    p.stderr!.on('data', (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20_000); });
    this.proc = p;
    // Ready once the OTLP/HTTP receiver answers (an empty export is accepted).
    await waitFor('the OpenTelemetry Collector to accept OTLP/HTTP', async () => {
      if (p.exitCode !== null) throw new GiveUp(`otelcol-irisdb exited with ${p.exitCode}:\n${this.log.slice(-3000)}`);
      try {
        const r = await fetch(`${this.endpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return r.ok ? true : null;
      } catch {
        return null;
      }
    }, { timeoutMs: 30_000, intervalMs: 100 });
  }

  /** Every span the collector has written so far. */
  spans(): ReceivedSpan[] {
    if (!fs.existsSync(this.output)) return [];
    const out: ReceivedSpan[] = [];
    for (const line of fs.readFileSync(this.output, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const doc = JSON.parse(line) as OtlpLine;
      for (const rs of doc.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        const service = String(resource['service.name'] ?? '');
        const instance = String(resource['service.instance.id'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            out.push({
              service, instance, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind ?? 0,
              attributes: attrs(s.attributes), statusCode: s.status?.code ?? 0,
            });
          }
        }
      }
    }
    return out;
  }

  get logTail(): string {
    return this.log.slice(-3000);
  }

  async destroy(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p !== null && p.exitCode === null) {
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGKILL');
      await exited;
    }
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}
