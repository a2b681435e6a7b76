/**
 * Step "requests": carries a failover or switchover asked through the
 * resource's `irisdb.io/request` annotation (../request.ts) to the
 * controller, at most once: status.request says Handling before the
 * controller hears of it, then Started (with the controller's id) or
 * Refused, and an Event says the same. A status write that fails leaves
 * the request unhandled (retried next pass) only before the controller was
 * asked; afterwards this instance remembers it handled it.
 */
import { errorText } from '../errors.js';
import { IRISCLUSTERS, resourcePath } from '../paths.js';
import { type ClusterRequest, decideRequest, REQUEST_ANNOTATION, type RequestPhase, type RequestStatus } from '../request.js';
import { NOTHING, type StepContext, type StepReport } from './context.js';
import { REENCRYPT_DONE, ReencryptRequests, reencryptFinished } from './reencrypt-request.js';
import { ROTATE_CA_OPERATION } from './security.js';
import { rotateCaRefusal, startCaRotation } from './tls-ca-rotation.js';
import { CA_DAYS } from './tls-renewal.js';

/** How often a re-encryption's progress is read from the nodes into status. */
const REENCRYPT_POLL_MS = 2000;

/** Annotations handled by this instance, newest last (bounded: only the latest ever matters). */
const REMEMBERED = 16;

export class RequestStep {
  private readonly handled: string[] = [];
  private reencryptPolledAt = 0;

  /** caDays: the lifetime of the CA a rotate-ca request makes (IRIS_OPERATOR_CA_DAYS). */
  constructor(private readonly reencrypt = new ReencryptRequests(), private readonly caDays: () => number = () => CA_DAYS) {}

  async run(ctx: StepContext): Promise<StepReport> {
    const cr = ctx.resource();
    const decision = decideRequest(cr.metadata.annotations?.[REQUEST_ANNOTATION], cr.status?.request, new Set(this.handled));
    switch (decision.do) {
      case 'none':
        return this.followReencrypt(ctx);
      case 'refuse':
        await this.write(ctx, { annotation: decision.annotation, phase: 'Refused', message: decision.message, operation: '' });
        this.remember(decision.annotation);
        ctx.event({ type: 'Warning', reason: 'RequestRefused', message: decision.message });
        return NOTHING;
      case 'interrupted': {
        const message = 'the operator stopped while handling this request: it may or may not have started (see the shard\'s epoch and primary); ask again if needed';
        await this.write(ctx, { annotation: decision.annotation, phase: 'Interrupted', message, operation: '' });
        this.remember(decision.annotation);
        ctx.event({ type: 'Warning', reason: 'RequestInterrupted', message: `${decision.annotation}: ${message}` });
        return NOTHING;
      }
      case 'handle':
        // Recorded first: if this write fails nothing happened and the next pass tries again.
        await this.write(ctx, { annotation: decision.annotation, phase: 'Handling', message: `asking the controller: ${describe(decision.request)}`, operation: '' });
        this.remember(decision.annotation);
        return this.handle(ctx, decision.annotation, decision.request);
    }
  }

  private async handle(ctx: StepContext, annotation: string, r: ClusterRequest): Promise<StepReport> {
    let phase: RequestPhase;
    let message: string;
    let operation = '';
    if (r.verb === 're-encrypt') return this.handleReencrypt(ctx, annotation, r.id);
    if (r.verb === 'rotate-ca') return this.handleRotateCa(ctx, annotation, r.id);
    try {
      const accepted = r.verb === 'failover' ? await ctx.controller.failover(r.shard) : await ctx.controller.switchover(r.shard, r.to);
      phase = 'Started';
      operation = accepted.id;
      message = accepted.message;
      ctx.event({ type: 'Normal', reason: r.verb === 'failover' ? 'FailoverRequested' : 'SwitchoverRequested', message: `${describe(r)}: ${accepted.message} (${accepted.id})` });
    } catch (err) {
      phase = 'Refused';
      message = `${describe(r)} refused: ${errorText(err)}`;
      ctx.event({ type: 'Warning', reason: 'RequestRefused', message });
    }
    ctx.logger.info('request through the resource', { annotation, phase, operation, message });
    try {
      await this.write(ctx, { annotation, phase, message, operation });
    } catch (err) {
      // The request ran (or was refused) already; the Event says so. Reported until a later request.
      return { progress: null, problem: `recording the outcome of ${REQUEST_ANNOTATION} "${annotation}" failed: ${errorText(err)}` };
    }
    return NOTHING;
  }

  private async handleReencrypt(ctx: StepContext, annotation: string, id: string): Promise<StepReport> {
    let phase: RequestPhase = 'Started';
    let message: string;
    try {
      message = await this.reencrypt.start(ctx);
      ctx.event({ type: 'Normal', reason: 'ReencryptRequested', message });
    } catch (err) {
      phase = 'Refused';
      message = `re-encrypt refused: ${errorText(err)}`;
      ctx.event({ type: 'Warning', reason: 'RequestRefused', message });
    }
    ctx.logger.info('request through the resource', { annotation, phase, message });
    await this.write(ctx, { annotation, phase, message, operation: phase === 'Started' ? `re-encrypt-${id}` : '' });
    this.reencryptPolledAt = Date.now();
    return NOTHING;
  }

  /**
   * rotate-ca: the new CA is made (kept beside the current one in <cluster>-ca) while status says Handling,
   * then Started; the security step sees the operation and moves the pods through the phases (tls-ca-rotation.ts).
   */
  private async handleRotateCa(ctx: StepContext, annotation: string, id: string): Promise<StepReport> {
    let refused = rotateCaRefusal(ctx.resource());
    let made = '';
    if (refused === null) {
      try {
        made = await startCaRotation(ctx.client, ctx.resource(), annotation, this.caDays());
      } catch (err) {
        refused = errorText(err);
      }
    }
    const message = refused ?? `${made}; follow status.tls.caRotation`;
    ctx.event(refused === null ? { type: 'Normal', reason: 'CARotationRequested', message: `${annotation}: ${message}` } : { type: 'Warning', reason: 'RequestRefused', message: `rotate-ca refused: ${refused}` });
    ctx.logger.info('request through the resource', { annotation, phase: refused === null ? 'Started' : 'Refused', message });
    await this.write(ctx, { annotation, phase: refused === null ? 'Started' : 'Refused', message, operation: refused === null ? `${ROTATE_CA_OPERATION}${id}` : '' });
    return NOTHING;
  }

  /** While the latest request is a re-encryption under way: its progress in status.request.message (every REENCRYPT_POLL_MS). */
  private async followReencrypt(ctx: StepContext): Promise<StepReport> {
    const s = ctx.resource().status?.request;
    if (s === undefined || s.phase !== 'Started' || !s.operation.startsWith('re-encrypt-') || reencryptFinished(s.message)) return NOTHING;
    if (Date.now() - this.reencryptPolledAt < REENCRYPT_POLL_MS) return NOTHING;
    this.reencryptPolledAt = Date.now();
    try {
      const message = await this.reencrypt.progress(ctx);
      if (message !== s.message) await this.write(ctx, { annotation: s.annotation, phase: s.phase, message, operation: s.operation });
      if (reencryptFinished(message)) ctx.event({ type: message.startsWith(REENCRYPT_DONE) ? 'Normal' : 'Warning', reason: message.startsWith(REENCRYPT_DONE) ? 'ReencryptDone' : 'ReencryptFailed', message });
      return reencryptFinished(message) ? NOTHING : { progress: message, problem: null };
    } catch (err) {
      return { progress: null, problem: `following re-encryption: ${errorText(err)}` };
    }
  }

  private remember(annotation: string): void {
    this.handled.push(annotation);
    if (this.handled.length > REMEMBERED) this.handled.shift();
  }

  /** A merge patch of status.request alone (the status step's own patches leave it be); the uid pins the object. */
  private async write(ctx: StepContext, s: Omit<RequestStatus, 'time'>): Promise<void> {
    const request: RequestStatus = { ...s, time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
    await ctx.client.mergePatch(resourcePath(IRISCLUSTERS, ctx.namespace, ctx.cluster, 'status'), { metadata: { uid: ctx.resource().metadata.uid }, status: { request } });
  }
}

function describe(r: ClusterRequest): string {
  if (r.verb === 're-encrypt') return 're-encrypt of every node';
  if (r.verb === 'rotate-ca') return 'rotation of the cluster\'s CA';
  return r.verb === 'switchover' && r.to !== undefined ? `switchover of ${r.shard} to ${r.to}` : `${r.verb} of ${r.shard}`;
}
