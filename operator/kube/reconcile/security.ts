/**
 * Step "security": the Secrets the pods of a cluster with spec.auth or
 * spec.tls mount — the aclfile from the user's password (checked every
 * pass, so a rotation reaches the nodes quickly) and the TLS material
 * (checked at most every TLS_CHECK_MS, or when the spec changes). Runs
 * before the controller starts too: new pods need these Secrets to start.
 */
import type { Logger } from '../../../common/logger.js';
import type { KubeClient } from '../client.js';
import { errorText } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { AclChecker, ensureAclSecret } from './auth-acl.js';
import { NOTHING, type StepContext, type StepReport } from './context.js';
import { ensureTls } from './tls-certificates.js';
import { TlsWaitError } from './cert-manager-certificate.js';
import { KeyringChecker } from './encryption-keyring.js';

const TLS_CHECK_MS = 5 * 60_000;

type Event = (e: { type: 'Normal' | 'Warning'; reason: string; message: string }) => void;
/** Hears the nodes' certificate expiry (ms since the epoch) each time TLS is checked; null: TLS off or unreadable. */
type ExpirySink = (notAfter: number | null) => void;

export class SecurityStep {
  private tlsCheckedAt = 0;
  private tlsCheckedGeneration = -1;
  private lastProblem: string | null = null;
  private readonly acl = new AclChecker();
  private readonly keyring = new KeyringChecker();

  /** Throws what went wrong (setup retries it); `event` hears of a password rotation or a certificate issued. */
  async ensure(client: KubeClient, cr: IrisCluster, logger: Logger, event: Event, expiry: ExpirySink = () => {}, now = Date.now()): Promise<void> {
    const acl = await ensureAclSecret(client, cr, this.acl);
    if (acl === 'updated') {
      logger.info('users changed: aclfile Secret rewritten; nodes reload it when the kubelet refreshes their volume');
      event({ type: 'Normal', reason: 'PasswordChanged', message: 'spec.auth password or users changed: the nodes take them without a restart once their Secret volume is refreshed' });
    }
    await this.keyring.check(client, cr, logger, event);
    const generation = cr.metadata.generation ?? 0;
    if (generation === this.tlsCheckedGeneration && now - this.tlsCheckedAt < TLS_CHECK_MS) return;
    const tls = await ensureTls(client, cr, now);
    this.tlsCheckedAt = now;
    this.tlsCheckedGeneration = generation;
    expiry(tls?.notAfter ?? null);
    if (tls !== null && tls.issued !== null) {
      logger.info('TLS certificate issued', { reason: tls.issued });
      event({ type: 'Normal', reason: 'CertificateIssued', message: `server certificate issued by the cluster's CA (${tls.issued}); nodes re-read it without a restart` });
    }
  }

  /** The step of a reconcile pass: a problem in status and one Warning Event per new problem. */
  async run(ctx: StepContext): Promise<StepReport> {
    try {
      const labels = { namespace: ctx.namespace, cluster: ctx.cluster };
      const gauge = ctx.metrics.tlsCertificateExpiry;
      await this.ensure(ctx.client, ctx.resource(), ctx.logger, ctx.event, (t) => (t === null ? gauge.remove(labels) : gauge.set(labels, t / 1000)));
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
