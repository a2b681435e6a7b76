/**
 * Anti-entropy (docs/architecture.md §3): per-slot digests of this node, the primary's
 * comparison with its replicas' digests, re-copying divergent slots, and
 * the periodic check that does both every digestIntervalMs.
 */
import type { DigestDiff, RepairResult, SlotDigest } from '../../common/replication.js';
import type { Logger } from '../../common/logger.js';
import type { NodeConfig } from '../config/schema.js';
import type { SqliteEngine } from '../engine/open.js';
import { diffTables, digestsFromTable } from './digest.js';
import { RoleChangeError } from './errors.js';
import type { ReplicationMetrics } from './metrics.js';
import type { ReplicaSession } from './replica-session.js';
import type { ReplicaSessions } from './replica-sessions.js';
import type { RoleStore } from './role-store.js';
import { digestProgress, readSlotRows, startSlotDigests, type SlotDigestJob } from './slot-digests.js';

/** A replica digests in time slices while it serves, so a million keys can take tens of seconds on a busy node. */
const DIGEST_TIMEOUT_MS = 600_000;

export interface AntiEntropyDeps {
  readonly engine: Pick<SqliteEngine, 'db' | 'file' | 'keyspace' | 'commits' | 'encryption' | 'commitNow'>;
  readonly roles: RoleStore;
  readonly sessions: ReplicaSessions;
  readonly config: Pick<NodeConfig, 'nodeName' | 'digestIntervalMs' | 'digestSliceMs'>;
  readonly metrics: ReplicationMetrics;
  readonly logger: Logger;
}

export class AntiEntropy {
  private checking = false;
  private lastCheckAt = performance.now();
  private digestIds = 0;

  constructor(private readonly deps: AntiEntropyDeps) {}

  /** This node's digests at its committed sequence (read incrementally: the node keeps serving meanwhile). */
  async digests(): Promise<{ seq: number; slots: SlotDigest[] }> {
    await this.quiescent();
    const job = this.startJob();
    return { seq: job.seq, slots: digestsFromTable(await job.result) };
  }

  /** A digest job over a snapshot taken now (no write turn open: its sequence is the committed one). */
  private startJob(): SlotDigestJob {
    const { engine, config, metrics } = this.deps;
    engine.commitNow(); // the write journal's batch: the snapshot connection must see every applied turn
    return startSlotDigests(engine.file, { sliceMs: config.digestSliceMs, onProgress: digestProgress(metrics), keyring: engine.encryption?.current ?? null });
  }

  async digestDiff(): Promise<DigestDiff> {
    const { roles, config } = this.deps;
    if (roles.state.role !== 'primary') throw new RoleChangeError('invalid_role', 'digest comparison runs on the primary');
    await this.quiescent();
    // Snapshot and requests in one synchronous step: the replicas digest the
    // stream position that equals this snapshot's sequence.
    const job = this.startJob();
    const seq = job.seq;
    const targets = this.comparisonTargets();
    const theirsAll = targets.map(({ session }) => session?.requestDigests(++this.digestIds, DIGEST_TIMEOUT_MS));
    for (const p of theirsAll) p?.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    const mine = await job.result;
    const replicas = await Promise.all(targets.map(async ({ name, session }, i) => {
      if (session === undefined) return { name, differing: [], error: 'not connected' };
      try {
        const theirs = await theirsAll[i]!;
        return { name, differing: diffTables(mine, theirs), error: null };
      } catch (err) {
        return { name, differing: [], error: (err as Error).message };
      }
    }));
    return { primary: config.nodeName, seq, replicas };
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
      for (const slot of todo) session.sendSlotReset(slot, readSlotRows(this.deps.engine.db, slot));
      if (todo.length > 0) this.deps.logger.warn('repaired slots on a replica', { replica: name, slots: todo });
      out.push({ name, repaired: todo, error: null });
    }
    return { replicas: out };
  }

  /**
   * Every digestIntervalMs the primary compares digests with its streaming
   * replicas and re-copies divergent slots (docs/architecture.md §3: checked periodically,
   * a divergent slot is re-copied). Skipped while any replica is not online.
   */
  async periodicCheck(): Promise<void> {
    const { config, sessions, metrics, logger } = this.deps;
    const interval = config.digestIntervalMs;
    if (interval === 0 || this.checking || performance.now() - this.lastCheckAt < interval) return;
    const statuses = sessions.statuses();
    if (statuses.length === 0 || statuses.some((r) => !r.connected || r.state !== 'online')) return;
    this.checking = true;
    this.lastCheckAt = performance.now();
    try {
      const result = await this.repair();
      for (const r of result.replicas) {
        if (r.repaired.length > 0) {
          metrics.repairedSlots.inc({ replica: r.name }, r.repaired.length);
          logger.warn('periodic digest check found divergent slots on a replica and re-copied them', { replica: r.name, slots: r.repaired });
        }
      }
    } catch (err) {
      logger.warn('periodic digest check failed', { err: (err as Error).message });
    } finally {
      this.checking = false;
    }
  }

  private comparisonTargets(): Array<{ name: string; session: ReplicaSession | undefined }> {
    const { roles, sessions } = this.deps;
    const names = new Set<string>([...roles.state.replicas, ...sessions.names()]);
    return [...names].sort().map((name) => ({ name, session: sessions.get(name) }));
  }

  /** Resolves when no write turn is open (the database shows exactly the committed sequence). */
  private async quiescent(): Promise<void> {
    const commits = this.deps.engine.commits;
    for (let i = 0; i < 1000; i++) {
      if (!commits.pending) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    commits.flushNow();
  }
}
