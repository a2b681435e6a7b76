/**
 * Replication of one node (docs/architecture.md §3), the facade the rest of the node uses:
 * it owns the log and the ack gate, moves the node between roles (epoch
 * checks, the engine's hooks, a new term) and runs the housekeeping. The
 * parts live in their own modules: the persisted role state (role-store),
 * the primary's replica sessions (replica-sessions), the replica's link to
 * its primary (primary-follower), fencing probes (isolation-probe) and
 * digests and repair (anti-entropy). The runtime creates one per node.
 */
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { DigestDiff, RepairResult, ReplicationStatus, RoleRequest, SlotDigest } from '../../common/replication.js';
import type { NodeConfig } from '../config/schema.js';
import type { SqliteEngine } from '../engine/open.js';
import type { Logger } from '../../common/logger.js';
import type { ReplicationTracing } from '../tracing/replication-tracing.js';
import { AckGate } from './ack-gate.js';
import { AntiEntropy } from './anti-entropy.js';
import { BusServer, type FirstFrameHandler } from './bus-server.js';
import type { PrimarySide, ReplicaSide } from './context.js';
import { FencedError, RoleChangeError, ShuttingDownError, SteppedDownError } from './errors.js';
import { startTerm } from './history.js';
import { replicationInfoFields, runIdOf } from './info.js';
import { IsolationProbe } from './isolation-probe.js';
import { ReplicationLog } from './log.js';
import { createReplicationMetrics, type ReplicationMetrics } from './metrics.js';
import { NODE_NAME } from './peer-address.js';
import { PrimaryFollower } from './primary-follower.js';
import { ReplicaSessions } from './replica-sessions.js';
import { RoleStore } from './role-store.js';
import { digestProgress, startSlotDigests } from './slot-digests.js';
import { NodeWritability, type PrimaryFacts } from './writability.js';
import { SnapshotReader } from './snapshot.js';
import { mergePeers, type ReplState } from './state.js';
import type { TlsServerSetup } from '../tls/server.js';
import { busTlsFiles } from '../tls/bus-transport.js';

const HOUSEKEEPING_MS = 1000;

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
  private readonly roles: RoleStore;
  /** lastSeq when the declared replicas last changed (or the process started): see ReplicationStatus.declaredSeq. */
  private declaredSeq = 0;
  private readonly sessions: ReplicaSessions;
  private readonly follower: PrimaryFollower;
  private readonly probe: IsolationProbe;
  private readonly antiEntropy: AntiEntropy;
  private bus: BusServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private announce: Announce;
  private started = false;
  private closed = false;
  /** Self-fenced primary (isolation-probe.ts): why, until the control plane's next setRole. */
  private fencedWhy: string | null = null;
  /** Whether writes are accepted, why not and since when (writability.ts). */
  readonly writability: NodeWritability;

  constructor(
    private readonly engine: SqliteEngine,
    private readonly config: NodeConfig,
    private readonly logger: Logger,
    registry: Registry,
    announce: Announce,
    tracing: ReplicationTracing | null = null,
  ) {
    if (!NODE_NAME.test(config.nodeName)) throw new Error(`nodeName ${JSON.stringify(config.nodeName)} is not a valid node name`);
    this.announce = announce;
    this.metrics = createReplicationMetrics(registry);
    this.log = new ReplicationLog(engine.db, (batches, lastSeq) => this.sessions.onCommitted(batches, lastSeq), engine.encryption);
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
      explain: () => this.writability.refusal(),
      onReleased: (waitedMs, ok) => {
        this.metrics.ackDuration.observe({ result: ok ? 'ok' : 'timeout' }, waitedMs / 1000);
        if (!ok) this.metrics.ackTimeouts.inc();
      },
    });
    const roles = new RoleStore(engine, config, logger);
    this.roles = roles;
    this.declaredSeq = engine.keyspace.lastSeq;
    const base = {
      name: config.nodeName,
      token: config.adminToken,
      busTls: busTlsFiles(config),
      logger,
      metrics: this.metrics,
      epoch: () => roles.state.epoch,
      history: () => roles.state.history,
      startDigests: () => (engine.commitNow(), startSlotDigests(engine.file, { sliceMs: config.digestSliceMs, onProgress: digestProgress(this.metrics), keyring: engine.encryption?.current ?? null })),
      tracing,
    };
    const primarySide: PrimarySide = {
      ...base,
      log: this.log,
      gate: this.gate,
      committedSeq: () => engine.keyspace.lastSeq,
      openSnapshot: () => (engine.commitNow(), new SnapshotReader(engine.file)),
      respAddress: () => ({ host: this.announce.respHost, port: this.announce.respPort }),
    };
    const replicaSide: ReplicaSide = {
      ...base,
      keyspace: engine.keyspace,
      log: this.log,
      announce: () => this.announce,
      adopt: (epoch, history) => roles.adopt(epoch, history),
      setLoading: (loading) => roles.setLoading(loading),
      applySliceMs: config.replicaApplySliceMs,
      loadSliceRows: config.replicaLoadSliceRows,
      walBacklog: () => engine.walBacklog(),
    };
    const isClosed = (): boolean => this.closed;
    this.sessions = new ReplicaSessions({ side: primarySide, roles, engine, config, logger, isClosed });
    this.follower = new PrimaryFollower(replicaSide);
    this.probe = new IsolationProbe({
      roles, config, metrics: this.metrics, logger, isClosed,
      busAddress: () => ({ host: this.announce.busHost, busPort: this.announce.busPort }),
      connected: (name) => this.sessions.has(name),
      fenced: () => this.fencedWhy !== null,
      fence: (why) => this.selfFence(why),
    });
    this.writability = new NodeWritability(config.nodeName, () => this.writabilityFacts(), logger, registry);
    this.antiEntropy = new AntiEntropy({ engine, roles, sessions: this.sessions, config, metrics: this.metrics, logger });
    engine.setMutationLog(this.log);
    if (roles.state.loading) {
      logger.warn('a full resync was interrupted; discarding the partial copy before resyncing');
      roles.discardInterruptedLoad(this.log);
    }
    this.enterRole(null);
  }

  // ---- lifecycle -------------------------------------------------------------

  /** Listens on the bus port; returns the port. */
  async listen(port: number, host: string, tls?: TlsServerSetup, onAuthRefused?: (remote: string | null, claimed: string | null, reason: string) => void): Promise<number> {
    this.bus = new BusServer(
      { onHello: (b, h) => this.sessions.onHello(b, h), onProbe: (b, p) => this.probe.answer(b, p) },
      this.logger,
      { secret: this.config.adminToken, name: this.config.nodeName, onRefused: (remote, claimed, reason) => {
        this.metrics.authRefusals.inc();
        onAuthRefused?.(remote, claimed, reason);
      } },
      tls,
    );
    const busPort = await this.bus.listen(port, host);
    this.announce = { ...this.announce, busPort };
    return busPort;
  }

  /** Routes the bus's other first frames (slot migration) to `handler`; returns the unregister function. Call after listen. */
  addBusHandler(handler: FirstFrameHandler): () => void {
    if (this.bus === null) throw new Error('the cluster bus is not listening yet');
    return this.bus.addFirstFrameHandler(handler);
  }

  /** Starts the link (replica), the active expiry (primary) and housekeeping. Call once clients can be served. */
  start(addresses: Partial<Announce>): void {
    this.announce = { ...this.announce, ...addresses };
    this.metrics.bind({
      role: () => this.roles.state.role,
      epoch: () => this.roles.state.epoch,
      lastSeq: () => this.engine.keyspace.lastSeq,
      connectedReplicas: () => this.sessions.size,
      replicaLag: () => this.sessions.statuses().map((r) => ({ name: r.name, lagOps: r.lagOps, lagMs: r.lagMs, state: r.state })),
      backlog: () => this.backlog(),
      pendingAcks: () => this.gate.pending,
      loadingKeys: () => this.follower.loadingKeys,
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
    this.follower.stop('shutting down');
    this.sessions.closeAll('shutting down');
    this.engine.commits.flushNow();
    this.gate.failAll(new ShuttingDownError());
    this.engine.setReleaseGate(null);
    await this.bus?.close();
  }

  // ---- views -----------------------------------------------------------------

  roleView(): NodeRoleView {
    return {
      role: this.roles.state.role,
      primary: this.follower.primaryClientAddress(),
      loading: this.roles.state.loading || this.follower.loading,
    };
  }

  status(): ReplicationStatus {
    const s = this.roles.state;
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
      replicas: this.sessions.statuses(),
      primary: this.follower.status(),
      backlog: this.backlog(),
      pendingAcks: this.gate.pending,
      loading: this.roleView().loading,
      declaredSeq: this.declaredSeq,
      ...(this.fencedWhy !== null ? { fenced: this.fencedWhy } : {}),
      writable: this.writability.current(),
    };
  }

  private writabilityFacts(): PrimaryFacts {
    const s = this.roles.state;
    return {
      role: s.role, primaryName: s.primary?.name ?? null, fenced: this.fencedWhy, minSyncReplicas: this.config.minSyncReplicas,
      effectiveMinSyncReplicas: this.effectiveMinSync(), declaredReplicas: s.replicas, replicas: this.sessions.statuses(), maxLagMs: this.config.ackTimeoutMs / 2,
    };
  }

  /** A replica's lag inputs (eventual reads, node/cluster/read-consistency.ts); null on a primary or without a link. */
  replicaLagFacts(): ReturnType<PrimaryFollower['lagFacts']> {
    return this.roles.state.role === 'replica' ? this.follower.lagFacts() : null;
  }

  infoFields(): Array<[string, string | number]> {
    return replicationInfoFields(this.status(), runIdOf(this.roles.state.history));
  }

  /** WAIT: replicas that acknowledged everything written so far, once `n` have or at the timeout. */
  waitForReplicas(n: number, timeoutMs: number): Promise<number> {
    return this.gate.waitForAcks(this.engine.keyspace.headSeq, n, timeoutMs);
  }

  // ---- digests and repair (anti-entropy.ts) --------------------------------------

  /** This node's digests at its committed sequence. */
  digests(): Promise<{ seq: number; slots: SlotDigest[] }> {
    return this.antiEntropy.digests();
  }

  digestDiff(): Promise<DigestDiff> {
    return this.antiEntropy.digestDiff();
  }

  /** Re-copies the given slots (or every slot the digests show differing) from this primary to its replicas. */
  repair(slots?: readonly number[]): Promise<RepairResult> {
    return this.antiEntropy.repair(slots);
  }

  // ---- role changes ----------------------------------------------------------

  /** PUT /admin/replication/role: the control plane's word, the only way this node's role and epoch change (it also lifts a self-fence). */
  setRole(req: RoleRequest): ReplicationStatus {
    const s = this.roles.state;
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
      this.roles.replace({ ...s, role: 'primary', epoch: req.epoch, primary: null, replicas: [...(req.replicas ?? [])] });
      this.enterRole(prev);
      const now = this.roles.state;
      const same = prev.role === 'primary' && prev.replicas.length === now.replicas.length && prev.replicas.every((r) => now.replicas.includes(r));
      // After the flush in enterRole: every write up to here was counted under the old set.
      if (!same) this.declaredSeq = this.engine.keyspace.lastSeq;
    } else {
      if (req.primary.name === this.config.nodeName) throw new RoleChangeError('invalid_role', 'a node cannot replicate from itself');
      if (!NODE_NAME.test(req.primary.name)) throw new RoleChangeError('invalid_role', `invalid primary name ${JSON.stringify(req.primary.name)}`);
      const prev = s;
      this.roles.replace({ ...s, role: 'replica', epoch: req.epoch, primary: req.primary, replicas: [], peers: mergePeers(s.peers, [req.primary]) });
      this.enterRole(prev);
    }
    // enterRole replaced the fence's release gate (the gate, or none as a replica): the control plane has spoken.
    if (this.fencedWhy !== null) this.logger.info('the control plane set this node\'s role: the self-fence is lifted', { fencedBecause: this.fencedWhy });
    this.fencedWhy = null;
    this.applyRuntimeRole();
    const now = this.roles.state;
    this.logger.info('replication role set', { role: now.role, epoch: now.epoch, primary: now.primary?.name, replicas: now.replicas });
    return this.status();
  }

  /**
   * Moves persistent state and the engine hooks to the current role. `prev`
   * is null at startup. Persists before returning: the new epoch is durable
   * before anything acts on it.
   */
  private enterRole(prev: ReplState | null): void {
    const s = this.roles.state;
    const engine = this.engine;
    // Whatever the open turn holds commits under the old role.
    engine.commits.flushNow();
    if (prev !== null && prev.role === 'primary' && s.role === 'replica') {
      this.gate.failAll(new SteppedDownError(s.epoch, `now a replica of ${s.primary!.name}`));
      engine.setReleaseGate(null);
      this.sessions.closeAll('this node is no longer primary');
    }
    if (prev !== null && prev.role === 'primary' && (s.role !== 'primary' || prev.epoch !== s.epoch)) {
      // Acknowledgements count within one term: the next time this node leads, its sequence numbers
      // may mean other writes (its tail was discarded), and an old ack must not vouch for them.
      const names = new Set([...prev.replicas, ...s.replicas, ...s.peers.map((p) => p.name), ...this.sessions.names()]);
      for (const name of names) this.gate.reset(name, null);
    }
    if (s.role === 'primary') {
      const newTerm = prev === null || prev.role !== 'primary' || prev.epoch !== s.epoch;
      if (newTerm) {
        this.roles.replace({ ...s, history: startTerm(s.history, s.epoch, randomBytes(8).toString('hex'), engine.keyspace.lastSeq + 1) });
        // Connected replicas learn a history only in the handshake: without the new term, their next
        // reconnect would look diverged and cost a full resync. They reconnect at once (partial resync).
        this.sessions.closeAll('this primary started a new term; reconnect to learn it');
      }
      this.gate.setVoters(this.roles.state.replicas);
      this.gate.setMinAcks(this.effectiveMinSync());
      engine.setReleaseGate(this.gate);
      engine.setExpiryMode('active');
    } else {
      engine.setExpiryMode('passive');
    }
    this.roles.persistNow();
  }

  /**
   * An authenticated peer reports a newer epoch: stop acknowledging anything
   * (held and new turns fail with NOREPLICAS), keep role and epoch; the
   * control plane's setRole decides what this node is (and lifts the fence).
   */
  private selfFence(why: string): void {
    const s = this.roles.state;
    if (this.closed || s.role !== 'primary' || this.fencedWhy !== null) return;
    this.fencedWhy = why;
    const err = new FencedError(s.epoch, why);
    this.engine.commits.flushNow();
    this.gate.failAll(err);
    this.engine.setReleaseGate({ hold: (_seq, turnErr, release) => release(turnErr ?? err) });
  }

  /** Starts or stops what runs while the node has its role (link, active expiry). */
  private applyRuntimeRole(): void {
    if (this.closed || !this.started) return;
    const s = this.roles.state;
    if (s.role === 'primary') {
      this.follower.stop('this node is now primary');
      this.engine.startActiveExpiry();
    } else {
      this.engine.stopActiveExpiry();
      this.follower.follow(s.primary!);
    }
  }

  private effectiveMinSync(): number {
    const s = this.roles.state;
    return s.role === 'primary' ? Math.min(this.config.minSyncReplicas, s.replicas.length) : 0;
  }

  private backlog(): { firstSeq: number; lastSeq: number } {
    const last = this.engine.keyspace.lastSeq;
    return { firstSeq: this.log.firstSeq() ?? last + 1, lastSeq: last };
  }

  // ---- housekeeping: pings, log trimming, fencing probes, digest checks ----------

  private housekeeping(): void {
    if (this.closed) return;
    try {
      this.sessions.ping();
      this.sessions.trimLog();
      this.writability.current();
      if (this.roles.state.role === 'primary') {
        void this.probe.probeIfIsolated();
        void this.antiEntropy.periodicCheck();
      }
    } catch (err) {
      this.logger.error('replication housekeeping failed', { err: (err as Error).message });
    }
  }
}
