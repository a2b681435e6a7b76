/**
 * Step "security": the Secrets the pods of a cluster with spec.auth or
 * spec.tls mount — the aclfile from the user's password (checked every
 * pass, so a rotation reaches the nodes quickly) and the TLS material
 * (checked at most every TLS_CHECK_MS, or when the spec changes; every
 * pass while the operator's CA rotates, and at once after a rotate-ca
 * request made the new CA: requests.ts, tls-ca-rotation.ts), with
 * status.tls and an Event per rotation phase. Runs before the controller
 * starts too: new pods need these Secrets to start.
 */
import type { Logger } from '../../../common/logger.js';
import type { KubeClient } from '../client.js';
import { errorText } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { AclChecker, ensureAclSecret } from './auth-acl.js';
import { NOTHING, type StepContext, type StepReport } from './context.js';
import { type TlsOutcome, ensureTls } from './tls-certificates.js';
import { IRISCLUSTERS, resourcePath } from '../paths.js';
import { rotationUnderWay } from './tls-ca-rotation-plan.js';
import type { PodTlsProbe } from './tls-ca-rotation.js';
import { podTlsProbe } from './tls-pod-probe.js';
import { CA_DAYS } from './tls-renewal.js';
import { rotationEvent, tlsStatusOf } from './tls-status.js';
import { TlsWaitError } from './cert-manager-certificate.js';
import { KeyringChecker } from './encryption-keyring.js';
import type { CaWritten } from './node-https.js';

const TLS_CHECK_MS = 5 * 60_000;

type Event = (e: { type: 'Normal' | 'Warning'; reason: string; message: string }) => void;
/** Hears the nodes' certificate's and the operator CA's expiry (ms since the epoch) each time TLS is checked; null: TLS off, unreadable, or not the operator's CA. */
type ExpirySink = (notAfter: number | null, caNotAfter: number | null) => void;

/** The operation status.request names for a rotate-ca request (requests.ts). */
export const ROTATE_CA_OPERATION = 'rotate-ca-';

export class SecurityStep {
  private tlsCheckedAt = 0;
  private tlsCheckedGeneration = -1;
  private lastProblem: string | null = null;
  private readonly acl = new AclChecker();
  private readonly keyring = new KeyringChecker();
  private rotating = false;
  private seenRotateRequest: string | undefined;
  private lastTlsStatusKey = '';

  /**
   * caDays: the lifetime of a CA the operator makes (IRIS_OPERATOR_CA_DAYS), asked when one is made;
   * caWritten: the cluster's ClusterCa (node-https.ts), told each ca.crt this step writes.
   */
  constructor(private readonly caDays: () => number = () => CA_DAYS, private readonly caWritten: CaWritten | null = null) {}

  /** Throws what went wrong (setup retries it); `event` hears of a password rotation or a certificate issued. */
  async ensure(client: KubeClient, cr: IrisCluster, logger: Logger, event: Event, expiry: ExpirySink = () => {}, now = Date.now(), probe: PodTlsProbe | null = null): Promise<TlsOutcome | undefined> {
    const acl = await ensureAclSecret(client, cr, this.acl);
    if (acl === 'updated') {
      logger.info('users changed: aclfile Secret rewritten; nodes reload it when the kubelet refreshes their volume');
      event({ type: 'Normal', reason: 'PasswordChanged', message: 'spec.auth password or users changed: the nodes take them without a restart once their Secret volume is refreshed' });
    }
    await this.keyring.check(client, cr, logger, event);
    const generation = cr.metadata.generation ?? 0;
    const req = cr.status?.request;
    const request = req?.phase === 'Started' && req.operation.startsWith(ROTATE_CA_OPERATION) ? req.annotation : undefined;
    const requested = request !== undefined && request !== this.seenRotateRequest;
    const underWay = this.rotating || rotationUnderWay(cr.status?.tls?.caRotation?.phase);
    if (!underWay && !requested && generation === this.tlsCheckedGeneration && now - this.tlsCheckedAt < TLS_CHECK_MS) return undefined;
    const tls = await ensureTls(client, cr, now, { caDays: this.caDays(), probe, underWay: underWay || requested, caWritten: this.caWritten });
    this.tlsCheckedAt = now;
    this.tlsCheckedGeneration = generation;
    this.seenRotateRequest = request;
    this.rotating = tls?.rotation !== null && tls?.rotation !== undefined && rotationUnderWay(tls.rotation.phase ?? undefined);
    expiry(tls?.notAfter ?? null, tls?.caNotAfter ?? null);
    if (tls !== null && tls.issued !== null) {
      logger.info('TLS certificate issued', { reason: tls.issued });
      event({ type: 'Normal', reason: 'CertificateIssued', message: `server certificate issued by the cluster's CA (${tls.issued}); nodes re-read it without a restart` });
    }
    return tls;
  }

  /** status.tls (a merge patch of it alone, when it changed) and an Event when the CA rotation's phase changed. */
  private async recordTls(ctx: StepContext, tls: TlsOutcome, now: number): Promise<void> {
    if (tls === null) return;
    const cr = ctx.resource();
    const previous = cr.status?.tls;
    const next = tlsStatusOf(tls, previous, now);
    const key = JSON.stringify(next);
    if (key === this.lastTlsStatusKey || key === JSON.stringify(previous)) return;
    await ctx.client.mergePatch(resourcePath(IRISCLUSTERS, ctx.namespace, ctx.cluster, 'status'), { metadata: { uid: cr.metadata.uid }, status: { tls: next } });
    this.lastTlsStatusKey = key;
    const e = rotationEvent(previous?.caRotation?.phase, next.caRotation);
    if (e !== null) {
      ctx.logger.info('CA rotation', { phase: next.caRotation?.phase, message: next.caRotation?.message });
      ctx.event({ type: 'Normal', ...e });
    }
  }

  /** The step of a reconcile pass: a problem in status and one Warning Event per new problem. */
  async run(ctx: StepContext): Promise<StepReport> {
    try {
      const labels = { namespace: ctx.namespace, cluster: ctx.cluster };
      const gauge = ctx.metrics.tlsCertificateExpiry;
      const set = (kind: 'server' | 'ca', t: number | null): void => (t === null ? void gauge.remove({ ...labels, kind }) : gauge.set({ ...labels, kind }, t / 1000));
      const now = Date.now();
      const tls = await this.ensure(ctx.client, ctx.resource(), ctx.logger, ctx.event, (t, ca) => { set('server', t); set('ca', ca); }, now, podTlsProbe(ctx));
      if (tls !== undefined) await this.recordTls(ctx, tls, now);
      this.lastProblem = null;
      return NOTHING;
    } catch (err) {
      const problem = `security: ${errorText(err)}`;
      const reason = err instanceof TlsWaitError ? err.reason : 'SecuritySecretsFailed';
      if (problem !== this.lastProblem) ctx.event({ type: 'Warning', reason, message: problem });
      this.lastProblem = problem;
      return { progress: null, problem };
    }
  }
}
