/**
 * The primary side: the sessions of the replicas streaming from this node
 * (one per replica name), the handshake that opens them, their status and
 * lag, and trimming the log no further than a connected replica still
 * needs (within a bound).
 */
import type { PeerAddress, ReplicaStatus } from '../../common/replication.js';
import type { Logger } from '../../common/logger.js';
import type { NodeConfig } from '../config/schema.js';
import type { SqliteEngine } from '../engine/open.js';
import { refuse } from './bus-server.js';
import type { BusSocket } from './bus-socket.js';
import { CommitTimes } from './commit-times.js';
import type { PrimarySide } from './context.js';
import { planResync } from './history.js';
import type { StoredBatch } from './log.js';
import type { HelloMsg } from './messages.js';
import { ReplicaSession } from './replica-session.js';
import type { RoleStore } from './role-store.js';
import { mergePeers } from './state.js';

/** A connected replica may pin the log up to this many times replBacklogOps before it is cut loose. */
const PIN_FACTOR = 4;

export interface ReplicaSessionsDeps {
  readonly side: PrimarySide;
  readonly roles: RoleStore;
  readonly engine: Pick<SqliteEngine, 'keyspace'>;
  readonly config: Pick<NodeConfig, 'nodeName' | 'replBacklogOps'>;
  readonly logger: Logger;
  /** The node is shutting down (disconnects are expected then, not warned about). */
  isClosed(): boolean;
}

export class ReplicaSessions {
  private readonly sessions = new Map<string, ReplicaSession>();
  private readonly commitTimes = new CommitTimes(() => performance.now());

  constructor(private readonly deps: ReplicaSessionsDeps) {}

  get size(): number {
    return this.sessions.size;
  }

  has(name: string): boolean {
    return this.sessions.has(name);
  }

  get(name: string): ReplicaSession | undefined {
    return this.sessions.get(name);
  }

  names(): IterableIterator<string> {
    return this.sessions.keys();
  }

  /** Closes every session (they reconnect, or not, as their replicas decide). */
  closeAll(reason: string): void {
    for (const s of this.sessions.values()) s.close(reason);
    this.sessions.clear();
  }

  ping(): void {
    for (const s of this.sessions.values()) s.ping();
  }

  /** A replica's handshake: refused, or a session that resyncs it partially or fully. */
  onHello(bus: BusSocket, hello: HelloMsg): void {
    const { roles, config, engine, side, logger } = this.deps;
    const s = roles.state;
    const base = { epoch: s.epoch, primary: s.role === 'replica' ? s.primary : null };
    // The bus server authenticated the peer before this frame (bus-auth.ts).
    if (s.role !== 'primary' || hello.expectPrimary !== config.nodeName) {
      refuse(bus, { ...base, code: 'not_primary', message: `${config.nodeName} is a ${s.role} at epoch ${s.epoch}` });
      return;
    }
    if (hello.epoch > s.epoch) {
      refuse(bus, { ...base, code: 'busy', message: `this node is at epoch ${s.epoch} and has not been told about epoch ${hello.epoch} yet` });
      return;
    }
    const committed = engine.keyspace.lastSeq;
    let plan = planResync(
      { history: s.history, lastSeq: committed, backlogFirstSeq: side.log.firstSeq() ?? committed + 1 },
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
      roles.replace({ ...roles.state, peers: mergePeers(s.peers, [peer]) });
      roles.persistNow();
    }
    const session = new ReplicaSession(hello, bus, side, (sess, reason) => {
      if (this.sessions.get(sess.name) === sess) this.sessions.delete(sess.name);
      if (!this.deps.isClosed()) logger.warn('replica disconnected', { replica: sess.name, reason });
    });
    this.sessions.set(hello.name, session);
    logger.info('replica connected', { replica: hello.name, seq: hello.seq, resync: plan.kind, reason: plan.kind === 'full' ? plan.reason : undefined });
    session.start(plan);
  }

  /** New commits (primary only): timed for lag, and streamed to every session. */
  onCommitted(batches: readonly StoredBatch[], lastSeq: number): void {
    if (this.deps.roles.state.role !== 'primary') return;
    this.commitTimes.record(lastSeq);
    for (const s of this.sessions.values()) s.committed(batches);
  }

  /** Connected sessions, then the declared replicas that are not connected. */
  statuses(): ReplicaStatus[] {
    const state = this.deps.roles.state;
    if (state.role !== 'primary') return [];
    const head = this.deps.engine.keyspace.lastSeq;
    const out: ReplicaStatus[] = [];
    const seen = new Set<string>();
    for (const s of this.sessions.values()) {
      seen.add(s.name);
      out.push({
        name: s.name, host: s.hello.respHost, port: s.hello.respPort, busPort: s.hello.busPort, connected: true,
        state: s.state, ackedSeq: s.ackedSeq, lagOps: Math.max(0, head - s.ackedSeq), lagMs: this.commitTimes.lagMs(s.ackedSeq), fullSync: s.fullSync,
      });
    }
    for (const name of state.replicas) {
      if (seen.has(name)) continue;
      const peer = state.peers.find((p) => p.name === name);
      out.push({
        name, host: peer?.host ?? '', port: 0, busPort: peer?.busPort ?? 0, connected: false, state: 'handshake',
        ackedSeq: 0, lagOps: head, lagMs: this.commitTimes.lagMs(0), fullSync: null,
      });
    }
    return out;
  }

  /** Trims the log to replBacklogOps, keeping what a connected replica still needs unless it is too far behind. */
  trimLog(): void {
    const log = this.deps.side.log;
    const first = log.firstSeq();
    if (first === null) return;
    const keyspace = this.deps.engine.keyspace;
    const head = keyspace.lastSeq;
    const backlog = this.deps.config.replBacklogOps;
    let keepFrom = head - backlog + 1;
    for (const s of this.sessions.values()) {
      const need = s.state === 'full_sync' ? s.nextSeq : s.neededSeq;
      if (need < keepFrom && head - need < backlog * PIN_FACTOR) keepFrom = need;
    }
    if (keepFrom <= first) return;
    const commits = keyspace.commits;
    commits.markWrite();
    try {
      log.trimBefore(keepFrom);
    } catch (err) {
      commits.fail(err);
      throw err;
    }
  }
}
