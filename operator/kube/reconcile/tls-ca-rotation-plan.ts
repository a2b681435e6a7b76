/**
 * The operator's CA rotation (docs/security.md "CA rotation"), decided from
 * observed facts; no I/O. The new CA waits in the CA Secret beside the
 * current one while the pods, whose Secret volumes the kubelet refreshes at
 * different times, move in three phases, so that no two pods ever fail to
 * trust each other's certificate on the bus's mutual TLS:
 *   TrustBoth: the pods' ca.crt holds old + new CA; wait until every pod
 *              reports both (the operator's own node clients have the
 *              bundle from the moment it is written: tls-ca-rotation.ts);
 *   ServeNew:  the server certificate comes from the new CA; wait until
 *              every pod serves it;
 *   DropOld:   the new CA becomes the CA, ca.crt holds it alone; wait until
 *              every pod trusts only it; then Done.
 */

export type CaRotationPhase = 'TrustBoth' | 'ServeNew' | 'DropOld' | 'Done';

/** What one pod reported of its TLS files (GET /admin/tls), or why it did not. */
export type PodTlsObservation =
  | { readonly pod: string; readonly caFingerprints: readonly string[]; readonly certificate: string | null }
  | { readonly pod: string; readonly error: string };

export interface CaRotationFacts {
  /** The CA that signs now (ca.crt of <cluster>-ca). */
  readonly ca: { readonly fingerprint: string; readonly notBefore: number; readonly notAfter: number };
  /** The CA being rotated to (next-ca.crt of <cluster>-ca), null: no rotation under way. */
  readonly next: { readonly fingerprint: string } | null;
  /** The fingerprints in ca.crt of the Secret the pods mount; null: no such Secret yet. */
  readonly bundle: readonly string[] | null;
  /** The server certificate in that Secret: its fingerprint and which CA signed it. */
  readonly served: { readonly fingerprint: string; readonly signedBy: 'ca' | 'next' | 'other' } | null;
  /** What the pods report; null: not asked (no rotation under way, or no pod known yet). */
  readonly pods: readonly PodTlsObservation[] | null;
  readonly now: number;
}

export interface CaRotationLimits {
  /** Rotate when less than this share of the CA's lifetime is left. */
  readonly renewFraction: number;
}

export type CaRotationAction =
  /** Nothing to do for the CA (the server certificate's own renewal still applies). */
  | { readonly do: 'none' }
  /** Make a new CA and keep it as next (the CA's renewal is due). */
  | { readonly do: 'start'; readonly reason: string }
  /** Write ca.crt of the pods' Secret: both CAs (current first) or the current alone. */
  | { readonly do: 'write-bundle'; readonly bundle: 'both' | 'current'; readonly phase: CaRotationPhase; readonly message: string }
  /** Issue the server certificate from the next CA. */
  | { readonly do: 'issue-from-next'; readonly phase: 'ServeNew'; readonly message: string }
  /** The next CA becomes the CA (and ca.crt holds it alone). */
  | { readonly do: 'promote'; readonly phase: 'DropOld'; readonly message: string }
  | { readonly do: 'wait'; readonly phase: CaRotationPhase; readonly message: string }
  /** Every pod trusts only the current CA: the rotation (if one ran) is over. */
  | { readonly do: 'done'; readonly phase: 'Done'; readonly message: string };

const DAY_MS = 86_400_000;

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The first 16 hex digits of a fingerprint, for messages. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').slice(0, 16).toLowerCase();
}

/** The pods that do not yet satisfy `ok`, named with why ("iris-shard-1-0 (unreachable: ...)"). */
function lagging(pods: readonly PodTlsObservation[], ok: (p: Extract<PodTlsObservation, { caFingerprints: readonly string[] }>) => boolean): string[] {
  return pods.flatMap((p) => ('error' in p ? [`${p.pod} (unreachable: ${p.error})`] : ok(p) ? [] : [p.pod]));
}

export function decideCaRotation(f: CaRotationFacts, limits: CaRotationLimits): CaRotationAction {
  if (f.bundle === null || f.served === null) return { do: 'none' }; // the first certificate is issued by the ordinary path
  const ca = f.ca.fingerprint;
  if (f.next === null) {
    // The pods are asked only while a rotation is under way; otherwise a wrong ca.crt is a repair for the ordinary path.
    if (f.pods !== null && !sameSet(f.bundle, [ca])) {
      return { do: 'write-bundle', bundle: 'current', phase: 'DropOld', message: `dropping the old CA: ca.crt now holds only CA ${shortFingerprint(ca)}` };
    }
    if (f.pods !== null) {
      const behind = lagging(f.pods, (p) => sameSet(p.caFingerprints, [ca]));
      if (f.pods.length === 0 || behind.length > 0) {
        return { do: 'wait', phase: 'DropOld', message: `waiting for ${f.pods.length === 0 ? 'the pods to be known' : behind.join(', ')} to drop the old CA (Secret volume refresh)` };
      }
      return { do: 'done', phase: 'Done', message: `every pod trusts only CA ${shortFingerprint(ca)}, valid until ${new Date(f.ca.notAfter).toISOString()}` };
    }
    const lifetime = f.ca.notAfter - f.ca.notBefore;
    const left = f.ca.notAfter - f.now;
    if (left < lifetime * limits.renewFraction) {
      return { do: 'start', reason: `CA renewal due: ${left <= 0 ? 'expired' : `${Math.floor(left / DAY_MS)} days left of ${Math.round(lifetime / DAY_MS)}`}` };
    }
    return { do: 'none' };
  }
  const next = f.next.fingerprint;
  if (f.served.signedBy !== 'next') {
    // Phase 1: both CAs trusted everywhere before any pod presents a certificate from the new one.
    if (!sameSet(f.bundle, [ca, next])) {
      return { do: 'write-bundle', bundle: 'both', phase: 'TrustBoth', message: `ca.crt now holds the old CA ${shortFingerprint(ca)} and the new CA ${shortFingerprint(next)}` };
    }
    const pods = f.pods ?? [];
    const behind = lagging(pods, (p) => p.caFingerprints.includes(ca) && p.caFingerprints.includes(next));
    if (pods.length === 0 || behind.length > 0) {
      return { do: 'wait', phase: 'TrustBoth', message: `waiting for ${pods.length === 0 ? 'the pods to be known' : behind.join(', ')} to trust the new CA ${shortFingerprint(next)} (Secret volume refresh)` };
    }
    return { do: 'issue-from-next', phase: 'ServeNew', message: `every pod trusts both CAs: server certificate issued by the new CA ${shortFingerprint(next)}` };
  }
  // Phase 2: the certificate is the new CA's; every pod must serve it before the old CA goes.
  const pods = f.pods ?? [];
  const behind = lagging(pods, (p) => p.certificate === f.served!.fingerprint);
  if (pods.length === 0 || behind.length > 0) {
    return { do: 'wait', phase: 'ServeNew', message: `waiting for ${pods.length === 0 ? 'the pods to be known' : behind.join(', ')} to serve the certificate of the new CA ${shortFingerprint(next)}` };
  }
  return { do: 'promote', phase: 'DropOld', message: `every pod serves the new CA's certificate: CA ${shortFingerprint(next)} replaces ${shortFingerprint(ca)}; ca.crt holds it alone` };
}

/** Phases during which the pods are asked what they trust and serve (every reconcile pass). */
export function rotationUnderWay(phase: CaRotationPhase | undefined): boolean {
  return phase === 'TrustBoth' || phase === 'ServeNew' || phase === 'DropOld';
}
