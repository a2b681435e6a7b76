/**
 * Lease leader election: so two replicas of the operator never act on a
 * cluster at once. Every retry period the elector reads the Lease and
 * creates, renews or takes it over (optimistic concurrency: a 409 means
 * someone else wrote first, and we read again). A leader that cannot renew
 * within the renew deadline — shorter than the lease duration, so it steps
 * down before anyone may take over — calls onStoppedLeading at once, then
 * keeps trying to acquire again.
 */
import type { Logger } from '../../common/logger.js';
import type { KubeClient } from './client.js';
import { errorText, isAlreadyExists, isConflict } from './errors.js';
import { decideLease, microTime, observe, type LeaseObservation, type LeaseSpec } from './lease-logic.js';
import { LEASES, resourcePath } from './paths.js';
import { sleep } from '../../common/abortable-sleep.js';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  /** Our identity (the pod name). */
  readonly identity: string;
  readonly leaseDurationSeconds?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  /** Every attempt's outcome, for metrics. */
  readonly onLeadershipChange?: (leader: boolean) => void;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export class LeaderElector {
  private leader = false;
  private lastRenewAt = 0;
  private observed: LeaseObservation | null = null;
  private readonly abort = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private readonly duration: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly client: KubeClient, private readonly opts: LeaderElectionOptions) {
    this.duration = opts.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** Stops electing; a leader releases the lease so a standby takes over without waiting out the duration. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loopDone;
    if (this.leader) {
      this.setLeader(false);
      await this.release().catch((err: unknown) => this.opts.logger.warn('releasing the lease failed', { error: errorText(err) }));
    }
  }

  private path(): string {
    return resourcePath(LEASES, this.opts.namespace, this.opts.name);
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.opts.onLeadershipChange?.(v);
    this.opts.logger.info(v ? 'became the leader' : 'no longer the leader', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
    if (v) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  private async loop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      let renewed = false;
      try {
        renewed = await this.attempt();
      } catch (err) {
        this.opts.logger.warn('leader election attempt failed', { error: errorText(err) });
      }
      const now = Date.now();
      if (renewed) {
        this.lastRenewAt = now;
        this.setLeader(true);
      } else if (this.leader && (now - this.lastRenewAt > this.renewDeadlineMs || this.heldByOther())) {
        this.setLeader(false);
      }
      await sleep(this.retryPeriodMs, this.abort.signal);
    }
  }

  private heldByOther(): boolean {
    const h = this.observed?.spec?.holderIdentity ?? '';
    return h !== '' && h !== this.opts.identity;
  }

  /** One read-decide-write; true when we hold the lease afterwards. */
  private async attempt(): Promise<boolean> {
    const lease = await this.client.find<LeaseObject>(this.path());
    const now = Date.now();
    this.observed = observe(this.observed, lease?.spec ?? null, now);
    const decision = decideLease(this.observed, this.opts.identity, now, this.duration);
    try {
      if (decision.action === 'wait') return false;
      if (decision.action === 'create') {
        await this.client.create(resourcePath(LEASES, this.opts.namespace), {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: decision.spec,
        });
      } else {
        await this.client.replace(this.path(), { ...lease!, spec: decision.spec });
      }
    } catch (err) {
      // Someone else wrote the lease first: not ours this round.
      if (isConflict(err) || isAlreadyExists(err)) return false;
      throw err;
    }
    this.observed = { spec: decision.spec, observedAt: now };
    if (decision.action !== 'update' || decision.acquired) this.opts.logger.info('lease acquired', { identity: this.opts.identity });
    return true;
  }

  private async release(): Promise<void> {
    const lease = await this.client.find<LeaseObject>(this.path());
    if (lease === null || lease.spec?.holderIdentity !== this.opts.identity) return;
    await this.client.replace(this.path(), {
      ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) },
    });
  }
}
