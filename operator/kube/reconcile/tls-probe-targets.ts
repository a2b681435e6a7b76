/**
 * Which pods a CA rotation must hear from before it moves on, and where to
 * ask each. Pure. Every pod that mounts the pods' TLS Secret takes part in
 * the bus's mutual TLS, so each one counts: the pods the controller knows
 * (with or without an HTTP address yet) and every pod the StatefulSets
 * should have (spec.replicas), even one the controller has not seen. A pod
 * with no address is reported as not answering, so the rotation waits for
 * it instead of passing it by.
 */

/** A node as the controller sees it (httpUrl null: no address known yet). */
export interface KnownNode {
  readonly name: string;
  readonly httpUrl: string | null;
}

/** A StatefulSet's name and the pods it should have (spec.replicas). */
export interface ExpectedSet {
  readonly name: string;
  readonly replicas: number;
}

export type ProbeTarget =
  | { readonly pod: string; readonly httpUrl: string }
  | { readonly pod: string; readonly error: string };

export const NO_HTTP_ADDRESS = 'no HTTP address';
export const NOT_KNOWN = 'not known to the controller yet';

/** The pod names a set of StatefulSets should have: <set>-0 .. <set>-(replicas-1). */
export function expectedPods(sets: readonly ExpectedSet[]): string[] {
  return sets.flatMap((s) => Array.from({ length: Math.max(0, s.replicas) }, (_, i) => `${s.name}-${i}`));
}

/** Each pod to hear from, once, in name order: its address, or why it cannot be asked. */
export function probeTargets(known: readonly KnownNode[], expected: readonly string[]): ProbeTarget[] {
  const byName = new Map<string, ProbeTarget>();
  for (const n of known) byName.set(n.name, n.httpUrl === null ? { pod: n.name, error: NO_HTTP_ADDRESS } : { pod: n.name, httpUrl: n.httpUrl });
  for (const pod of expected) if (!byName.has(pod)) byName.set(pod, { pod, error: NOT_KNOWN });
  return [...byName.values()].sort((a, b) => a.pod.localeCompare(b.pod));
}
