/**
 * Replication of one node (DESIGN §3): its role and epoch (kept in the
 * database), the replication log, the primary's replica sessions and ack
 * gate, the replica's link to its primary, fencing, and the admin operations
 * (role changes, digests, repair). The runtime creates one per node.
 */
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import type {
  DigestDiff, PeerAddress, RepairResult, ReplicaStatus, ReplicationStatus, RoleRequest, SlotDigest, Term,
} from '../../common/replication.js';
import type { NodeConfig } from '../config/schema.js';
import type { SqliteEngine } from '../engine/open.js';
import type { Logger } from '../../common/logger.js';
import { AckGate } from './ack-gate.js';
import { BusServer, refuse } from './bus-server.js';
import type { BusSocket } from './bus-socket.js';
import type { PrimarySide, ReplicaSide } from './context.js';
import { diffDigests } from './digest.js';
import { RoleChangeError, ShuttingDownError, SteppedDownError } from './errors.js';
import { FrameType, encodeJsonFrame } from './frames.js';
import { planResync, startTerm } from './history.js';
import { ReplicationLog, type StoredBatch } from './log.js';
import type { HelloMsg, ProbeMsg } from './messages.js';
import { createReplicationMetrics, type ReplicationMetrics } from './metrics.js';
import { NODE_NAME } from './peer-address.js';
import { PrimaryLink } from './primary-link.js';
import { probePeer } from './probe.js';
import { ReplicaSession } from './replica-session.js';
import { computeSlotDigests, readSlotRows } from './slot-digests.js';
import { SnapshotReader } from './snapshot.js';
import { STATE_META_KEY, chooseStartState, mergePeers, parseState, serializeState, stateFromConfig, type ReplState } from './state.js';
import { replicationInfoFields } from './info.js';

const HOUSEKEEPING_MS = 1000;
const PROBE_TIMEOUT_MS = 1000;
const DIGEST_TIMEOUT_MS = 30_000;
/** A connected replica may pin the log up to this many times replBacklogOps before it is cut loose. */
const PIN_FACTOR = 4;
/** Commit times remembered for lag in milliseconds. */
const COMMIT_TIMES_MAX = 100_000;

/** The node's role as the command layer and HTTP API need it. */
export interface NodeRoleView {
  readonly role: 'primary' | 'replica';
  /** Client address of the primary (MOVED target), when known. */
  readonly primary: { readonly host: string; readonly port: number } | null;
  /** A full resync is loading: the data is incomplete. */
  readonly loading: boolean;
}

export interface Announce {
  respHost: string;
  respPort: number;
  busHost: string;
  busPort: number;
}

export class ReplicationManager {
  readonly log: ReplicationLog;
  readonly gate: AckGate;
  readonly metrics: ReplicationMetrics;
  private state: ReplState;
  /** lastSeq when the declared replicas last changed (or the process started): see ReplicationStatus.declaredSeq. */
  private declaredSeq = 0;
  private readonly sessions = new Map<string, ReplicaSession>();
  private link: PrimaryLink | null = null;
  private bus: BusServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private announce: Announce;
  private readonly commitSeqs: number[] = [];
  private readonly commitTimes: number[] = [];
  private probing = false;
  private checking = false;
  private lastCheckAt = performance.now();
  private started = false;
  private closed = false;
  private digestIds = 0;
  private readonly primarySide: PrimarySide;
  private readonly replicaSide: ReplicaSide;

  constructor(
    private readonly engine: SqliteEngine,
    private readonly config: NodeConfig,
    private readonly logger: Logger,
    registry: Registry,
    announce: Announce,
  ) {
    if (!NODE_NAME.test(config.nodeName)) throw new Error(`nodeName ${JSON.stringify(config.nodeName)} is not a valid node name`);
    this.announce = announce;
    this.metrics = createReplicationMetrics(registry);
    this.log = new ReplicationLog(engine.db, (batches, lastSeq) => this.onCommitted(batches, lastSeq));
    this.gate = new AckGate({
      minAcks: 0,
      ackTimeoutMs: config.ackTimeoutMs,
      timers: {
        now: () => performance.now(),
        setTimer: (fn, ms) => {
          const t = setTimeout(fn, ms);
          return { cancel: () => clearTimeout(t) };
        },
      },
      onReleased: (waitedMs, ok) => {
        this.metrics.ackDuration.observe({ result: ok ? 'ok' : 'timeout' }, waitedMs / 1000);
        if (!ok) this.metrics.ackTimeouts.inc();
      },
    });
    const stored = engine.meta.get(STATE_META_KEY);
    const chosen = chooseStartState(typeof stored === 'string' ? parseState(stored) : null, stateFromConfig(config));
    this.state = chosen.state;
    this.declaredSeq = engine.keyspace.lastSeq;
    if (chosen.source === 'flags' && stored !== undefined && stored !== null) {
      logger.warn('replication role from flags replaces the stored one (newer epoch)', { epoch: this.state.epoch, role: this.state.role });
    }
    const base = {
      name: config.nodeName,
      token: config.adminToken,
      logger,
      metrics: this.metrics,
      epoch: () => this.state.epoch,
      history: () => this.state.history,
      digests: (slots?: readonly number[]) => computeSlotDigests(engine.db, slots),
    };
    this.primarySide = {
      ...base,
      log: this.log,
      gate: this.gate,
      committedSeq: () => engine.keyspace.lastSeq,
      openSnapshot: () => new SnapshotReader(engine.file),
      respAddress: () => ({ host: this.announce.respHost, port: this.announce.respPort }),
    };
    this.replicaSide = {
      ...base,
      keyspace: engine.keyspace,
      log: this.log,
      announce: () => this.announce,
      adopt: (epoch, history) => this.adopt(epoch, history),
      setLoading: (loading) => {
        this.state = { ...this.state, loading };
        engine.meta.set(STATE_META_KEY, serializeState(this.state));
      },
    };
    engine.setMutationLog(this.log);
    this.recoverInterruptedLoad();
    this.enterRole(null);
  }

  // ---- lifecycle -------------------------------------------------------------

  /** Listens on the bus port; returns the port. */
  async listen(port: number, host: string): Promise<number> {
    this.bus = new BusServer({ onHello: (b, h) => this.onHello(b, h), onProbe: (b, p) => this.onProbe(b, p) }, this.logger);
    const busPort = await this.bus.listen(port, host);
    this.announce = { ...this.announce, busPort };
    return busPort;
  }

  /** Starts the link (replica), the active expiry (primary) and housekeeping. Call once clients can be served. */
  start(addresses: Partial<Announce>): void {
    this.announce = { ...this.announce, ...addresses };
    this.metrics.bind({
      role: () => this.state.role,
      epoch: () => this.state.epoch,
      lastSeq: () => this.engine.keyspace.lastSeq,
      connectedReplicas: () => this.sessions.size,
      replicaLag: () => this.replicaStatuses().map((r) => ({ name: r.name, lagOps: r.lagOps, lagMs: r.lagMs, state: r.state })),
      backlog: () => this.backlog(),
      pendingAcks: () => this.gate.pending,
      loadingKeys: () => this.link?.loading?.keys ?? null,
    });
    this.started = true;
    this.applyRuntimeRole();
    this.timer = setInterval(() => this.housekeeping(), HOUSEKEEPING_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.link?.stop('shutting down');
    for (const s of this.sessions.values()) s.close('shutting down');
    this.engine.commits.flushNow();
    this.gate.failAll(new ShuttingDownError());
    this.engine.setReleaseGate(null);
    await this.bus?.close();
  }

  // ---- views -----------------------------------------------------------------

  roleView(): NodeRoleView {
    const link = this.link;
    return {
      role: this.state.role,
      primary: link !== null && link.respHost !== null && link.respPort !== null ? { host: link.respHost, port: link.respPort } : null,
      loading: this.state.loading || link?.loading != null,
    };
  }

  status(): ReplicationStatus {
    const s = this.state;
    return {
      name: this.config.nodeName,
      role: s.role,
      epoch: s.epoch,
      lastSeq: this.engine.keyspace.lastSeq,
      history: s.history,
      minSyncReplicas: this.config.minSyncReplicas,
      effectiveMinSyncReplicas: this.effectiveMinSync(),
      ackTimeoutMs: this.config.ackTimeoutMs,
      declaredReplicas: s.replicas,
      replicas: this.replicaStatuses(),
      primary: this.link?.status() ?? null,
      backlog: this.backlog(),
      pendingAcks: this.gate.pending,
      loading: this.roleView().loading,
      declaredSeq: this.declaredSeq,
    };
  }

  infoFields(): Array<[string, string | number]> {
    return replicationInfoFields(this.status(), this.runIdFor(this.state.history));
  }

  /** WAIT: replicas that acknowledged everything written so far, once `n` have or at the timeout. */
  waitForReplicas(n: number, timeoutMs: number): Promise<number> {
    return this.gate.waitForAcks(this.engine.keyspace.headSeq, n, timeoutMs);
  }

  // ---- role changes ----------------------------------------------------------

  /** PUT /admin/replication/role. */
  setRole(req: RoleRequest): ReplicationStatus {
    const s = this.state;
    if (req.epoch < s.epoch) throw new RoleChangeError('stale_epoch', `epoch ${req.epoch} is older than this node's epoch ${s.epoch}`);
    if (req.role === 'primary') {
      for (const r of req.replicas ?? []) {
        if (!NODE_NAME.test(r)) throw new RoleChangeError('invalid_role', `invalid replica name ${JSON.stringify(r)}`);
        if (r === this.config.nodeName) throw new RoleChangeError('invalid_role', 'a primary cannot be its own replica');
      }
      if (s.role === 'replica') {
        if (this.roleView().loading) throw new RoleChangeError('loading', 'this replica is loading a snapshot: its data is incomplete and it cannot be promoted');
        if (req.epoch === s.epoch) throw new RoleChangeError('same_epoch', `promotion needs an epoch above ${s.epoch}`);
      }
      const prev = s;
      this.state = { ...s, role: 'primary', epoch: req.epoch, primary: null, replicas: [...(req.replicas ?? [])] };
      this.enterRole(prev);
      const same = prev.role === 'primary' && prev.replicas.length === this.state.replicas.length && prev.replicas.every((r) => this.state.replicas.includes(r));
      // After the flush in enterRole: every write up to here was counted under the old set.
      if (!same) this.declaredSeq = this.engine.keyspace.lastSeq;
    } else {
      if (req.primary.name === this.config.nodeName) throw new RoleChangeError('invalid_role', 'a node cannot replicate from itself');
      if (!NODE_NAME.test(req.primary.name)) throw new RoleChangeError('invalid_role', `invalid primary name ${JSON.stringify(req.primary.name)}`);
      const prev = s;
      this.state = { ...s, role: 'replica', epoch: req.epoch, primary: req.primary, replicas: [], peers: mergePeers(s.peers, [req.primary]) };
      this.enterRole(prev);
    }
    this.applyRuntimeRole();
    this.logger.info('replication role set', { role: this.state.role, epoch: this.state.epoch, primary: this.state.primary?.name, replicas: this.state.replicas });
    return this.status();
  }

  /**
   * Moves persistent state and the engine hooks to the current role. `prev`
   * is null at startup. Persists before returning: the new epoch is durable
   * before anything acts on it.
   */
  private enterRole(prev: ReplState | null): void {
    const s = this.state;
    const engine = this.engine;
    // Whatever the open turn holds commits under the old role.
    engine.commits.flushNow();
    if (prev !== null && prev.role === 'primary' && s.role === 'replica') {
      this.gate.failAll(new SteppedDownError(s.epoch, `now a replica of ${s.primary!.name}`));
      engine.setReleaseGate(null);
      for (const sess of this.sessions.values()) sess.close('this node is no longer primary');
      this.sessions.clear();
    }
    if (prev !== null && prev.role === 'primary' && (s.role !== 'primary' || prev.epoch !== s.epoch)) {
      // Acknowledgements count within one term: the next time this node leads, its sequence numbers
      // may mean other writes (its tail was discarded), and an old ack must not vouch for them.
      const names = new Set([...prev.replicas, ...s.replicas, ...s.peers.map((p) => p.name), ...this.sessions.keys()]);
      for (const name of names) this.gate.reset(name, null);
    }
    if (s.role === 'primary') {
      const newTerm = prev === null || prev.role !== 'primary' || prev.epoch !== s.epoch;
      if (newTerm) {
        this.state = { ...s, history: startTerm(s.history, s.epoch, randomBytes(8).toString('hex'), engine.keyspace.lastSeq + 1) };
        // Connected replicas learn a history only in the handshake: without the new term, their next
        // reconnect would look diverged and cost a full resync. They reconnect at once (partial resync).
        for (const sess of this.sessions.values()) sess.close('this primary started a new term; reconnect to learn it');
        this.sessions.clear();
      }
      this.gate.setVoters(this.state.replicas);
      this.gate.setMinAcks(this.effectiveMinSync());
      engine.setReleaseGate(this.gate);
      engine.setExpiryMode('active');
    } else {
      engine.setExpiryMode('passive');
    }
    this.persistNow();
  }

  /** Starts or stops what runs while the node has its role (link, active expiry). */
  private applyRuntimeRole(): void {
    if (this.closed || !this.started) return;
    const s = this.state;
    if (s.role === 'primary') {
      this.link?.stop('this node is now primary');
      this.link = null;
      this.engine.startActiveExpiry();
    } else {
      this.engine.stopActiveExpiry();
      const p = s.primary!;
      const same = this.link !== null && this.link.target.name === p.name && this.link.target.host === p.host && this.link.target.busPort === p.busPort;
      if (!same) {
        this.link?.stop('following another primary');
        this.link = new PrimaryLink(p, this.replicaSide);
        this.link.start();
      }
    }
  }

  /** Writes the state in a transaction of its own and syncs it, now. */
  private persistNow(): void {
    const commits = this.engine.commits;
    commits.flushNow();
    this.engine.meta.set(STATE_META_KEY, serializeState(this.state));
    commits.flushNow();
  }

  /** Replica: the primary's handshake or stream carries a newer epoch / its history (inside the apply turn). */
  private adopt(epoch: number, history: readonly Term[] | null): void {
    if (epoch < this.state.epoch) return;
    if (epoch === this.state.epoch && history === null) return;
    this.state = { ...this.state, epoch, history: history ?? this.state.history };
    this.engine.meta.set(STATE_META_KEY, serializeState(this.state));
  }

  /** A full resync was interrupted by a crash: what is on disk is a partial copy; start from empty. */
  private recoverInterruptedLoad(): void {
    if (!this.state.loading) return;
    this.logger.warn('a full resync was interrupted; discarding the partial copy before resyncing');
    const ks = this.engine.keyspace;
    ks.resetForLoad();
    this.log.clear();
    ks.finishLoad(0);
    this.state = { ...this.state, loading: false, history: [] };
    this.engine.meta.set(STATE_META_KEY, serializeState(this.state));
    this.engine.commits.flushNow();
  }

  private effectiveMinSync(): number {
    return this.state.role === 'primary' ? Math.min(this.config.minSyncReplicas, this.state.replicas.length) : 0;
  }

  // ---- primary side ------------------------------------------------------------

  private onHello(bus: BusSocket, hello: HelloMsg): void {
    const s = this.state;
    const base = { epoch: s.epoch, primary: s.role === 'replica' ? s.primary : null };
    if (this.config.adminToken === '' || hello.token !== this.config.adminToken) {
      refuse(bus, { ...base, code: 'auth', message: 'bad cluster token' });
      return;
    }
    if (s.role !== 'primary' || hello.expectPrimary !== this.config.nodeName) {
      refuse(bus, { ...base, code: 'not_primary', message: `${this.config.nodeName} is a ${s.role} at epoch ${s.epoch}` });
      return;
    }
    if (hello.epoch > s.epoch) {
      refuse(bus, { ...base, code: 'busy', message: `this node is at epoch ${s.epoch} and has not been told about epoch ${hello.epoch} yet` });
      return;
    }
    const committed = this.engine.keyspace.lastSeq;
    let plan = planResync(
      { history: s.history, lastSeq: committed, backlogFirstSeq: this.log.firstSeq() ?? committed + 1 },
      { seq: hello.seq, termId: hello.termId },
    );
    if (plan.kind === 'partial' && hello.seq === 0 && committed > 0) {
      // An empty replica (new, or its data directory lost) takes a snapshot even if the log reaches back
      // to seq 1: the log holds every overwrite, the snapshot only the live rows (as Redis does).
      plan = { kind: 'full', reason: 'the replica holds no data' };
    }
    this.sessions.get(hello.name)?.close('replaced by a new connection from the same replica');
    const peer: PeerAddress = { name: hello.name, host: hello.busHost, busPort: hello.busPort };
    const known = s.peers.find((p) => p.name === peer.name);
    if (known === undefined || known.host !== peer.host || known.busPort !== peer.busPort) {
      this.state = { ...this.state, peers: mergePeers(s.peers, [peer]) };
      this.persistNow();
    }
    const session = new ReplicaSession(hello, bus, this.primarySide, (sess, reason) => {
      if (this.sessions.get(sess.name) === sess) this.sessions.delete(sess.name);
      if (!this.closed) this.logger.warn('replica disconnected', { replica: sess.name, reason });
    });
    this.sessions.set(hello.name, session);
    this.logger.info('replica connected', { replica: hello.name, seq: hello.seq, resync: plan.kind, reason: plan.kind === 'full' ? plan.reason : undefined });
    session.start(plan);
  }

  private onProbe(bus: BusSocket, probe: ProbeMsg): void {
    const s = this.state;
    if (this.config.adminToken === '' || probe.token !== this.config.adminToken) {
      refuse(bus, { code: 'auth', message: 'bad cluster token', epoch: s.epoch, primary: null });
      return;
    }
    const me: PeerAddress = { name: this.config.nodeName, host: this.announce.busHost, busPort: this.announce.busPort };
    bus.endWith(encodeJsonFrame(FrameType.ProbeReply, {
      name: this.config.nodeName, epoch: s.epoch, role: s.role, primary: s.role === 'primary' ? me : s.primary,
    }), 'probe answered');
  }

  private onCommitted(batches: readonly StoredBatch[], lastSeq: number): void {
    if (this.state.role !== 'primary') return;
    this.commitSeqs.push(lastSeq);
    this.commitTimes.push(performance.now());
    if (this.commitSeqs.length > COMMIT_TIMES_MAX) {
      this.commitSeqs.splice(0, COMMIT_TIMES_MAX / 10);
      this.commitTimes.splice(0, COMMIT_TIMES_MAX / 10);
    }
    for (const s of this.sessions.values()) s.committed(batches);
  }

  private replicaStatuses(): ReplicaStatus[] {
    if (this.state.role !== 'primary') return [];
    const head = this.engine.keyspace.lastSeq;
    const out: ReplicaStatus[] = [];
    const seen = new Set<string>();
    for (const s of this.sessions.values()) {
      seen.add(s.name);
      out.push({
        name: s.name, host: s.hello.respHost, port: s.hello.respPort, busPort: s.hello.busPort, connected: true,
        state: s.state, ackedSeq: s.ackedSeq, lagOps: Math.max(0, head - s.ackedSeq), lagMs: this.lagMs(s.ackedSeq), fullSync: s.fullSync,
      });
    }
    for (const name of this.state.replicas) {
      if (seen.has(name)) continue;
      const peer = this.state.peers.find((p) => p.name === name);
      out.push({
        name, host: peer?.host ?? '', port: 0, busPort: peer?.busPort ?? 0, connected: false, state: 'handshake',
        ackedSeq: 0, lagOps: head, lagMs: this.lagMs(0), fullSync: null,
      });
    }
    return out;
  }

  /** How long the oldest commit above `acked` has waited. */
  private lagMs(acked: number): number {
    const seqs = this.commitSeqs;
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid]! > acked) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= seqs.length) return 0;
    return Math.round(performance.now() - this.commitTimes[lo]!);
  }

  private backlog(): { firstSeq: number; lastSeq: number } {
    const last = this.engine.keyspace.lastSeq;
    return { firstSeq: this.log.firstSeq() ?? last + 1, lastSeq: last };
  }

  // ---- housekeeping: pings, log trimming, fencing probes ----------------------

  private housekeeping(): void {
    if (this.closed) return;
    try {
      for (const s of this.sessions.values()) s.ping();
      this.trimLog();
      if (this.state.role === 'primary') {
        void this.probeIfIsolated();
        void this.periodicCheck();
      }
    } catch (err) {
      this.logger.error('replication housekeeping failed', { err: (err as Error).message });
    }
  }

  /**
   * Every digestIntervalMs the primary compares digests with its streaming
   * replicas and re-copies divergent slots (DESIGN §3: checked periodically,
   * a divergent slot is re-copied). Skipped while any replica is not online.
   */
  private async periodicCheck(): Promise<void> {
    const interval = this.config.digestIntervalMs;
    if (interval === 0 || this.checking || performance.now() - this.lastCheckAt < interval) return;
    const statuses = this.replicaStatuses();
    if (statuses.length === 0 || statuses.some((r) => !r.connected || r.state !== 'online')) return;
    this.checking = true;
    this.lastCheckAt = performance.now();
    try {
      const result = await this.repair();
      for (const r of result.replicas) {
        if (r.repaired.length > 0) {
          this.metrics.repairedSlots.inc({ replica: r.name }, r.repaired.length);
          this.logger.warn('periodic digest check found divergent slots on a replica and re-copied them', { replica: r.name, slots: r.repaired });
        }
      }
    } catch (err) {
      this.logger.warn('periodic digest check failed', { err: (err as Error).message });
    } finally {
      this.checking = false;
    }
  }

  private trimLog(): void {
    const first = this.log.firstSeq();
    if (first === null) return;
    const head = this.engine.keyspace.lastSeq;
    const backlog = this.config.replBacklogOps;
    let keepFrom = head - backlog + 1;
    for (const s of this.sessions.values()) {
      const need = s.state === 'full_sync' ? s.nextSeq : s.neededSeq;
      if (need < keepFrom && head - need < backlog * PIN_FACTOR) keepFrom = need;
    }
    if (keepFrom <= first) return;
    const commits = this.engine.keyspace.commits;
    commits.markWrite();
    try {
      this.log.trimBefore(keepFrom);
    } catch (err) {
      commits.fail(err);
      throw err;
    }
  }

  /**
   * A primary missing some of its declared replicas asks the peers it knows
   * which epoch they are at: if one is newer, this node has been replaced
   * and steps down to follow the new primary, discarding its unreplicated tail.
   */
  private async probeIfIsolated(): Promise<void> {
    if (this.probing) return;
    const s = this.state;
    const missing = s.peers.filter((p) => p.name !== this.config.nodeName && !this.sessions.has(p.name));
    if (missing.length === 0) return;
    this.probing = true;
    try {
      for (const peer of missing) {
        let reply;
        try {
          reply = await probePeer(peer, { token: this.config.adminToken, name: this.config.nodeName, epoch: s.epoch }, PROBE_TIMEOUT_MS);
        } catch {
          continue; // unreachable peers say nothing either way
        }
        if (this.closed || this.state.role !== 'primary') return;
        if (reply.epoch > this.state.epoch) {
          const next: PeerAddress | null = reply.role === 'primary' ? { name: reply.name, host: peer.host, busPort: peer.busPort } : reply.primary;
          if (next === null || next.name === this.config.nodeName) continue;
          this.metrics.fencings.inc();
          this.logger.warn('a peer reports a newer epoch: this primary was replaced; stepping down', {
            peer: peer.name, peerEpoch: reply.epoch, ourEpoch: this.state.epoch, newPrimary: next.name,
          });
          this.setRole({ role: 'replica', epoch: reply.epoch, primary: next });
          return;
        }
      }
    } finally {
      this.probing = false;
    }
  }

  // ---- digests and repair -----------------------------------------------------

  /** This node's digests at its committed sequence. */
  async digests(): Promise<{ seq: number; slots: SlotDigest[] }> {
    await this.quiescent();
    return { seq: this.engine.keyspace.lastSeq, slots: computeSlotDigests(this.engine.db) };
  }

  async digestDiff(): Promise<DigestDiff> {
    if (this.state.role !== 'primary') throw new RoleChangeError('invalid_role', 'digest comparison runs on the primary');
    await this.quiescent();
    const seq = this.engine.keyspace.lastSeq;
    const mine = computeSlotDigests(this.engine.db);
    const targets = this.comparisonTargets();
    const replicas = await Promise.all(targets.map(async ({ name, session }) => {
      if (session === undefined) return { name, differing: [], error: 'not connected' };
      try {
        const theirs = await session.requestDigests(++this.digestIds, DIGEST_TIMEOUT_MS);
        return { name, differing: diffDigests(mine, theirs), error: null };
      } catch (err) {
        return { name, differing: [], error: (err as Error).message };
      }
    }));
    return { primary: this.config.nodeName, seq, replicas };
  }

  /** Re-copies the given slots (or every slot the digests show differing) from this primary to its replicas. */
  async repair(slots?: readonly number[]): Promise<RepairResult> {
    const diff = slots === undefined ? await this.digestDiff() : null;
    const out: Array<{ name: string; repaired: number[]; error: string | null }> = [];
    await this.quiescent();
    for (const { name, session } of this.comparisonTargets()) {
      const todo = slots !== undefined ? [...slots] : [...(diff!.replicas.find((r) => r.name === name)?.differing ?? [])];
      if (session === undefined || session.state !== 'online') {
        out.push({ name, repaired: [], error: session === undefined ? 'not connected' : `not streaming (${session.state})` });
        continue;
      }
      // Read and send in one synchronous step: the rows are exactly the state at the stream position.
      for (const slot of todo) session.sendSlotReset(slot, readSlotRows(this.engine.db, slot));
      if (todo.length > 0) this.logger.warn('repaired slots on a replica', { replica: name, slots: todo });
      out.push({ name, repaired: todo, error: null });
    }
    return { replicas: out };
  }

  private comparisonTargets(): Array<{ name: string; session: ReplicaSession | undefined }> {
    const names = new Set<string>([...this.state.replicas, ...this.sessions.keys()]);
    return [...names].sort().map((name) => ({ name, session: this.sessions.get(name) }));
  }

  /** Resolves when no write turn is open (the database shows exactly the committed sequence). */
  private async quiescent(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (!this.engine.commits.pending) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.engine.commits.flushNow();
  }

  /** Redis's master_replid: one per term, so a client sees it change on every new term. */
  private runIdFor(history: readonly Term[]): string {
    const last = history[history.length - 1];
    return last === undefined ? '0'.repeat(40) : (last.id + '0'.repeat(40)).slice(0, 40);
  }
}
