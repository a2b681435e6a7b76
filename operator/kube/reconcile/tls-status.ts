/**
 * status.tls of an IrisCluster with spec.tls: when the nodes' certificate
 * and the operator's CA expire, and the operator CA's rotation (phase, what
 * it waits on, why it started, when the phase began). Pure: built from what
 * ensureTls found and the status written before.
 */
import { type CaRotationPhase, rotationUnderWay } from './tls-ca-rotation-plan.js';
import type { CaRotationOutcome } from './tls-ca-rotation.js';

export interface CaRotationStatus {
  readonly phase: CaRotationPhase;
  readonly message: string;
  /** The request's annotation text (irisctl --kube CLUSTER rotate-ca), or the CA's renewal. */
  readonly reason: string;
  /** RFC 3339: when this phase began. */
  readonly lastTransitionTime: string;
}

export interface TlsStatus {
  /** RFC 3339; null: unknown. */
  readonly certificateNotAfter: string | null;
  /** The operator's CA (null: the user's or cert-manager's TLS). */
  readonly caNotAfter: string | null;
  readonly caRotation?: CaRotationStatus;
}

function time(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The status now; a rotation with no news (phase null) keeps the one recorded. */
export function tlsStatusOf(found: { readonly notAfter: number | null; readonly caNotAfter: number | null; readonly rotation: CaRotationOutcome | null }, previous: TlsStatus | undefined, now: number): TlsStatus {
  const before = previous?.caRotation;
  const r = found.rotation;
  let caRotation = before;
  if (r !== null && r.phase !== null) {
    caRotation = { phase: r.phase, message: r.message, reason: r.reason, lastTransitionTime: before?.phase === r.phase ? before.lastTransitionTime : time(now)! };
  }
  return { certificateNotAfter: time(found.notAfter), caNotAfter: time(found.caNotAfter), ...(caRotation === undefined ? {} : { caRotation }) };
}

/** The Event of a phase change (null: none): reason and message. */
export function rotationEvent(before: CaRotationPhase | undefined, after: CaRotationStatus | undefined): { reason: string; message: string } | null {
  if (after === undefined || after.phase === before) return null;
  return { reason: `CARotation${after.phase}`, message: `CA rotation ${after.phase === 'Done' ? 'done' : `phase ${after.phase}`}: ${after.message}` };
}

/** The line `irisctl --kube CLUSTER status` shows while the CA rotates (null: none under way). */
export function caRotationLine(tls: TlsStatus | undefined): string | null {
  const r = tls?.caRotation;
  return r !== undefined && rotationUnderWay(r.phase) ? `CA rotation ${r.phase} (since ${r.lastTransitionTime}): ${r.message}` : null;
}
