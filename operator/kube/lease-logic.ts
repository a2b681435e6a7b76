/**
 * Leader election on a coordination.k8s.io/v1 Lease, the decision part
 * (client-go's leaderelection, simplified): a lease is free when nobody
 * holds it or when its record has not changed for a whole lease duration
 * as measured on OUR clock since we last saw it change (so clock skew
 * between operator pods does not matter). Pure.
 */

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface LeaseObservation {
  /** The record as last read (null: no Lease object). */
  readonly spec: LeaseSpec | null;
  /** Our clock when the record last changed (or was first seen). */
  readonly observedAt: number;
}

export type LeaseDecision =
  | { readonly action: 'create'; readonly spec: LeaseSpec }
  | { readonly action: 'update'; readonly spec: LeaseSpec; readonly acquired: boolean }
  | { readonly action: 'wait'; readonly holder: string };

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function decideLease(obs: LeaseObservation, me: string, now: number, durationSeconds: number): LeaseDecision {
  const t = microTime(now);
  if (obs.spec === null) {
    return { action: 'create', spec: { holderIdentity: me, leaseDurationSeconds: durationSeconds, acquireTime: t, renewTime: t, leaseTransitions: 0 } };
  }
  const holder = obs.spec.holderIdentity ?? '';
  if (holder === me) {
    return { action: 'update', acquired: false, spec: { ...obs.spec, leaseDurationSeconds: durationSeconds, renewTime: t } };
  }
  const held = holder !== '' && now < obs.observedAt + (obs.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
  if (held) return { action: 'wait', holder };
  return {
    action: 'update', acquired: true,
    spec: { holderIdentity: me, leaseDurationSeconds: durationSeconds, acquireTime: t, renewTime: t, leaseTransitions: (obs.spec.leaseTransitions ?? 0) + (holder === '' ? 0 : 1) },
  };
}

/** The observation after reading `spec` at `now`: observedAt moves only when the record changed. */
export function observe(prev: LeaseObservation | null, spec: LeaseSpec | null, now: number): LeaseObservation {
  if (prev !== null && sameRecord(prev.spec, spec)) return prev;
  return { spec, observedAt: now };
}

function sameRecord(a: LeaseSpec | null, b: LeaseSpec | null): boolean {
  if (a === null || b === null) return a === b;
  return a.holderIdentity === b.holderIdentity && a.renewTime === b.renewTime && a.acquireTime === b.acquireTime && a.leaseTransitions === b.leaseTransitions;
}
