/**
 * The pure core of live slot migration: which step the source takes next
 * given its persisted progress and what it observes now, the stage
 * transitions, which logged writes belong to the migrating slots, and the
 * bounds on what may wait in memory (the write backlog and the unacknowledged
 * window). No I/O: the runner in migration-source.ts executes the steps.
 */
import { rangesToSlots, type ClusterMap, type SlotRange } from '../../common/cluster-map.js';
import { SLOT_COUNT, keySlot } from '../../common/slot.js';
import type { Mutation } from '../engine/types.js';
import type { LoggedMutation } from '../replication/batch-codec.js';
import type { MigrationRecord, MigrationStage } from '../../common/migration.js';

/** A migration refused or stopped for a reason an operator can act on. */
export class MigrationError extends Error {
  constructor(readonly code: MigrationErrorCode, message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export type MigrationErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'conflict'
  | 'not_owner'
  | 'busy'
  | 'target_unknown'
  | 'backlog_overflow'
  | 'target_refused'
  | 'connection'
  | 'flipped'
  | 'interrupted';

// ---- the next step ------------------------------------------------------------

/** What the runner observes in this process, beside the persisted record. */
export interface Observations {
  /** A connection to the target answered Ready for the record's attempt and is still open. */
  readonly session: boolean;
  /** Every snapshot row has been sent. */
  readonly rowsSent: boolean;
  /** Logged writes to the migrating slots not yet sent (entries, bytes). */
  readonly backlogEntries: number;
  readonly backlogBytes: number;
  /** Bytes sent and not yet acknowledged by the target. */
  readonly unackedBytes: number;
  /** This process fenced the slots and sent Flip, and waits for the answer. */
  readonly flipSent: boolean;
}

export type Action =
  /** New attempt: connect, MigrateBegin, wait for Ready (the target clears what an earlier attempt left). */
  | { readonly do: 'prepare' }
  /** Rows and forwarded writes are flowing: wait for progress. */
  | { readonly do: 'wait' }
  /** The copy has caught up: fence, commit, forward the rest, send Flip. */
  | { readonly do: 'fence' }
  /** Fenced, but whether the target flipped is unknown (timeout, lost connection, restart): ask it. */
  | { readonly do: 'resolve' }
  /** The target flipped: install its map, lift the fence. */
  | { readonly do: 'flip' }
  /** Delete this node's copy of the moved slots. */
  | { readonly do: 'cleanup' }
  | { readonly do: 'finished' };

/** The copy is close enough to the head that the fence will be short. */
export const CATCH_UP = { maxEntries: 1000, maxBytes: 256 * 1024, maxUnackedBytes: 128 * 1024 } as const;

export function caughtUp(o: Observations): boolean {
  return o.rowsSent && o.backlogEntries <= CATCH_UP.maxEntries && o.backlogBytes <= CATCH_UP.maxBytes && o.unackedBytes <= CATCH_UP.maxUnackedBytes;
}

/**
 * The step to take from the persisted progress and the observations. A copy
 * cannot continue over a new connection (the snapshot and the forwarded
 * stream belong to one attempt), so copying without a live session starts
 * a new attempt; a fence whose Flip this process did not send (restart,
 * lost answer) must first learn whether the target flipped.
 */
export function nextStep(rec: MigrationRecord, o: Observations): Action {
  switch (rec.stage) {
    case 'prepare':
      return { do: 'prepare' };
    case 'copying':
      if (!o.session) return { do: 'prepare' };
      return caughtUp(o) ? { do: 'fence' } : { do: 'wait' };
    case 'fence':
      return o.flipSent ? { do: 'wait' } : { do: 'resolve' };
    case 'flipped':
      return { do: 'flip' };
    case 'cleanup':
      return { do: 'cleanup' };
    case 'done':
    case 'aborted':
      return { do: 'finished' };
  }
}

// ---- transitions ------------------------------------------------------------------

export type MigrationEvent =
  /** A new attempt starts (persisted before connecting). */
  | { readonly type: 'prepare'; readonly mapEpoch: number; readonly target: string }
  /** The target answered Ready: the copy starts. */
  | { readonly type: 'ready' }
  /** Caught up: the fence is about to be set. */
  | { readonly type: 'fence' }
  /** The target flipped and sent its map. */
  | { readonly type: 'flipped'; readonly map: ClusterMap }
  /** The target did not flip this attempt and never will (refused, or aborted it on our request). */
  | { readonly type: 'not_flipped'; readonly reason: string }
  /** The map is installed here and the fence lifted. */
  | { readonly type: 'installed' }
  | { readonly type: 'cleaned' }
  /** Rolled back by the operator (only before the flip). */
  | { readonly type: 'aborted'; readonly reason: string };

const NEXT: Record<MigrationEvent['type'], readonly MigrationStage[]> = {
  prepare: ['prepare', 'copying'],
  ready: ['prepare'],
  fence: ['copying'],
  flipped: ['fence'],
  not_flipped: ['fence'],
  installed: ['flipped'],
  cleaned: ['cleanup'],
  aborted: ['prepare', 'copying', 'fence'],
};

export class IllegalTransitionError extends Error {
  constructor(readonly stage: MigrationStage, readonly event: MigrationEvent['type']) {
    super(`migration in stage ${stage} cannot take event ${event}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The record after `ev`; throws IllegalTransitionError for an event the stage does not allow. */
export function advance(rec: MigrationRecord, ev: MigrationEvent, now: number): MigrationRecord {
  if (!NEXT[ev.type].includes(rec.stage)) throw new IllegalTransitionError(rec.stage, ev.type);
  const base = { ...rec, updatedAt: now };
  switch (ev.type) {
    case 'prepare':
      // A new attempt copies everything again: progress counts restart.
      return { ...base, stage: 'prepare', attempt: rec.attempt + 1, mapEpoch: ev.mapEpoch, target: ev.target, keysCopied: 0, bytesCopied: 0, entriesForwarded: 0 };
    case 'ready':
      return { ...base, stage: 'copying', error: null };
    case 'fence':
      return { ...base, stage: 'fence' };
    case 'flipped':
      return { ...base, stage: 'flipped', newMap: ev.map, flipFailures: 0, error: null };
    case 'not_flipped':
      // The attempt is dead on the target: the next one starts from prepare.
      return { ...base, stage: 'prepare', flipFailures: rec.flipFailures + 1, error: ev.reason };
    case 'installed':
      return { ...base, stage: 'cleanup' };
    case 'cleaned':
      return { ...base, stage: 'done', error: null };
    case 'aborted':
      return { ...base, stage: 'aborted', error: ev.reason };
  }
}

/** Flips that fail in a row before the runner stops and waits for resume. */
export const MAX_FLIP_FAILURES = 3;

/** What a node must do with a migration it finds at startup, before serving clients. */
export interface StartupPlan {
  /** Fence the slots now: the target may have flipped (stage fence). */
  readonly fence: boolean;
  /** Install record.newMap now: the flip happened and this node may not have installed it yet. */
  readonly install: boolean;
  /** Continue by itself (finishing a flip is always safe); otherwise wait for resume or abort. */
  readonly autoRun: boolean;
}

export function startupPlan(rec: MigrationRecord): StartupPlan {
  switch (rec.stage) {
    case 'fence':
      return { fence: true, install: false, autoRun: true };
    case 'flipped':
      return { fence: false, install: true, autoRun: true };
    case 'cleanup':
      return { fence: false, install: false, autoRun: true };
    default:
      return { fence: false, install: false, autoRun: false };
  }
}

// ---- slots and logged writes ----------------------------------------------------------

/** Membership of the migrating slots, O(1) per key. */
export class SlotSet {
  private readonly bits = new Uint8Array(SLOT_COUNT);
  readonly slots: readonly number[];

  constructor(ranges: readonly SlotRange[]) {
    this.slots = rangesToSlots(ranges);
    for (const s of this.slots) this.bits[s] = 1;
  }

  has(slot: number): boolean {
    return this.bits[slot] === 1;
  }

  hasKey(key: Uint8Array): boolean {
    return this.bits[keySlot(key)] === 1;
  }
}

/**
 * A logged write to forward to the target. `clear` (FLUSHALL) becomes
 * 'clear-slots': the target deletes every key of the migrating slots.
 */
export type Forward =
  | { readonly op: 'set'; readonly key: Buffer; readonly value: Buffer; readonly expiresAt: number | null }
  | { readonly op: 'del'; readonly key: Buffer }
  | { readonly op: 'expire'; readonly key: Buffer; readonly expiresAt: number | null }
  | { readonly op: 'clear-slots' };

/**
 * The entries after `afterSeq` that touch the migrating slots, as forwards.
 * Keys and values are copied: a logged batch is one buffer, and holding a
 * subarray of it would keep the whole batch alive.
 */
export function filterEntries(entries: readonly LoggedMutation[], slots: SlotSet, afterSeq: number): Forward[] {
  const out: Forward[] = [];
  for (const { seq, m } of entries) {
    if (seq <= afterSeq) continue;
    const f = toForward(m, slots);
    if (f !== null) out.push(f);
  }
  return out;
}

function toForward(m: Mutation, slots: SlotSet): Forward | null {
  if (m.op === 'clear') return { op: 'clear-slots' };
  if (!slots.hasKey(m.key)) return null;
  switch (m.op) {
    case 'set':
      return { op: 'set', key: Buffer.from(m.key), value: Buffer.from(m.value), expiresAt: m.expiresAt };
    case 'del':
      return { op: 'del', key: Buffer.from(m.key) };
    case 'expire':
      return { op: 'expire', key: Buffer.from(m.key), expiresAt: m.expiresAt };
  }
}

/** Memory a forward holds while queued (the same estimate the log uses for its batches). */
export function forwardBytes(f: Forward): number {
  return 32 + (f.op === 'clear-slots' ? 0 : f.key.length) + (f.op === 'set' ? f.value.length : 0);
}

/** The forward as a mutation, for the wire (the target decodes 'clear' as clear-slots). */
export function forwardToMutation(f: Forward): Mutation {
  return f.op === 'clear-slots' ? { op: 'clear' } : f;
}

/**
 * Writes waiting to be forwarded, in commit order, bounded in bytes: the
 * source queues while it sends the snapshot, and a write load that outruns
 * the copy must fail the attempt rather than exhaust memory.
 */
export class Backlog {
  private items: Forward[] = [];
  private head = 0;
  private bytesValue = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.bytesValue;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends; throws MigrationError('backlog_overflow') when the bound would be passed (nothing is added then). */
  push(forwards: readonly Forward[]): void {
    let add = 0;
    for (const f of forwards) add += forwardBytes(f);
    if (this.bytesValue + add > this.maxBytes) {
      throw new MigrationError('backlog_overflow',
        `writes to the migrating slots queued faster than the target applied them: over ${this.maxBytes} bytes waiting to be forwarded; resume to retry (ideally when the write load is lower)`);
    }
    for (const f of forwards) this.items.push(f);
    this.bytesValue += add;
  }

  /** Removes and returns the oldest forwards, about maxBytes of them (at least one if any). */
  take(maxBytes: number): Forward[] {
    const out: Forward[] = [];
    let bytes = 0;
    while (this.head < this.items.length && (out.length === 0 || bytes < maxBytes)) {
      const f = this.items[this.head++]!;
      bytes += forwardBytes(f);
      out.push(f);
    }
    this.bytesValue -= bytes;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytesValue = 0;
  }
}

/**
 * Flow control for the data frames of one attempt: frames are numbered in
 * sending order, the target acknowledges how many it has applied and
 * committed, and the sender stops while more than `limit` bytes are
 * unacknowledged.
 */
export class AckWindow {
  private sizes: number[] = [];
  private ackedFrames = 0;
  private unacked = 0;

  constructor(readonly limit: number) {}

  get sentFrames(): number {
    return this.ackedFrames + this.sizes.length;
  }

  get unackedBytes(): number {
    return this.unacked;
  }

  get acked(): number {
    return this.ackedFrames;
  }

  canSend(): boolean {
    return this.unacked < this.limit;
  }

  sent(bytes: number): void {
    this.sizes.push(bytes);
    this.unacked += bytes;
  }

  /** The target has applied `frames` frames in all; throws on an ack for frames never sent or going backwards. */
  ack(frames: number): void {
    if (frames < this.ackedFrames || frames > this.sentFrames) {
      throw new MigrationError('target_refused', `the target acknowledged ${frames} frames; ${this.ackedFrames} were acknowledged and ${this.sentFrames} sent`);
    }
    const n = frames - this.ackedFrames;
    for (let i = 0; i < n; i++) this.unacked -= this.sizes[i]!;
    this.sizes = this.sizes.slice(n);
    this.ackedFrames = frames;
  }
}

// ---- requests --------------------------------------------------------------------------

export const MIGRATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The fields of a new migration record (stage prepare, attempt 0: the first prepare raises it). */
export function newRecord(req: { id: string; slots: readonly SlotRange[]; source: string; sourceShard: string; target: string; targetShard: string; mapEpoch: number }, now: number): MigrationRecord {
  return {
    ...req, stage: 'prepare', attempt: 0, newMap: null, flipFailures: 0,
    keysCopied: 0, bytesCopied: 0, entriesForwarded: 0, keysDeleted: 0, startedAt: now, updatedAt: now, error: null,
  };
}

/**
 * Whether `map` lets `node` start moving `slots` to `targetShard`: the node
 * is its shard's primary in the map, owns every slot, and the target shard
 * exists with a primary that has an address. Returns the shard names and
 * the target's address, or throws MigrationError.
 */
export function checkSource(map: ClusterMap | null, node: string, slots: readonly SlotRange[], targetShard: string): {
  sourceShard: string;
  target: { name: string; host: string; busPort: number };
} {
  if (map === null) throw new MigrationError('not_owner', 'this node has no cluster map: push one (PUT /admin/cluster/map) before migrating slots');
  const mine = map.shards.find((s) => s.primary === node);
  if (mine === undefined) throw new MigrationError('not_owner', `${node} is not a shard primary in the cluster map (epoch ${map.epoch})`);
  const owned = new SlotSet(mine.slots);
  for (const s of rangesToSlots(slots)) {
    if (!owned.has(s)) throw new MigrationError('not_owner', `slot ${s} is not served by this node's shard ${mine.id} at map epoch ${map.epoch}`);
  }
  const to = map.shards.find((s) => s.id === targetShard);
  if (to === undefined) throw new MigrationError('target_unknown', `shard ${targetShard} is not in the cluster map (epoch ${map.epoch})`);
  if (to.id === mine.id) throw new MigrationError('bad_request', `the slots already belong to shard ${targetShard}`);
  const node2 = map.nodes.find((n) => n.name === to.primary);
  if (node2 === undefined) throw new MigrationError('target_unknown', `the primary ${to.primary} of shard ${targetShard} has no address in the map`);
  return { sourceShard: mine.id, target: { name: node2.name, host: node2.host, busPort: node2.busPort } };
}

/** Whether every slot of `slots` is served by shard `shardId` in `map`. */
export function ownsAll(map: ClusterMap | null, shardId: string, slots: readonly SlotRange[]): boolean {
  if (map === null) return false;
  const shard = map.shards.find((s) => s.id === shardId);
  if (shard === undefined) return false;
  const set = new SlotSet(shard.slots);
  return rangesToSlots(slots).every((s) => set.has(s));
}

/** Whether two range lists share a slot. */
export function overlaps(a: readonly SlotRange[], b: readonly SlotRange[]): boolean {
  const set = new SlotSet(a);
  return rangesToSlots(b).some((s) => set.has(s));
}
