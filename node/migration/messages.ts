/**
 * The slot-migration messages of the cluster bus and their validating
 * parsers (the JSON control frames), plus the small binary bodies. A parser
 * returns a typed message or throws FrameError naming the message and the
 * field (common/frame-fields.ts). Pure.
 *
 * A migration connection (source → target primary):
 *   source: MigrateBegin                 target: MigrateReady | MigrateError
 *   source: MigrateRows / MigrateEntries target: MigrateAck (frames applied and committed)
 *   source: MigrateFlip                  target: MigrateFlipped | MigrateError
 * A resolve connection: source MigrateAbort → target MigrateOutcome (the
 * target aborts the attempt unless it has flipped, and says which).
 */
import { ClusterMapError, normalizeRanges, parseClusterMap, type ClusterMap, type SlotRange } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { FrameError, parseJsonObject, type FrameFields } from '../../common/frame-fields.js';
import { FrameType, encodeFrame } from '../replication/frames.js';
import { MIGRATION_ID } from './plan.js';

/** Sent after the peer authentication (replication/bus-auth.ts): no message carries the cluster secret. */
export interface BeginMsg {
  v: 1;
  id: string;
  attempt: number;
  slots: SlotRange[];
  source: string;
  sourceShard: string;
  targetShard: string;
  mapEpoch: number;
}

export interface ReadyMsg {
  id: string;
  attempt: number;
  /** Keys an earlier attempt had left in the slots, deleted before answering. */
  cleared: number;
}

export interface FlipMsg {
  id: string;
  attempt: number;
  /** The source's last committed sequence when it fenced (diagnostics). */
  lastSeq: number;
  /** Data frames sent in this attempt: the target checks it applied exactly these. */
  frames: number;
  mapEpoch: number;
}

export interface FlippedMsg {
  id: string;
  attempt: number;
  map: ClusterMap;
}

export interface AbortMsg {
  id: string;
  /** The attempt to abort unless flipped; 0: whatever attempt the target has. */
  attempt: number;
  source: string;
}

export interface OutcomeMsg {
  id: string;
  state: 'flipped' | 'aborted';
  /** The target's map when it flipped. */
  map: ClusterMap | null;
}

export type MigrateErrorCode = 'auth' | 'not_primary' | 'stale_map' | 'not_owner' | 'bad_request' | 'superseded' | 'replicas' | 'failed';

export interface ErrorMsg {
  code: MigrateErrorCode;
  message: string;
}

const ERROR_CODES: readonly MigrateErrorCode[] = ['auth', 'not_primary', 'stale_map', 'not_owner', 'bad_request', 'superseded', 'replicas', 'failed'];

function migrationId(f: FrameFields, field: string): string {
  return f.matching(field, MIGRATION_ID, 'a migration id (letters, digits, ".", "_", "-"; at most 128)');
}

function slotRanges(f: FrameFields, field: string): SlotRange[] {
  const v = f.get(field);
  const ranges = parseSlotRanges(v);
  if (ranges === null) f.fail(field, `a non-empty array of [first, last] slot ranges within 0..${SLOT_COUNT - 1}`, v);
  return ranges;
}

function clusterMap(f: FrameFields, field: string): ClusterMap {
  const v = f.get(field);
  try {
    return parseClusterMap(v);
  } catch (err) {
    if (err instanceof ClusterMapError) f.fail(field, `a valid cluster map (${err.message})`, v);
    throw err;
  }
}

/** Sorted, merged ranges, or null if `v` is not a non-empty array of valid [first, last] pairs. */
export function parseSlotRanges(v: unknown): SlotRange[] | null {
  if (!Array.isArray(v) || v.length === 0 || v.length > SLOT_COUNT) return null;
  const out: Array<readonly [number, number]> = [];
  for (const r of v) {
    if (!Array.isArray(r) || r.length !== 2) return null;
    const [a, b] = r as unknown[];
    if (!isSlot(a) || !isSlot(b) || a > b) return null;
    out.push([a, b]);
  }
  return normalizeRanges(out);
}

function isSlot(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < SLOT_COUNT;
}

export function parseBegin(body: Buffer): BeginMsg {
  const f = parseJsonObject(body, 'MigrateBegin');
  if (f.get('v') !== 1) f.fail('v', 'the protocol version 1', f.get('v'));
  return {
    v: 1, id: migrationId(f, 'id'), attempt: f.uint('attempt'), slots: slotRanges(f, 'slots'),
    source: f.nodeName('source'), sourceShard: f.nodeName('sourceShard'), targetShard: f.nodeName('targetShard'), mapEpoch: f.uint('mapEpoch'),
  };
}

export function parseReady(body: Buffer): ReadyMsg {
  const f = parseJsonObject(body, 'MigrateReady');
  return { id: migrationId(f, 'id'), attempt: f.uint('attempt'), cleared: f.uint('cleared') };
}

export function parseFlip(body: Buffer): FlipMsg {
  const f = parseJsonObject(body, 'MigrateFlip');
  return { id: migrationId(f, 'id'), attempt: f.uint('attempt'), lastSeq: f.uint('lastSeq'), frames: f.uint('frames'), mapEpoch: f.uint('mapEpoch') };
}

export function parseFlipped(body: Buffer): FlippedMsg {
  const f = parseJsonObject(body, 'MigrateFlipped');
  return { id: migrationId(f, 'id'), attempt: f.uint('attempt'), map: clusterMap(f, 'map') };
}

export function parseAbort(body: Buffer): AbortMsg {
  const f = parseJsonObject(body, 'MigrateAbort');
  return { id: migrationId(f, 'id'), attempt: f.uint('attempt'), source: f.nodeName('source') };
}

export function parseOutcome(body: Buffer): OutcomeMsg {
  const f = parseJsonObject(body, 'MigrateOutcome');
  const state = f.oneOf('state', ['flipped', 'aborted'] as const);
  const map = state === 'flipped' ? clusterMap(f, 'map') : null;
  return { id: migrationId(f, 'id'), state, map };
}

export function parseError(body: Buffer): ErrorMsg {
  const f = parseJsonObject(body, 'MigrateError');
  return { code: f.oneOf('code', ERROR_CODES), message: f.str('message') };
}

// ---- binary bodies --------------------------------------------------------------

/** MigrateAck: [f64 data frames applied and committed, in all]. */
export function encodeMigrateAck(frames: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeDoubleBE(frames, 0);
  return encodeFrame(FrameType.MigrateAck, body);
}

export function decodeMigrateAck(body: Buffer): number {
  if (body.length !== 8) throw new FrameError(`MigrateAck: body must be 8 bytes, got ${body.length}`);
  const v = body.readDoubleBE(0);
  if (!Number.isSafeInteger(v) || v < 0) throw new FrameError(`MigrateAck: frame count ${v} is not a non-negative integer`);
  return v;
}
