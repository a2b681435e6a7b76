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
 */
import { AdminApiError } from '../../common/admin-client.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { chooseFailoverCandidate, chooseSwitchoverCandidate } from '../core/failover-choice.js';
import { primaryFailure } from '../core/health.js';
import { withShardPrimary } from '../core/slot-plan.js';
import type { FailoverProgress, ShardState } from '../core/state.js';
import { ControlError } from '../control-api/types.js';
import { peerAddress } from './addresses.js';
import { errorText, type ControllerContext } from './context.js';
import type { Heartbeat } from './heartbeat.js';
import { shardById, withShardPatch } from './shard-update.js';

/** A switchover whose candidate does not catch up in this time gives up (the primary keeps its role). */
const CATCHUP_TIMEOUT_MS = 30_000;

/**
 * Test-only: IRISDB_TEST_HOLD_FAILOVER_STAGE=<stage> makes the runner stop
 * every change of primary before it acts on that stage, so an integration
 * test can kill the controller at a chosen point of a failover and check
 * that its successor (started without it) resumes. Never set in use.
 */
const HOLD_ENV = 'IRISDB_TEST_HOLD_FAILOVER_STAGE';

export class FailoverRunner {
  private readonly holdStage: string | null;

  constructor(private readonly ctx: ControllerContext, private readonly heartbeat: Heartbeat) {
    this.holdStage = process.env[HOLD_ENV] || null;
    if (this.holdStage !== null) ctx.logger.warn(`${HOLD_ENV} is set (test only): changes of primary stop before stage ${this.holdStage}`);
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
    const now = this.ctx.now();
    const { id, state } = this.ctx.nextId(kind);
    const progress: FailoverProgress = {
      kind, id, oldPrimary: shard.currentPrimary, reason,
      stage: kind === 'failover' ? 'fence' : 'restrict',
      fenceEpoch: shard.epoch + 1,
      promoteEpoch: kind === 'failover' ? shard.epoch + 2 : shard.epoch + 1,
      candidate, catchupSeq: null, blocked: null, startedAt: now, updatedAt: now,
      // A switchover keeps the other in-sync replicas; a failover learns who answered at the fence.
      inSync: kind === 'switchover' ? shard.sync.replicas.filter((r) => r !== candidate) : [],
    };
    await this.ctx.commit(withShardPatch(state, shard.id, { failover: progress }));
    this.ctx.event(kind === 'failover' ? 'Warning' : 'Normal', kind === 'failover' ? 'FailoverStarted' : 'SwitchoverStarted',
      `${kind} of ${shard.id} started (${id}): ${reason}`, { shard: shard.id, id });
    return id;
  }

  /** Takes the shard's change of primary as far as it can go now. */
  async progress(shardId: string): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const shard = shardById(this.ctx.state, shardId);
      const f = shard?.failover ?? null;
      if (shard === undefined || f === null || f.stage === this.holdStage) return;
      const before = f.stage;
      switch (f.stage) {
        case 'fence': await this.fence(shard, f); break;
        case 'restrict': await this.restrict(shard, f); break;
        case 'catchup': await this.catchup(shard, f); break;
        case 'promote': await this.promote(shard, f); break;
        case 'publish': await this.publish(shard, f); break;
      }
      const after = shardById(this.ctx.state, shardId)?.failover ?? null;
      if (after === null || after.stage === before) return;
    }
  }

  // ---- failover ------------------------------------------------------------------

  private async fence(shard: ShardState, f: FailoverProgress): Promise<void> {
    const old = peerAddress(this.ctx, f.oldPrimary);
    const survivors = shard.members.filter((m) => m !== f.oldPrimary);
    const timeoutMs = this.ctx.state.spec.heartbeatMs * 2;
    // If the old primary still answers (a requested failover, a brief stall), stop it writing now.
    if (survivors.length > 0) void this.demoteOld(f, survivors[0]!);
    const answers = new Map<string, ReplicationStatus | null>();
    await Promise.all(survivors.map(async (name) => {
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
    // The record says on how many of which replicas every acknowledged write is (core/sync-plan.ts):
    // the quorum is over those. With minSyncReplicas 0 nothing is guaranteed anywhere: all must answer.
    const { spec } = this.ctx.state;
    const counted = shard.sync.replicas.filter((r) => r !== f.oldPrimary);
    const acks = spec.minSyncReplicas === 0 ? 0 : shard.sync.acks;
    const choice = counted.length === 0 || (acks === 0 && spec.minSyncReplicas > 0)
      ? { ok: false as const, reason: `no promotion: no replica of ${shard.id} is known to hold every write ${f.oldPrimary} acknowledged (they were acknowledged with ${acks} of ${counted.join(', ') || 'no replica'}); waiting for ${f.oldPrimary} to come back` }
      : chooseFailoverCandidate({ shard: shard.id, oldPrimary: f.oldPrimary, replicas: counted, minSyncReplicas: acks, fenceEpoch: f.fenceEpoch, answers });
    const now = this.ctx.now();
    if (!choice.ok && f.kind === 'failover' && (await this.oldPrimaryBack(f))) {
      // Too few replicas answer, but the old primary is back: it holds every write it acknowledged.
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, {
        targetPrimary: f.oldPrimary,
        failover: { ...f, stage: 'promote', candidate: f.oldPrimary, inSync: [], blocked: null, updatedAt: now },
      }));
      this.ctx.event('Normal', 'CandidateChosen', `${shard.id}: ${f.oldPrimary} answers again and holds every acknowledged write; promoting it back (${choice.reason})`, { shard: shard.id, id: f.id });
      return;
    }
    if (!choice.ok) {
      if (f.blocked !== choice.reason) {
        await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { failover: { ...f, blocked: choice.reason, updatedAt: now } }));
        this.ctx.event('Warning', 'PromotionRefused', `${shard.id}: ${choice.reason}`, { shard: shard.id, id: f.id });
      }
      return;
    }
    // targetPrimary is on disk before any node hears of the promotion.
    await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, {
      targetPrimary: choice.candidate,
      failover: { ...f, stage: 'promote', candidate: choice.candidate, inSync: choice.answered.filter((a) => a !== choice.candidate), blocked: null, updatedAt: now },
    }));
    this.ctx.event('Normal', 'CandidateChosen',
      `${shard.id}: promoting ${choice.candidate} (epoch ${choice.position.epoch}, sequence ${choice.position.seq}; answered: ${choice.answered.join(', ')})`,
      { shard: shard.id, id: f.id });
  }

  /**
   * Whether the old primary answers, not loading, at or below the fence
   * epoch — so nobody has led the shard since it did. (demoteOld made it a
   * replica of a replica, which cannot stream to it: its data is as it was.)
   */
  private async oldPrimaryBack(f: FailoverProgress): Promise<boolean> {
    try {
      const st = await this.ctx.api(f.oldPrimary, this.ctx.state.spec.heartbeatMs * 2)?.replication();
      return st !== undefined && st.epoch <= f.fenceEpoch && !(st.primary?.loading != null || st.primary?.state === 'full_sync');
    } catch {
      return false;
    }
  }

  private async demoteOld(f: FailoverProgress, follow: string): Promise<void> {
    const api = this.ctx.api(f.oldPrimary, 1000);
    const to = peerAddress(this.ctx, follow);
    if (api === null || to === null || this.ctx.observations.get(f.oldPrimary)?.status == null) return;
    try {
      await api.setRole({ role: 'replica', epoch: f.fenceEpoch, primary: to });
      this.ctx.logger.info('old primary answered and was demoted', { node: f.oldPrimary, epoch: f.fenceEpoch });
    } catch (err) {
      this.ctx.logger.debug('old primary not demoted', { node: f.oldPrimary, error: errorText(err) });
    }
  }

  private async promote(shard: ShardState, f: FailoverProgress): Promise<void> {
    const candidate = f.candidate!;
    const others = shard.members.filter((m) => m !== candidate);
    const timeoutMs = this.ctx.state.spec.heartbeatMs * 4;
    if (f.kind === 'switchover') {
      // The old primary stops writing first: from here the candidate has every acknowledged write.
      const to = peerAddress(this.ctx, candidate);
      try {
        if (to === null) throw new Error(`no address for ${candidate}`);
        await this.ctx.api(f.oldPrimary, timeoutMs)!.setRole({ role: 'replica', epoch: f.promoteEpoch, primary: to });
      } catch (err) {
        if (!(err instanceof AdminApiError && err.code === 'conflict')) return this.toFailover(shard, f, `the old primary did not step down: ${errorText(err)}`);
      }
    }
    try {
      const api = this.ctx.api(candidate, timeoutMs);
      if (api === null) throw new Error('no address');
      const st = await api.replication();
      if (!(st.role === 'primary' && st.epoch === f.promoteEpoch)) {
        await api.setRole({ role: 'primary', epoch: f.promoteEpoch, replicas: this.firstReplicas(shard, f) });
      }
    } catch (err) {
      return this.candidateFailed(shard, f, errorText(err));
    }
    const to = peerAddress(this.ctx, candidate)!;
    await Promise.all(others.filter((o) => o !== f.oldPrimary || f.kind === 'switchover').map(async (name) => {
      try {
        await this.ctx.api(name, timeoutMs)?.setRole({ role: 'replica', epoch: f.promoteEpoch, primary: to });
      } catch (err) {
        // Not fatal: role reconciliation points it at the new primary once it answers.
        this.ctx.logger.debug('re-pointing a replica failed', { node: name, error: errorText(err) });
      }
    }));
    await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { failover: { ...f, stage: 'publish', updatedAt: this.ctx.now() } }));
  }

  /** The chosen candidate stopped answering before it was promoted: choose again above every epoch used so far. */
  private async candidateFailed(shard: ShardState, f: FailoverProgress, why: string): Promise<void> {
    const obs = this.ctx.observations.get(f.candidate!);
    if (obs !== undefined && obs.missed < this.ctx.state.spec.failureThreshold) {
      this.ctx.logger.warn('promotion failed; retrying', { shard: shard.id, candidate: f.candidate, error: why });
      return;
    }
    const next: FailoverProgress = {
      ...f, kind: 'failover', stage: 'fence', candidate: null, catchupSeq: null,
      fenceEpoch: f.promoteEpoch + 1, promoteEpoch: f.promoteEpoch + 2,
      blocked: null, updatedAt: this.ctx.now(),
    };
    await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { targetPrimary: shard.currentPrimary, failover: next }));
    this.ctx.event('Warning', 'CandidateLost', `${shard.id}: candidate ${f.candidate} stopped answering before its promotion (${why}); choosing again`, { shard: shard.id, id: f.id });
  }

  private async publish(shard: ShardState, f: FailoverProgress): Promise<void> {
    const candidate = f.candidate!;
    const { state } = this.ctx;
    const others = shard.members.filter((m) => m !== candidate);
    const map = state.map === null ? null : withShardPrimary(state.map, shard.id, candidate, others, state.map.epoch + 1);
    await this.ctx.commit({
      // Nothing is known yet about which replicas hold the new primary's writes: the sync-set reconciler
      // builds the guarantee up again (core/sync-plan.ts), starting from the replicas it was told to wait for.
      // They stay the target, so that re-telling the primary its role (a stale observation) keeps them counted.
      ...withShardPatch(state, shard.id, {
        epoch: f.promoteEpoch, currentPrimary: candidate, targetPrimary: candidate, failover: null,
        sync: { replicas: [], acks: 0, target: { replicas: this.firstReplicas(shard, f), seq: null } },
      }),
      map,
    });
    const took = this.ctx.now() - f.startedAt;
    this.ctx.event('Normal', f.kind === 'failover' ? 'FailoverFinished' : 'SwitchoverFinished',
      `${shard.id}: ${candidate} is the primary at epoch ${f.promoteEpoch} (was ${f.oldPrimary}; ${took} ms)`, { shard: shard.id, id: f.id, tookMs: took });
  }

  // ---- switchover ------------------------------------------------------------------

  /**
   * Who the new primary waits for from the start: the survivors that answered
   * (they stream from it at once); with dataDurability 'required', filled up
   * to minSyncReplicas with the other members, even those that are down.
   */
  private firstReplicas(shard: ShardState, f: FailoverProgress): string[] {
    const others = shard.members.filter((m) => m !== f.candidate);
    const out = f.inSync.filter((r) => others.includes(r));
    const { spec } = this.ctx.state;
    if (spec.dataDurability === 'required') {
      const need = Math.min(spec.minSyncReplicas, others.length);
      for (const m of [...others].sort((a, b) => (a === f.oldPrimary ? 1 : b === f.oldPrimary ? -1 : a < b ? -1 : 1))) {
        if (out.length >= need) break;
        if (!out.includes(m)) out.push(m);
      }
    }
    return out;
  }

  private async restrict(shard: ShardState, f: FailoverProgress): Promise<void> {
    try {
      // The record first (weaker: the candidate joins, the guarantee drops to what counting it alone gives), then the primary.
      const c = f.candidate!;
      const acks = Math.min(shard.sync.acks, Math.min(this.ctx.state.spec.minSyncReplicas, 1));
      const replicas = [...new Set([...shard.sync.replicas, c])];
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { sync: { replicas, acks, target: { replicas: [c], seq: null } } }));
      const st = await this.ctx.api(f.oldPrimary)!.setRole({ role: 'primary', epoch: shard.epoch, replicas: [c] });
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, {
        sync: { replicas, acks, target: { replicas: [c], seq: st.lastSeq } },
        failover: { ...f, stage: 'catchup', catchupSeq: st.lastSeq, updatedAt: this.ctx.now() },
      }));
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
    const r = st.replicas.find((x) => x.name === f.candidate);
    if (r !== undefined && r.ackedSeq >= f.catchupSeq!) {
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, {
        targetPrimary: f.candidate!, failover: { ...f, stage: 'promote', updatedAt: this.ctx.now() },
      }));
      return;
    }
    if (this.ctx.now() - f.updatedAt > CATCHUP_TIMEOUT_MS) {
      // Give up: the primary keeps its role; role reconciliation restores its replica list.
      await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { failover: null, targetPrimary: shard.currentPrimary }));
      this.ctx.event('Warning', 'SwitchoverAbandoned', `${shard.id}: ${f.candidate} did not catch up with ${f.oldPrimary} in ${CATCHUP_TIMEOUT_MS} ms (at ${r?.ackedSeq ?? 'no connection'}, needs ${f.catchupSeq}); ${f.oldPrimary} stays primary`, { shard: shard.id, id: f.id });
    }
  }

  /** A switchover whose primary stopped answering continues as a failover, above every epoch it may have used. */
  private async toFailover(shard: ShardState, f: FailoverProgress, why: string): Promise<void> {
    const obs = this.ctx.observations.get(f.oldPrimary);
    if (obs !== undefined && obs.status !== null && obs.missed < this.ctx.state.spec.failureThreshold) {
      this.ctx.logger.warn('switchover step failed; retrying', { shard: shard.id, id: f.id, error: why });
      return;
    }
    const next: FailoverProgress = {
      ...f, kind: 'failover', stage: 'fence', candidate: null, catchupSeq: null,
      fenceEpoch: f.promoteEpoch + 1, promoteEpoch: f.promoteEpoch + 2, blocked: null,
      reason: `${f.reason}; turned into a failover: ${why}`, updatedAt: this.ctx.now(),
    };
    await this.ctx.commit(withShardPatch(this.ctx.state, shard.id, { targetPrimary: shard.currentPrimary, failover: next }));
    this.ctx.event('Warning', 'FailoverStarted', `${shard.id}: switchover ${f.id} turned into a failover: ${why}`, { shard: shard.id, id: f.id });
  }
}
