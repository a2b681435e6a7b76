/**
 * The slot-migration messages of the cluster bus and their validating
 * parsers (the JSON control frames), plus the small binary bodies. The peer
 * is another process, so every field is checked: a parser returns a typed
 * message or throws FrameError naming the message and the field. Pure.
 *
 * A migration connection (source → target primary):
 *   source: MigrateBegin                 target: MigrateReady | MigrateError
 *   source: MigrateRows / MigrateEntries target: MigrateAck (frames applied and committed)
 *   source: MigrateFlip                  target: MigrateFlipped | MigrateError
 * A resolve connection: source MigrateAbort → target MigrateOutcome (the
 * target aborts the attempt unless it has flipped, and says which).
 */
import { ClusterMapError, NODE_NAME, normalizeRanges, parseClusterMap, type ClusterMap, type SlotRange } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { FrameError, FrameType, encodeFrame } from '../replication/frames.js';
import { MIGRATION_ID } from './plan.js';

export interface BeginMsg {
  v: 1;
  token: string;
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
  token: string;
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
const MAX_TEXT = 64 * 1024;

type Obj = Record<string, unknown>;

class Fields {
  constructor(readonly what: string, private readonly o: Obj) {}

  fail(field: string, expected: string): never {
    throw new FrameError(`${this.what}: field '${field}' must be ${expected}`);
  }

  get(field: string): unknown {
    return Object.prototype.hasOwnProperty.call(this.o, field) ? this.o[field] : undefined;
  }

  uint(field: string): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(field, 'a non-negative safe integer');
    return v;
  }

  str(field: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || v.length > MAX_TEXT) this.fail(field, `a string of at most ${MAX_TEXT} characters`);
    return v;
  }

  name(field: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || !NODE_NAME.test(v)) this.fail(field, 'a node or shard name');
    return v;
  }

  id(field: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || !MIGRATION_ID.test(v)) this.fail(field, 'a migration id (letters, digits, ".", "_", "-"; at most 128)');
    return v;
  }

  slots(field: string): SlotRange[] {
    const v = this.get(field);
    const ranges = parseSlotRanges(v);
    if (ranges === null) this.fail(field, `a non-empty array of [first, last] slot ranges within 0..${SLOT_COUNT - 1}`);
    return ranges;
  }

  map(field: string): ClusterMap {
    try {
      return parseClusterMap(this.get(field));
    } catch (err) {
      if (err instanceof ClusterMapError) this.fail(field, `a valid cluster map (${err.message})`);
      throw err;
    }
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

function parseObject(body: Buffer, what: string): Fields {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new FrameError(`${what}: body is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FrameError(`${what}: body must be a JSON object`);
  return new Fields(what, v as Obj);
}

export function parseBegin(body: Buffer): BeginMsg {
  const f = parseObject(body, 'MigrateBegin');
  if (f.get('v') !== 1) f.fail('v', 'the protocol version 1');
  return {
    v: 1, token: f.str('token'), id: f.id('id'), attempt: f.uint('attempt'), slots: f.slots('slots'),
    source: f.name('source'), sourceShard: f.name('sourceShard'), targetShard: f.name('targetShard'), mapEpoch: f.uint('mapEpoch'),
  };
}

export function parseReady(body: Buffer): ReadyMsg {
  const f = parseObject(body, 'MigrateReady');
  return { id: f.id('id'), attempt: f.uint('attempt'), cleared: f.uint('cleared') };
}

export function parseFlip(body: Buffer): FlipMsg {
  const f = parseObject(body, 'MigrateFlip');
  return { id: f.id('id'), attempt: f.uint('attempt'), lastSeq: f.uint('lastSeq'), frames: f.uint('frames'), mapEpoch: f.uint('mapEpoch') };
}

export function parseFlipped(body: Buffer): FlippedMsg {
  const f = parseObject(body, 'MigrateFlipped');
  return { id: f.id('id'), attempt: f.uint('attempt'), map: f.map('map') };
}

export function parseAbort(body: Buffer): AbortMsg {
  const f = parseObject(body, 'MigrateAbort');
  return { token: f.str('token'), id: f.id('id'), attempt: f.uint('attempt'), source: f.name('source') };
}

export function parseOutcome(body: Buffer): OutcomeMsg {
  const f = parseObject(body, 'MigrateOutcome');
  const raw = f.get('state');
  if (raw !== 'flipped' && raw !== 'aborted') f.fail('state', "'flipped' or 'aborted'");
  const state = raw as OutcomeMsg['state'];
  const map = state === 'flipped' ? f.map('map') : null;
  return { id: f.id('id'), state, map };
}

export function parseError(body: Buffer): ErrorMsg {
  const f = parseObject(body, 'MigrateError');
  const code = f.get('code');
  if (typeof code !== 'string' || !(ERROR_CODES as readonly string[]).includes(code)) f.fail('code', `one of ${ERROR_CODES.join(', ')}`);
  return { code: code as MigrateErrorCode, message: f.str('message') };
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
