/**
 * Changes of primary, carried out stage by stage from the recorded progress
 * (core/state.ts FailoverProgress). Every stage is idempotent and the next
 * stage is committed before the controller acts on it, so a controller
 * restarted at any point finishes the same failover:
 *
 * failover (the primary is gone):
 *   fence    re-point every survivor at the old primary with fenceEpoch (their
 *            streams stop, the old primary if alive learns it is deposed),
 *            read their positions, choose under the quorum rule; record
 *            targetPrimary — or stay here, saying why, when too few answered
 *   promote  the candidate becomes primary at promoteEpoch, the others its replicas
 *   publish  the map names the new primary; currentPrimary recorded
 * switchover (planned; the primary answers):
 *   restrict the primary counts only the candidate's acknowledgements
 *   catchup  wait until the candidate has all the primary wrote before that
 *   promote  demote the old primary, promote the candidate; then publish
 *
 * What to do at each stage is decided in core/failover-step.ts; this runner
 * makes the node calls and commits what was decided.
 */
import { AdminApiError } from '../../common/admin-client.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { chooseSwitchoverCandidate } from '../core/failover-choice.js';
import {
  afterCandidateLost, afterCatchup, afterFence, afterPromote, afterRestrict, alreadyPromoted, fenceChoice, fencePlan,
  newFailover, oldPrimaryIntact, promotePlan, publishPatch, restrictRecord, startedEvent, switchoverToFailover,
  type StepDecision,
} from '../core/failover-step.js';
import { primaryFailure } from '../core/health.js';
import type { FailoverProgress, FailoverStage, ShardState } from '../core/state.js';
import { ControlError } from '../control-api/types.js';
import { peerAddress } from './addresses.js';
import { errorText, type ControllerContext } from './context.js';
import type { Heartbeat } from './heartbeat.js';
import { shardById, withShardPatch } from './shard-update.js';

export interface FailoverRunnerOptions {
  /**
   * Test-only: stop every change of primary before it acts on this stage, so
   * a test can kill the controller at a chosen point of a failover and check
   * that its successor (started without it) resumes. Never set in use.
   */
  readonly holdStage?: FailoverStage | null;
}

export class FailoverRunner {
  private readonly holdStage: FailoverStage | null;

  constructor(private readonly ctx: ControllerContext, private readonly heartbeat: Heartbeat, opts: FailoverRunnerOptions = {}) {
    this.holdStage = opts.holdStage ?? null;
    if (this.holdStage !== null) ctx.logger.warn(`holdFailoverStage is set (test only): changes of primary stop before stage ${this.holdStage}`);
  }

  /** Starts a failover for every shard whose primary counts as failed. */
  async detect(): Promise<void> {
    const { state } = this.ctx;
    if (state.map === null) return; // bootstrapping: nothing has been acknowledged yet
    for (const shard of state.shards) {
      // A shard being added is not in the map yet: nothing to fail over (its nodes may still be starting).
      if (shard.failover !== null || !state.map.shards.some((s) => s.id === shard.id)) continue;
      const obs = this.ctx.observations.get(shard.currentPrimary);
      if (obs === undefined) continue;
      const reason = primaryFailure({
        missed: obs.missed,
        failureThreshold: state.spec.failureThreshold,
        running: obs.running,
        exitedSinceLastAnswer: this.heartbeat.exited(shard.currentPrimary),
      });
      if (reason === null) continue;
      if (shard.members.length < 2) {
        this.ctx.logger.warn('primary failed and its shard has no replica to promote; waiting for it to restart', { shard: shard.id, primary: shard.currentPrimary, reason });
        continue;
      }
      await this.start(shard, 'failover', `${shard.currentPrimary} failed: ${reason}`, null);
    }
  }

  /** A user's request: fail over now (whatever the primary's health). */
  async requestFailover(shardId: string): Promise<string> {
    const shard = this.requestable(shardId);
    if (shard.members.length < 2) throw new ControlError('conflict', `${shardId} has no replica to promote`);
    return this.start(shard, 'failover', 'requested by a user', null);
  }

  /** A user's request (or a graceful stop): hand the primary role over without losing a write. */
  async requestSwitchover(shardId: string, to?: string, why = 'requested by a user'): Promise<string> {
    const shard = this.requestable(shardId);
    if (to !== undefined && (!shard.members.includes(to) || to === shard.currentPrimary)) {
      throw new ControlError('bad_request', `${to} is not a replica of ${shardId} (members: ${shard.members.join(', ')})`);
    }
    const primary = this.ctx.observations.get(shard.currentPrimary)?.status ?? null;
    if (primary === null) throw new ControlError('unavailable', `the primary ${shard.currentPrimary} of ${shardId} does not answer: use failover`);
    const choice = chooseSwitchoverCandidate(primary, to);
    if (!choice.ok) throw new ControlError('conflict', choice.reason);
    return this.start(shard, 'switchover', to === undefined ? why : `${why}, to ${to}`, choice.candidate);
  }

  private requestable(shardId: string): ShardState {
    const shard = shardById(this.ctx.state, shardId);
    if (shard === undefined) throw new ControlError('not_found', `no shard ${shardId} (shards: ${this.ctx.state.shards.map((s) => s.id).join(', ')})`);
    if (this.ctx.state.map === null) throw new ControlError('conflict', 'the cluster is still bootstrapping');
    if (shard.failover !== null) throw new ControlError('conflict', `a ${shard.failover.kind} of ${shardId} is already under way (${shard.failover.id}, stage ${shard.failover.stage})`);
    return shard;
  }

  private async start(shard: ShardState, kind: FailoverProgress['kind'], reason: string, candidate: string | null): Promise<string> {
    const { id, state } = this.ctx.nextId(kind);
    const progress = newFailover(shard, kind, id, reason, candidate, this.ctx.now());
    await this.ctx.commit(withShardPatch(state, shard.id, { failover: progress }));
    const e = startedEvent(shard, progress);
    this.ctx.event(e.type, e.reason, e.message, { shard: shard.id, id });
    return id;
  }

  /** Takes the shard's change of primary as far as it can go now. */
  async progress(shardId: string): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const shard = shardById(this.ctx.state, shardId);
      const f = shard?.failover ?? null;
      if (shard === undefined || f === null || f.stage === this.holdStage) return;
      this.ctx.traces?.at(f.kind, f.id, f.startedAt, f.stage, { 'irisdb.shard': shard.id, 'irisdb.failover.old_primary': f.oldPrimary, 'irisdb.failover.reason': f.reason });
      const before = f.stage;
      switch (f.stage) {
        case 'fence': await this.fence(shard, f); break;
        case 'restrict': await this.restrict(shard, f); break;
        case 'catchup': await this.catchup(shard, f); break;
        case 'promote': await this.promote(shard, f); break;
        case 'publish': await this.publish(shard, f); break;
      }
      const after = shardById(this.ctx.state, shardId)?.failover ?? null;
      if (after === null || after.id !== f.id) this.ctx.traces?.finish(f.id);
      if (after === null || after.stage === before) return;
    }
  }

  /** Records what a stage decided (on disk before anything acts on it), then tells the user. */
  private async apply(shard: ShardState, f: FailoverProgress, d: StepDecision, retryLog: string): Promise<void> {
    if (d.do === 'wait') return;
    if (d.do === 'retry') {
      this.ctx.logger.warn(retryLog, { shard: shard.id, id: f.id, candidate: f.candidate, error: d.why });
      return;
    }
    await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, d.patch));
    if (d.event !== null) this.ctx.event(d.event.type, d.event.reason, d.event.message, { shard: shard.id, id: f.id });
  }

  // ---- failover ------------------------------------------------------------------

  private async fence(shard: ShardState, f: FailoverProgress): Promise<void> {
    const old = peerAddress(this.ctx, f.oldPrimary);
    const plan = fencePlan(shard, f);
    const timeoutMs = this.ctx.state.spec.heartbeatMs * 2;
    // If the old primary still answers (a requested failover, a brief stall), stop it writing now.
    if (plan.demoteOldToFollow !== null) void this.demoteOld(f, plan.demoteOldToFollow);
    const answers = new Map<string, ReplicationStatus | null>();
    await Promise.all(plan.survivors.map(async (name) => {
      const api = this.ctx.api(name, timeoutMs);
      try {
        if (api === null || old === null) throw new Error('no address');
        await api.setRole({ role: 'replica', epoch: f.fenceEpoch, primary: old });
        // Read the position after the stream stopped.
        answers.set(name, await api.replication());
      } catch (err) {
        this.ctx.logger.debug('fencing a survivor failed', { shard: shard.id, node: name, error: errorText(err) });
        answers.set(name, null);
      }
    }));
    const choice = fenceChoice(shard, f, this.ctx.state.spec.minSyncReplicas, answers);
    const oldBack = !choice.ok && f.kind === 'failover' && (await this.oldPrimaryBack(f));
    await this.apply(shard, f, afterFence(shard, f, choice, oldBack, this.ctx.now()), 'fence failed; retrying');
  }

  private async oldPrimaryBack(f: FailoverProgress): Promise<boolean> {
    try {
      const st = await this.ctx.api(f.oldPrimary, this.ctx.state.spec.heartbeatMs * 2)?.replication();
      return oldPrimaryIntact(st ?? null, f.fenceEpoch);
    } catch {
      return false;
    }
  }

  private async demoteOld(f: FailoverProgress, follow: string): Promise<void> {
    const api = this.ctx.api(f.oldPrimary, 1000);
    const to = peerAddress(this.ctx, follow);
    if (api === null || to === null || !this.ctx.up(f.oldPrimary)) return;
    try {
      await api.setRole({ role: 'replica', epoch: f.fenceEpoch, primary: to });
      this.ctx.logger.info('old primary answered and was demoted', { node: f.oldPrimary, epoch: f.fenceEpoch });
    } catch (err) {
      this.ctx.logger.debug('old primary not demoted', { node: f.oldPrimary, error: errorText(err) });
    }
  }

  private async promote(shard: ShardState, f: FailoverProgress): Promise<void> {
    const plan = promotePlan(shard, f, this.ctx.state.spec);
    const timeoutMs = this.ctx.state.spec.heartbeatMs * 4;
    if (plan.stepDown !== null) {
      // The old primary stops writing first: from here the candidate has every acknowledged write.
      const to = peerAddress(this.ctx, plan.candidate);
      try {
        if (to === null) throw new Error(`no address for ${plan.candidate}`);
        await this.ctx.api(plan.stepDown, timeoutMs)!.setRole({ role: 'replica', epoch: f.promoteEpoch, primary: to });
      } catch (err) {
        if (!(err instanceof AdminApiError && err.code === 'conflict')) return this.toFailover(shard, f, `the old primary did not step down: ${errorText(err)}`);
      }
    }
    try {
      const api = this.ctx.api(plan.candidate, timeoutMs);
      if (api === null) throw new Error('no address');
      const st = await api.replication();
      if (!alreadyPromoted(st, f)) await api.setRole({ role: 'primary', epoch: f.promoteEpoch, replicas: [...plan.replicas] });
    } catch (err) {
      const why = errorText(err);
      return this.apply(shard, f, afterCandidateLost(shard, f, this.ctx.observations.get(plan.candidate), this.ctx.state.spec.failureThreshold, why, this.ctx.now()), 'promotion failed; retrying');
    }
    const to = peerAddress(this.ctx, plan.candidate)!;
    await Promise.all(plan.repoint.map(async (name) => {
      try {
        await this.ctx.api(name, timeoutMs)?.setRole({ role: 'replica', epoch: f.promoteEpoch, primary: to });
      } catch (err) {
        // Not fatal: role reconciliation points it at the new primary once it answers.
        this.ctx.logger.debug('re-pointing a replica failed', { node: name, error: errorText(err) });
      }
    }));
    await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, afterPromote(f, this.ctx.now())));
  }

  private async publish(shard: ShardState, f: FailoverProgress): Promise<void> {
    const { state } = this.ctx;
    const p = publishPatch(shard, f, state.map, state.spec, this.ctx.now());
    await this.ctx.commit({ ...withShardPatch(state, shard.id, p.patch), map: p.map });
    this.ctx.event(p.event.type, p.event.reason, p.event.message, { shard: shard.id, id: f.id, tookMs: p.tookMs });
  }

  // ---- switchover ------------------------------------------------------------------

  private async restrict(shard: ShardState, f: FailoverProgress): Promise<void> {
    try {
      const record = restrictRecord(shard, f, this.ctx.state.spec.minSyncReplicas);
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { sync: record }));
      const st = await this.ctx.api(f.oldPrimary)!.setRole({ role: 'primary', epoch: shard.epoch, replicas: [...record.target!.replicas] });
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, afterRestrict(f, record, st.lastSeq, this.ctx.now())));
    } catch (err) {
      await this.toFailover(shard, f, `the primary did not answer: ${errorText(err)}`);
    }
  }

  private async catchup(shard: ShardState, f: FailoverProgress): Promise<void> {
    let st: ReplicationStatus;
    try {
      st = await this.ctx.api(f.oldPrimary)!.replication();
    } catch (err) {
      return this.toFailover(shard, f, `the primary stopped answering: ${errorText(err)}`);
    }
    await this.apply(shard, f, afterCatchup(shard, f, st, this.ctx.now()), 'catchup failed; retrying');
  }

  /** A switchover whose primary stopped answering continues as a failover, above every epoch it may have used. */
  private async toFailover(shard: ShardState, f: FailoverProgress, why: string): Promise<void> {
    const d = switchoverToFailover(shard, f, this.ctx.observations.get(f.oldPrimary), this.ctx.state.spec.failureThreshold, why, this.ctx.now());
    await this.apply(shard, f, d, 'switchover step failed; retrying');
  }
}
