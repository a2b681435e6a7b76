/**
 * Asks each node of a cluster (the controller's view, as re-encrypt does)
 * what its TLS files hold: GET /admin/tls with the admin token, over HTTPS
 * verified against the CA bundle given (both CAs during a rotation, since a
 * pod may serve a certificate from either) under the client Service's name.
 * A node that does not answer, has no address yet, or that a StatefulSet
 * should have but the controller does not know, is reported with why
 * (tls-probe-targets.ts): the rotation waits for it.
 */
import { type FetchLike, nodeFetch } from '../../../common/node-fetch.js';
import type { TlsReport } from '../../../node/tls/tls-report.js';
import { errorText } from '../errors.js';
import { nodeServerName } from './node-https.js';
import { ensureToken } from './resources.js';
import type { StepContext } from './context.js';
import type { PodTlsObservation } from './tls-ca-rotation-plan.js';
import type { PodTlsProbe } from './tls-ca-rotation.js';
import { expectedPods, probeTargets } from './tls-probe-targets.js';

const TIMEOUT_MS = 5000;

function parseReport(body: unknown): { caFingerprints: string[]; certificate: string | null } {
  const r = body as Partial<TlsReport> | null;
  if (r === null || typeof r !== 'object' || !Array.isArray(r.caFingerprints) || !r.caFingerprints.every((f) => typeof f === 'string')) {
    throw new Error('GET /admin/tls answered something else than a TLS report (a node older than the CA rotation?)');
  }
  const fp = r.certificate?.fingerprint256;
  return { caFingerprints: [...r.caFingerprints], certificate: typeof fp === 'string' ? fp : null };
}

async function ask(fetchImpl: FetchLike, pod: string, httpUrl: string, token: string): Promise<PodTlsObservation> {
  try {
    const res = await fetchImpl(new URL('/admin/tls', httpUrl).toString(), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) return { pod, error: `HTTP ${res.status}` };
    return { pod, ...parseReport(await res.json()) };
  } catch (err) {
    return { pod, error: errorText(err) };
  }
}

/** The probe of one reconcile pass; `fetchFor` makes the HTTPS client for a CA bundle (tests may give another). */
export function podTlsProbe(ctx: StepContext, fetchFor: (trustPem: string) => FetchLike = (trustPem) => nodeFetch({ caPem: () => trustPem, serverName: nodeServerName(ctx.cluster, ctx.namespace) })): PodTlsProbe {
  return async (trustPem) => {
    const known = ctx.controller.status().shards.flatMap((s) => s.nodes).map((n) => ({ name: n.name, httpUrl: n.httpUrl }));
    const sets = ctx.statefulSets().map((s) => ({ name: s.metadata?.name ?? '', replicas: s.spec?.replicas ?? 0 }));
    const targets = probeTargets(known, expectedPods(sets));
    if (targets.every((t) => 'error' in t)) return targets as PodTlsObservation[]; // no token needed: nothing to ask
    const token = await ensureToken(ctx.client, ctx.resource());
    const fetchImpl = fetchFor(trustPem);
    return Promise.all(targets.map((t) => ('httpUrl' in t ? ask(fetchImpl, t.pod, t.httpUrl, token) : t)));
  };
}
