/**
 * The target primary's side of slot migration. A source connects to this
 * node's cluster bus with MigrateBegin: the import is recorded durably,
 * whatever an earlier attempt left in the slots is deleted, and the rows
 * and forwarded writes that follow are applied through the keyspace (so
 * they are logged and replicated to this shard's replicas), each frame
 * acknowledged once committed. MigrateFlip: after its replicas have
 * everything, this node installs the map that gives it the slots (new
 * epoch) and answers with it. MigrateAbort (another connection): the
 * attempt is aborted unless the flip happened, and the answer says which —
 * once answered "aborted", that attempt never flips.
 */
import { performance } from 'node:perf_hooks';
import { moveSlots, rangesToSlots, type ClusterMap } from '../../common/cluster-map.js';
import { AckTimeoutError } from '../replication/ack-gate.js';
import type { BusSocket } from '../replication/bus-socket.js';
import { FrameError, FrameType, encodeJsonFrame, type Frame } from '../replication/frames.js';
import { decodeBatch, type LoggedMutation } from '../replication/batch-codec.js';
import { decodeRows } from '../replication/row-codec.js';
import { deleteSlotKeys, inRanges, ownedHere, replicated } from './cleaner.js';
import type { MigrationDeps } from './deps.js';
import { roundMs } from './metrics.js';
import {
  encodeMigrateAck, parseAbort, parseBegin, parseFlip, type BeginMsg, type ErrorMsg, type FlipMsg, type MigrateErrorCode, type OutcomeMsg,
} from './messages.js';
import { SlotSet, overlaps, ownsAll } from './plan.js';
import { MigrationStore } from './store.js';
import type { ImportRecord } from '../../common/migration.js';

/** The flip waits at most this long for this shard's replicas (bounded by the source's fence timeout too). */
const FLIP_REPLICA_TIMEOUT_MS = 2000;

class ImportRefused extends Error {
  constructor(readonly code: MigrateErrorCode, message: string) {
    super(message);
    this.name = 'ImportRefused';
  }
}

/** One live connection of one import attempt. */
class ImportSession {
  framesReceived = 0;
  framesCommitted = 0;
  /** Some frame's turn was released without enough replica acknowledgements (ack timeout). */
  replicasBehind = false;
  closed = false;
  readonly slotSet: SlotSet;
  private committedWaiters: Array<() => void> = [];

  /**
   * The map the flip installs, computed at the start (moveSlots over every
   * slot costs milliseconds, not to be spent while the source's writes are
   * fenced); valid as long as the installed map is still at begin.mapEpoch.
   */
  readonly nextMap: ClusterMap;

  constructor(readonly bus: BusSocket, readonly begin: BeginMsg, current: ClusterMap) {
    this.slotSet = new SlotSet(begin.slots);
    this.nextMap = moveSlots(current, begin.slots, begin.targetShard, current.epoch + 1);
  }

  committed(n: number): void {
    this.framesCommitted = n;
    if (n >= this.framesReceived) for (const w of this.committedWaiters.splice(0)) w();
  }

  /** Resolves when every frame received so far is committed (and its acknowledgement sent). */
  allCommitted(): Promise<void> {
    if (this.framesCommitted >= this.framesReceived) return Promise.resolve();
    return new Promise((resolve) => this.committedWaiters.push(resolve));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.close(reason);
  }
}

export class MigrationTarget {
  private imports: ImportRecord[];
  private readonly sessions = new Map<string, ImportSession>();
  private readonly store: MigrationStore;
  /** Aborted imports whose leftover keys are being deleted. */
  private cleaning = 0;
  private closed = false;

  constructor(private readonly deps: MigrationDeps) {
    this.store = new MigrationStore(deps.meta, deps.commits);
    this.imports = this.store.loadImports();
  }

  /** At startup: an import whose slots the installed map already gives this shard did flip (crash between install and record). */
  restore(): void {
    let changed = false;
    this.imports = this.imports.map((imp) => {
      if (imp.state === 'importing' && this.flippedHere(imp)) {
        changed = true;
        return { ...imp, state: 'flipped', updatedAt: this.deps.now() };
      }
      return imp;
    });
    if (changed) this.store.saveImports(this.imports);
    const open = this.imports.filter((i) => i.state === 'importing');
    if (open.length > 0) {
      this.deps.logger.warn('slot imports interrupted by a restart: they stay until their source resumes or aborts them', { ids: open.map((i) => i.id) });
    }
  }

  list(): ImportRecord[] {
    return [...this.imports];
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.close('shutting down');
    this.sessions.clear();
  }

  /** First frame of a bus connection: takes it if it is a migration frame. */
  onFirstFrame(bus: BusSocket, f: Frame): boolean {
    if (f.type === FrameType.MigrateBegin) {
      this.onBegin(bus, parseBegin(f.body));
      return true;
    }
    if (f.type === FrameType.MigrateAbort) {
      // The bus server authenticated the peer before this frame (replication/bus-auth.ts).
      const msg = parseAbort(f.body);
      bus.endWith(encodeJsonFrame(FrameType.MigrateOutcome, this.abortUnlessFlipped(msg.id, msg.attempt, `aborted by its source ${msg.source}`)), 'migration abort answered');
      return true;
    }
    return false;
  }

  /**
   * The attempt's outcome, made final: flipped (this node's map gives it the
   * slots) or aborted (recorded, and never flipped afterwards). attempt 0: any.
   */
  abortUnlessFlipped(id: string, attempt: number, why: string): OutcomeMsg {
    const imp = this.imports.find((i) => i.id === id);
    const map = this.deps.cluster.map;
    if (imp !== undefined && this.flippedHere(imp)) {
      if (imp.state !== 'flipped') this.update(imp.id, { state: 'flipped' }, true);
      return { id, state: 'flipped', map };
    }
    if (imp !== undefined && imp.state === 'importing' && (attempt === 0 || attempt >= imp.attempt)) {
      this.sessions.get(id)?.close(why);
      this.sessions.delete(id);
      this.update(id, { state: 'aborted' }, true);
      this.deps.logger.warn('slot import aborted', { id, attempt: imp.attempt, why });
      this.cleanAborted({ ...imp, state: 'aborted' });
    }
    return { id, state: 'aborted', map: null };
  }

  // ---- begin ------------------------------------------------------------------------

  private onBegin(bus: BusSocket, msg: BeginMsg): void {
    bus.pause();
    try {
      this.checkBegin(msg);
    } catch (err) {
      const e = err instanceof ImportRefused ? err : new ImportRefused('failed', (err as Error).message);
      this.refuse(bus, { code: e.code, message: e.message });
      return;
    }
    const now = this.deps.now();
    // A newer attempt of this import, or another import of some of these slots, replaces the old one.
    this.sessions.get(msg.id)?.close('superseded by a new attempt');
    for (const other of this.imports) {
      if (other.state !== 'importing' || other.id === msg.id || !overlaps(other.slots, msg.slots)) continue;
      this.sessions.get(other.id)?.close('superseded by another import of the same slots');
      this.sessions.delete(other.id);
      this.update(other.id, { state: 'aborted' }, false);
    }
    const rec: ImportRecord = {
      id: msg.id, slots: msg.slots, source: msg.source, sourceShard: msg.sourceShard, targetShard: msg.targetShard,
      attempt: msg.attempt, mapEpoch: msg.mapEpoch, state: 'importing',
      keysImported: 0, bytesImported: 0, entriesApplied: 0, startedAt: now, updatedAt: now,
    };
    this.imports = [...this.imports.filter((i) => i.id !== msg.id), rec];
    this.store.saveImports(this.imports);
    const session = new ImportSession(bus, msg, this.deps.cluster.map!);
    this.sessions.set(msg.id, session);
    bus.attach({
      onFrame: (f) => this.onFrame(session, f),
      onClose: (reason) => {
        session.closed = true;
        if (this.sessions.get(msg.id) === session) this.sessions.delete(msg.id);
        if (!this.closed) this.deps.logger.info('slot import connection closed', { id: msg.id, attempt: msg.attempt, reason });
      },
    });
    this.deps.logger.info('slot import started', { id: msg.id, attempt: msg.attempt, source: msg.source, slots: rangesToSlots(msg.slots).length });
    void this.prepare(session);
  }

  private checkBegin(msg: BeginMsg): void {
    const d = this.deps;
    if (d.replication.role() !== 'primary') throw new ImportRefused('not_primary', `${d.name} is not a primary`);
    const map = d.cluster.map;
    if (map === null || map.epoch !== msg.mapEpoch) {
      throw new ImportRefused('stale_map', `${d.name} has cluster map epoch ${map?.epoch ?? 'none'}, the source has ${msg.mapEpoch}: push the same map to both first`);
    }
    const mine = map.shards[d.cluster.myShard];
    if (mine === undefined || mine.id !== msg.targetShard || mine.primary !== d.name) {
      throw new ImportRefused('not_primary', `${d.name} is not the primary of shard ${msg.targetShard} at map epoch ${map.epoch}`);
    }
    const src = map.shards.find((s) => s.id === msg.sourceShard);
    if (src === undefined || src.primary !== msg.source) throw new ImportRefused('not_owner', `${msg.source} is not the primary of shard ${msg.sourceShard} at map epoch ${map.epoch}`);
    if (!ownsAll(map, msg.sourceShard, msg.slots)) throw new ImportRefused('not_owner', `shard ${msg.sourceShard} does not own every slot to migrate at map epoch ${map.epoch}`);
    const done = this.imports.find((i) => i.id === msg.id && i.state === 'flipped');
    if (done !== undefined) throw new ImportRefused('superseded', `migration ${msg.id} already flipped on ${d.name}`);
  }

  /** Deletes what an earlier attempt left, then answers Ready and starts reading rows. */
  private async prepare(session: ImportSession): Promise<void> {
    const msg = session.begin;
    try {
      const slots = rangesToSlots(msg.slots);
      const cleared = await deleteSlotKeys(this.deps.keyspace, this.deps.commits, slots, (slot) => !ownedHere(this.deps.cluster, slot), () => !this.current(session), undefined, this.deps.asMigration);
      await replicated(this.deps.commits);
      if (!this.current(session)) return;
      session.bus.send(encodeJsonFrame(FrameType.MigrateReady, { id: msg.id, attempt: msg.attempt, cleared }));
      session.bus.resume();
    } catch (err) {
      this.failSession(session, 'failed', `preparing the import failed: ${(err as Error).message}`);
    }
  }

  // ---- data and flip -----------------------------------------------------------------

  private onFrame(session: ImportSession, f: Frame): void {
    if (!this.current(session)) throw new FrameError('frame for an import attempt that is no longer current');
    switch (f.type) {
      case FrameType.MigrateRows:
        this.applyRows(session, f.body);
        this.yieldAfterFrame(session);
        return;
      case FrameType.MigrateEntries:
        this.applyEntries(session, f.body);
        this.yieldAfterFrame(session);
        return;
      case FrameType.MigrateFlip:
        void this.flip(session, parseFlip(f.body));
        return;
      default:
        throw new FrameError(`unexpected frame ${FrameType[f.type] ?? f.type} in a slot import`);
    }
  }

  /** One data frame per event-loop turn: client commands interleave, and each turn (and its replication) stays small. */
  private yieldAfterFrame(session: ImportSession): void {
    session.bus.pause();
    setImmediate(() => {
      if (!session.closed) session.bus.resume();
    });
  }

  private applyRows(session: ImportSession, body: Buffer): void {
    this.checkWritable();
    const rows = decodeRows(body);
    const ks = this.deps.keyspace;
    let bytes = 0;
    this.deps.asMigration(() => {
      for (const r of rows) {
        if (!session.slotSet.hasKey(r.key)) throw new FrameError('MigrateRows: a key outside the migrating slots');
        ks.set(r.key, ks.decodeStored(r.key, r.value, r.flags), r.expiresAt);
        bytes += r.key.length + r.value.length;
      }
    });
    this.deps.metrics.keys.inc({ side: 'target' }, rows.length);
    this.deps.metrics.bytes.inc({ side: 'target' }, bytes);
    this.counted(session, { keys: rows.length, bytes, entries: 0 });
  }

  private applyEntries(session: ImportSession, body: Buffer): void {
    this.checkWritable();
    const entries = decodeBatch(body);
    this.deps.asMigration(() => this.applyForwarded(session, entries));
    this.deps.metrics.entries.inc({ side: 'target' }, entries.length);
    this.counted(session, { keys: 0, bytes: 0, entries: entries.length });
  }

  /** The source's committed writes to the migrating slots, applied as the source did. */
  private applyForwarded(session: ImportSession, entries: readonly LoggedMutation[]): void {
    const ks = this.deps.keyspace;
    for (const { m } of entries) {
      if (m.op === 'clear') {
        // FLUSHALL on the source: only the migrating slots are ours to empty.
        for (const slot of session.slotSet.slots) {
          for (const k of ks.keysInSlot(slot, Number.MAX_SAFE_INTEGER, 0)) ks.delete(k, 0);
        }
        continue;
      }
      if (!session.slotSet.hasKey(m.key)) throw new FrameError('MigrateEntries: a key outside the migrating slots');
      // now = 0: apply as the source did, whatever this node's clock says about the key's expiry.
      if (m.op === 'set') ks.set(m.key, m.value, m.expiresAt);
      else if (m.op === 'del') ks.delete(m.key, 0);
      else ks.setExpiry(m.key, m.expiresAt, 0);
    }
  }

  /** Counts the frame, notes progress in the same turn, and acknowledges it once the turn is committed. */
  private counted(session: ImportSession, n: { keys: number; bytes: number; entries: number }): void {
    const frame = ++session.framesReceived;
    const imp = this.imports.find((i) => i.id === session.begin.id);
    if (imp !== undefined) {
      this.update(imp.id, {
        keysImported: imp.keysImported + n.keys, bytesImported: imp.bytesImported + n.bytes, entriesApplied: imp.entriesApplied + n.entries,
      }, false);
    }
    this.deps.commits.afterCommit((err) => {
      // Not acknowledged by enough replicas in time is still committed here; the flip waits for the replicas itself.
      if (err !== null && !(err instanceof AckTimeoutError)) {
        this.failSession(session, 'failed', `applying migrated data failed: ${err.message}`);
        return;
      }
      if (err !== null) session.replicasBehind = true;
      if (session.closed) return;
      session.bus.send(encodeMigrateAck(frame));
      session.committed(frame);
    });
  }

  private async flip(session: ImportSession, msg: FlipMsg): Promise<void> {
    const d = this.deps;
    const begin = session.begin;
    try {
      if (msg.id !== begin.id || msg.attempt !== begin.attempt) throw new ImportRefused('bad_request', `flip for ${msg.id}#${msg.attempt} on the connection of ${begin.id}#${begin.attempt}`);
      if (msg.frames !== session.framesReceived) throw new ImportRefused('bad_request', `the source sent ${msg.frames} data frames, ${session.framesReceived} arrived`);
      const t0 = performance.now();
      await session.allCommitted();
      const t1 = performance.now();
      // Each frame was acknowledged once minSyncReplicas replicas had it, unless an ack timed out: then wait for them here.
      const need = d.replication.effectiveMinSyncReplicas();
      if (need > 0 && session.replicasBehind) {
        const got = await d.replication.waitForReplicas(need, Math.min(FLIP_REPLICA_TIMEOUT_MS, d.options.fenceTimeoutMs));
        if (got < need) throw new ImportRefused('replicas', `only ${got} of ${need} replicas acknowledged the imported data in time`);
      }
      // Everything above awaited: the attempt may have been aborted or replaced meanwhile.
      if (!this.current(session)) return;
      const map = d.cluster.map;
      if (map === null || map.epoch !== msg.mapEpoch) {
        throw new ImportRefused('stale_map', `the cluster map changed during the migration (epoch ${map?.epoch ?? 'none'}, the source has ${msg.mapEpoch})`);
      }
      if (!ownsAll(map, begin.sourceShard, begin.slots)) throw new ImportRefused('not_owner', `shard ${begin.sourceShard} no longer owns every migrating slot`);
      const next = session.nextMap;
      const t2 = performance.now();
      d.cluster.install(next);
      const t3 = performance.now();
      // Not synced on its own: the installed map is the proof of the flip (restore() and abortUnlessFlipped() read it).
      this.update(begin.id, { state: 'flipped' }, false);
      d.logger.info('slot import flipped: this shard now owns the slots', {
        id: begin.id, attempt: begin.attempt, epoch: next.epoch, slots: rangesToSlots(begin.slots).length,
        // Where the flip's time went: the last frames committed (and acknowledged by the replicas), the replica check, the durable install.
        commitMs: roundMs(t1 - t0), replicasMs: roundMs(t2 - t1), installMs: roundMs(t3 - t2),
      });
      session.bus.send(encodeJsonFrame(FrameType.MigrateFlipped, { id: begin.id, attempt: begin.attempt, map: next }));
    } catch (err) {
      if (!this.current(session)) return;
      const e = err instanceof ImportRefused ? err : new ImportRefused('failed', (err as Error).message);
      // The refusal is final: this attempt is aborted before the source hears of it.
      this.abortUnlessFlipped(begin.id, begin.attempt, `flip refused: ${e.message}`);
      this.refuse(session.bus, { code: e.code, message: e.message });
    }
  }

  // ---- helpers ---------------------------------------------------------------------

  private current(session: ImportSession): boolean {
    if (session.closed || this.closed || this.sessions.get(session.begin.id) !== session) return false;
    const imp = this.imports.find((i) => i.id === session.begin.id);
    return imp !== undefined && imp.state === 'importing' && imp.attempt === session.begin.attempt;
  }

  private checkWritable(): void {
    if (this.deps.replication.role() !== 'primary') throw new FrameError(`${this.deps.name} is no longer a primary`);
  }

  private failSession(session: ImportSession, code: MigrateErrorCode, message: string): void {
    this.deps.logger.warn('slot import attempt failed', { id: session.begin.id, attempt: session.begin.attempt, err: message });
    if (this.sessions.get(session.begin.id) === session) this.sessions.delete(session.begin.id);
    this.refuse(session.bus, { code, message });
    session.closed = true;
  }

  private refuse(bus: BusSocket, msg: ErrorMsg): void {
    bus.endWith(encodeJsonFrame(FrameType.MigrateError, msg), `migration refused: ${msg.code}`);
  }

  /** The installed map gives this node's shard every slot of the import (it flipped). */
  private flippedHere(imp: ImportRecord): boolean {
    const map = this.deps.cluster.map;
    return map !== null && map.epoch > imp.mapEpoch && ownsAll(map, imp.targetShard, imp.slots);
  }

  private update(id: string, patch: Partial<ImportRecord>, durable: boolean): void {
    this.imports = this.imports.map((i) => (i.id === id ? { ...i, ...patch, updatedAt: this.deps.now() } : i));
    if (durable) this.store.saveImports(this.imports);
    else this.store.noteImports(this.imports);
  }

  /** Deletes an aborted import's leftovers, slot by slot, skipping slots owned here or being imported again. */
  private cleanAborted(imp: ImportRecord): void {
    this.cleaning++;
    const busy = (slot: number): boolean => this.imports.some((i) => i.state === 'importing' && inRanges(slot, i.slots));
    void deleteSlotKeys(
      this.deps.keyspace, this.deps.commits, rangesToSlots(imp.slots),
      (slot) => !busy(slot) && !ownedHere(this.deps.cluster, slot),
      () => this.closed || this.deps.replication.role() !== 'primary',
      undefined,
      this.deps.asMigration,
    ).then((n) => {
      if (n > 0) this.deps.logger.info('deleted the keys an aborted slot import had copied', { id: imp.id, keys: n });
    }, (err: unknown) => {
      this.deps.logger.warn('deleting the keys of an aborted slot import failed; a new import of these slots deletes them', { id: imp.id, err: (err as Error).message });
    }).finally(() => {
      this.cleaning--;
    });
  }
}
