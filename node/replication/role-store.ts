/**
 * The node's replication state (role, epoch, primary or declared replicas,
 * term history, peers, loading flag) in memory and in the database's meta
 * table. Every change goes through here, so what runs and what is on disk
 * never disagree after a commit.
 */
import type { Term } from '../../common/replication.js';
import type { Logger } from '../../common/logger.js';
import type { NodeConfig } from '../config/schema.js';
import type { SqliteEngine } from '../engine/open.js';
import type { ReplicationLog } from './log.js';
import { STATE_META_KEY, chooseStartState, parseState, serializeState, stateFromConfig, type ReplState } from './state.js';

type StoreEngine = Pick<SqliteEngine, 'meta' | 'commits' | 'keyspace'>;

export class RoleStore {
  private current: ReplState;

  /** Reads the stored state, or the flags' if newer (or nothing is stored). */
  constructor(private readonly engine: StoreEngine, config: NodeConfig, logger: Logger) {
    const stored = engine.meta.get(STATE_META_KEY);
    const chosen = chooseStartState(typeof stored === 'string' ? parseState(stored) : null, stateFromConfig(config));
    this.current = chosen.state;
    if (chosen.source === 'flags' && stored !== undefined && stored !== null) {
      logger.warn('replication role from flags replaces the stored one (newer epoch)', { epoch: this.current.epoch, role: this.current.role });
    }
  }

  get state(): ReplState {
    return this.current;
  }

  /** Replaces the state in memory only: the caller persists it (persistNow) before acting on it. */
  replace(next: ReplState): void {
    this.current = next;
  }

  /** Writes the state in a transaction of its own and syncs it, now. */
  persistNow(): void {
    const commits = this.engine.commits;
    commits.flushNow();
    this.saveInTurn();
    commits.flushNow();
  }

  /** Writes the state within the current write turn (it commits with the writes around it). */
  saveInTurn(): void {
    this.engine.meta.set(STATE_META_KEY, serializeState(this.current));
  }

  /** Replica: the primary's handshake or stream carries a newer epoch / its history (inside the apply turn). */
  adopt(epoch: number, history: readonly Term[] | null): void {
    if (epoch < this.current.epoch) return;
    if (epoch === this.current.epoch && history === null) return;
    this.current = { ...this.current, epoch, history: history ?? this.current.history };
    this.saveInTurn();
  }

  /** Marks the data as incomplete (full resync in progress) or complete, within the current turn. */
  setLoading(loading: boolean): void {
    this.current = { ...this.current, loading };
    this.saveInTurn();
  }

  /**
   * A full resync was interrupted by a crash: what is on disk is a partial
   * copy; empty the keyspace and the log and forget the history. True if so.
   */
  discardInterruptedLoad(log: ReplicationLog): boolean {
    if (!this.current.loading) return false;
    const ks = this.engine.keyspace;
    ks.resetForLoad();
    log.clear();
    ks.finishLoad(0);
    this.current = { ...this.current, loading: false, history: [] };
    this.saveInTurn();
    this.engine.commits.flushNow();
    return true;
  }
}
