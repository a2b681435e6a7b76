/**
 * The JSON control messages of the cluster bus and their validating parsers.
 * Each parser returns a well-typed message or throws FrameError
 * (common/frame-fields.ts: every field checked, the bad one named).
 * Pure: no I/O.
 */
import type { PeerAddress, SlotDigest, Term } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { isObject, parseJsonObject, type FrameFields } from '../../common/frame-fields.js';

/** Sent after the peer authentication (bus-auth.ts): no message carries the cluster secret. */
export interface HelloMsg {
  v: 1;
  name: string;
  epoch: number;
  /** The primary this replica believes it follows ('' if it does not know its name). */
  expectPrimary: string;
  seq: number;
  termId: string;
  respHost: string;
  respPort: number;
  busHost: string;
  busPort: number;
  /** The replica understands TraceContext frames (absent from older replicas: they never get one). */
  trace?: boolean;
}

export interface WelcomeMsg {
  epoch: number;
  name: string;
  respHost: string;
  respPort: number;
  history: Term[];
  mode: 'partial' | 'full';
  fromSeq: number;
}

export type RefuseCode = 'auth' | 'stale_epoch' | 'not_primary' | 'bad_request' | 'fenced' | 'busy';

export interface RefuseMsg {
  code: RefuseCode;
  message: string;
  epoch: number;
  primary: PeerAddress | null;
}

export interface SnapshotBeginMsg {
  seq: number;
  keys: number;
  history: Term[];
}

export interface SnapshotEndMsg {
  seq: number;
  keys: number;
  bytes: number;
}

export interface DigestRequestMsg {
  id: number;
  /** The highest DigestReply format the primary reads (digest-codec.ts); 1 (JSON) when absent: an older primary. */
  format: number;
}

export interface DigestReplyMsg {
  id: number;
  seq: number;
  slots: SlotDigest[];
}

export interface ProbeMsg {
  name: string;
  epoch: number;
}

export interface ProbeReplyMsg {
  name: string;
  epoch: number;
  role: 'primary' | 'replica';
  primary: PeerAddress | null;
}

export interface PingMsg {
  epoch: number;
  seq: number;
  time: number;
}

export const MAX_HISTORY_TERMS = 1000;
const MAX_TERM_ID = 64;
const REFUSE_CODES: readonly RefuseCode[] = ['auth', 'stale_epoch', 'not_primary', 'bad_request', 'fenced', 'busy'];
const HASH_HEX = /^[0-9a-f]{16}$/;

function readHistory(f: FrameFields, field: string): Term[] {
  const items = f.array(field, MAX_HISTORY_TERMS);
  const terms: Term[] = [];
  for (let i = 0; i < items.length; i++) {
    const t = f.nested(`${field}[${i}]`, items[i]);
    const term: Term = { epoch: t.uint('epoch'), id: t.str('id', { max: MAX_TERM_ID, nonEmpty: true }), firstSeq: t.uint('firstSeq') };
    if (term.firstSeq < 1) t.fail('firstSeq', 'an integer >= 1', term.firstSeq);
    const prev = terms[i - 1];
    // history.ts relies on this order (and startTerm only ever produces it).
    if (prev !== undefined && term.firstSeq <= prev.firstSeq) t.fail('firstSeq', `greater than the previous term's ${prev.firstSeq}`, term.firstSeq);
    if (prev !== undefined && term.epoch < prev.epoch) t.fail('epoch', `at least the previous term's ${prev.epoch}`, term.epoch);
    terms.push(term);
  }
  return terms;
}

function readPeerOrNull(f: FrameFields, field: string): PeerAddress | null {
  const v = f.get(field);
  if (v === null) return null;
  if (!isObject(v)) f.fail(field, 'an object {name, host, busPort} or null', v);
  const p = f.nested(field, v);
  return { name: p.nodeName('name'), host: p.host('host'), busPort: p.port('busPort') };
}

export function parseHello(body: Buffer): HelloMsg {
  const f = parseJsonObject(body, 'Hello');
  if (f.get('v') !== 1) f.fail('v', 'the protocol version 1', f.get('v'));
  return {
    v: 1,
    name: f.nodeName('name'),
    epoch: f.uint('epoch'),
    expectPrimary: f.nodeName('expectPrimary', true),
    seq: f.uint('seq'),
    termId: f.str('termId', { max: MAX_TERM_ID }),
    respHost: f.host('respHost'),
    respPort: f.port('respPort'),
    busHost: f.host('busHost'),
    busPort: f.port('busPort'),
    ...(f.get('trace') === true ? { trace: true } : {}),
  };
}

/** A traced turn's W3C traceparent, sent ahead of the Entries that end at `seq`. */
export interface TraceContextMsg {
  seq: number;
  traceparent: string;
}

export function parseTraceContext(body: Buffer): TraceContextMsg {
  const f = parseJsonObject(body, 'TraceContext');
  return { seq: f.uint('seq'), traceparent: f.str('traceparent', { max: 256 }) };
}

export function parseWelcome(body: Buffer): WelcomeMsg {
  const f = parseJsonObject(body, 'Welcome');
  return {
    epoch: f.uint('epoch'),
    name: f.nodeName('name'),
    respHost: f.host('respHost'),
    respPort: f.port('respPort'),
    history: readHistory(f, 'history'),
    mode: f.oneOf('mode', ['partial', 'full'] as const),
    fromSeq: f.uint('fromSeq'),
  };
}

export function parseRefuse(body: Buffer): RefuseMsg {
  const f = parseJsonObject(body, 'Refuse');
  return { code: f.oneOf('code', REFUSE_CODES), message: f.str('message'), epoch: f.uint('epoch'), primary: readPeerOrNull(f, 'primary') };
}

export function parseSnapshotBegin(body: Buffer): SnapshotBeginMsg {
  const f = parseJsonObject(body, 'SnapshotBegin');
  return { seq: f.uint('seq'), keys: f.uint('keys'), history: readHistory(f, 'history') };
}

export function parseSnapshotEnd(body: Buffer): SnapshotEndMsg {
  const f = parseJsonObject(body, 'SnapshotEnd');
  return { seq: f.uint('seq'), keys: f.uint('keys'), bytes: f.uint('bytes') };
}

export function parseDigestRequest(body: Buffer): DigestRequestMsg {
  const f = parseJsonObject(body, 'DigestRequest');
  return { id: f.uint('id'), format: f.get('format') === undefined ? 1 : f.uint('format', 255) };
}

export function parseDigestReply(body: Buffer): DigestReplyMsg {
  const f = parseJsonObject(body, 'DigestReply');
  const id = f.uint('id');
  const seq = f.uint('seq');
  const items = f.array('slots', SLOT_COUNT);
  const slots: SlotDigest[] = items.map((item, i) => {
    const s = f.nested(`slots[${i}]`, item);
    return { slot: s.uint('slot', SLOT_COUNT - 1), count: s.uint('count'), hash: s.matching('hash', HASH_HEX, '16 lowercase hex characters') };
  });
  return { id, seq, slots };
}

export function parseProbe(body: Buffer): ProbeMsg {
  const f = parseJsonObject(body, 'Probe');
  return { name: f.nodeName('name'), epoch: f.uint('epoch') };
}

export function parseProbeReply(body: Buffer): ProbeReplyMsg {
  const f = parseJsonObject(body, 'ProbeReply');
  return { name: f.nodeName('name'), epoch: f.uint('epoch'), role: f.oneOf('role', ['primary', 'replica'] as const), primary: readPeerOrNull(f, 'primary') };
}

export function parsePing(body: Buffer): PingMsg {
  const f = parseJsonObject(body, 'Ping');
  return { epoch: f.uint('epoch'), seq: f.uint('seq'), time: f.num('time') };
}
