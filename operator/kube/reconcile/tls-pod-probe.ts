/**
 * Asks each node of a cluster (the controller's view, as re-encrypt does)
 * what its TLS files hold: GET /admin/tls with the admin token, over HTTPS
 * verified against the CA bundle given (both CAs during a rotation, since a
 * pod may serve a certificate from either) under the client Service's name.
 * A node that does not answer is reported with why: the rotation waits for it.
 */
import { type FetchLike, nodeFetch } from '../../../common/node-fetch.js';
import type { TlsReport } from '../../../node/tls/tls-report.js';
import { errorText } from '../errors.js';
import { nodeServerName } from './node-https.js';
import { ensureToken } from './resources.js';
import type { StepContext } from './context.js';
import type { PodTlsObservation } from './tls-ca-rotation-plan.js';
import type { PodTlsProbe } from './tls-ca-rotation.js';

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
    const nodes = ctx.controller.status().shards.flatMap((s) => s.nodes).filter((n) => n.httpUrl !== null);
    if (nodes.length === 0) return [];
    const token = await ensureToken(ctx.client, ctx.resource());
    const fetchImpl = fetchFor(trustPem);
    return Promise.all(nodes.map((n) => ask(fetchImpl, n.name, n.httpUrl!, token)));
  };
}
