/**
 * Fields of an IrisCluster the operator does not honour yet. The CRD refuses
 * them at admission (test/support/crd-audit.ts), but an object stored before
 * those rules existed keeps them, and runs, until its spec is next edited
 * (the API server then refuses the edit; status writes still pass). So the
 * operator says it too, in status (the Degraded
 * condition) and as a Warning Event, rather than run a cluster the user
 * believes is protected or backed up. The spec is read as plain JSON:
 * these fields have no typed form in IrisClusterSpec because nothing uses
 * them. Pure, apart from UnsupportedStep's event.
 */
import { NOTHING, type StepContext, type StepReport } from './context.js';

export interface UnsupportedField {
  readonly field: string;
  readonly why: string;
}

type Json = Readonly<Record<string, unknown>>;

const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);

/** The fields set in `spec` that nothing acts on, in schema order. */
export function unsupportedFields(spec: unknown): UnsupportedField[] {
  const s = obj(spec) ?? {};
  const tls = obj(s.tls);
  const monitoring = obj(s.monitoring);
  const out: UnsupportedField[] = [];
  // spec.backup and spec.bootstrap are honoured (operator/kube/backup/), spec.auth and spec.tls too
  // (reconcile/security.ts); a secretRef with TLS off is refused at admission.
  if (tls !== undefined && tls.enabled !== true && tls.secretRef !== undefined) {
    out.push({ field: 'spec.tls', why: 'tls.secretRef is set but tls.enabled is not: client connections are not encrypted' });
  }
  if (monitoring !== undefined && (monitoring.enabled === true || monitoring.serviceMonitor === true)) {
    out.push({ field: 'spec.monitoring', why: 'no scrape annotations or ServiceMonitor are created' });
  }
  return out;
}

/** The status problem for `spec`'s unsupported fields (NOTHING when there are none). */
export function unsupportedReport(spec: unknown): StepReport {
  const fields = unsupportedFields(spec);
  if (fields.length === 0) return NOTHING;
  return { progress: null, problem: fields.map((f) => `${f.field} is not supported yet and is ignored: ${f.why}; remove it`).join('; ') };
}

/** The report, plus one Warning Event each time the set of unsupported fields changes. */
export class UnsupportedStep {
  private last: string | null = null;

  run(ctx: StepContext): StepReport {
    const report = unsupportedReport(ctx.resource().spec);
    if (report.problem !== null && report.problem !== this.last) ctx.event({ type: 'Warning', reason: 'UnsupportedField', message: report.problem });
    this.last = report.problem;
    return report;
  }
}
