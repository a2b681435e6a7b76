/**
 * The JSON control messages of the cluster bus and their validating parsers.
 * A peer is another process (maybe another version, maybe not ours at all),
 * so every field is checked: each parser returns a well-typed message or
 * throws FrameError naming the message, the field and what was expected.
 * Fields a parser does not know are ignored (newer peers may add some).
 * Pure: no I/O.
 */
import type { PeerAddress, SlotDigest, Term } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { FrameError } from './frames.js';
import { NODE_NAME } from './peer-address.js';

export interface HelloMsg {
  v: 1;
  token: string;
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
}

export interface DigestReplyMsg {
  id: number;
  seq: number;
  slots: SlotDigest[];
}

export interface ProbeMsg {
  token: string;
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
/** Hosts are DNS names or IP literals. */
const MAX_HOST = 255;
/** Tokens and human-readable messages: generous, but bounded. */
const MAX_TEXT = 64 * 1024;
const REFUSE_CODES: readonly RefuseCode[] = ['auth', 'stale_epoch', 'not_primary', 'bad_request', 'fenced', 'busy'];
const HASH_HEX = /^[0-9a-f]{16}$/;

type Obj = Record<string, unknown>;

/** Field readers for one message; every error message starts with the message's name. */
class Fields {
  constructor(
    readonly what: string,
    private readonly o: Obj,
    private readonly path = '',
  ) {}

  fail(field: string, expected: string, got: unknown): never {
    throw new FrameError(`${this.what}: field '${this.path}${field}' must be ${expected}, got ${describe(got)}`);
  }

  get(field: string): unknown {
    return Object.prototype.hasOwnProperty.call(this.o, field) ? this.o[field] : undefined;
  }

  uint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      this.fail(field, max === Number.MAX_SAFE_INTEGER ? 'a non-negative safe integer' : `an integer in 0..${max}`, v);
    }
    return v;
  }

  /** A finite non-negative number (times may carry fractions of a millisecond). */
  num(field: string): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, 'a finite non-negative number', v);
    return v;
  }

  port(field: string): number {
    return this.uint(field, 65535);
  }

  str(field: string, opts: { max?: number; nonEmpty?: boolean } = {}): string {
    const v = this.get(field);
    const max = opts.max ?? MAX_TEXT;
    if (typeof v !== 'string' || v.length > max || (opts.nonEmpty === true && v.length === 0)) {
      this.fail(field, `a ${opts.nonEmpty === true ? 'non-empty ' : ''}string of at most ${max} characters`, v);
    }
    return v;
  }

  matching(field: string, re: RegExp, expected: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || !re.test(v)) this.fail(field, expected, v);
    return v;
  }

  nodeName(field: string, allowEmpty = false): string {
    const v = this.get(field);
    if (typeof v !== 'string' || !((allowEmpty && v === '') || NODE_NAME.test(v))) {
      this.fail(field, `a node name (letters, digits, '.', '_', '-'; at most 253)${allowEmpty ? ' or an empty string' : ''}`, v);
    }
    return v;
  }

  host(field: string): string {
    return this.str(field, { max: MAX_HOST, nonEmpty: true });
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.get(field);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
    return v as T;
  }

  array(field: string, maxItems: number): unknown[] {
    const v = this.get(field);
    if (!Array.isArray(v) || v.length > maxItems) this.fail(field, `an array of at most ${maxItems} items`, v);
    return v;
  }

  /** The nested object at `field` (index path for arrays), with the path carried into its errors. */
  nested(field: string, v: unknown = this.get(field)): Fields {
    if (!isObject(v)) this.fail(field, 'an object', v);
    return new Fields(this.what, v, `${this.path}${field}.`);
  }

  history(field: string): Term[] {
    const items = this.array(field, MAX_HISTORY_TERMS);
    const terms: Term[] = [];
    for (let i = 0; i < items.length; i++) {
      const f = this.nested(`${field}[${i}]`, items[i]);
      const term: Term = { epoch: f.uint('epoch'), id: f.str('id', { max: MAX_TERM_ID, nonEmpty: true }), firstSeq: f.uint('firstSeq') };
      if (term.firstSeq < 1) f.fail('firstSeq', 'an integer >= 1', term.firstSeq);
      const prev = terms[i - 1];
      // history.ts relies on this order (and startTerm only ever produces it).
      if (prev !== undefined && term.firstSeq <= prev.firstSeq) f.fail('firstSeq', `greater than the previous term's ${prev.firstSeq}`, term.firstSeq);
      if (prev !== undefined && term.epoch < prev.epoch) f.fail('epoch', `at least the previous term's ${prev.epoch}`, term.epoch);
      terms.push(term);
    }
    return terms;
  }

  peerOrNull(field: string): PeerAddress | null {
    const v = this.get(field);
    if (v === null) return null;
    if (!isObject(v)) this.fail(field, 'an object {name, host, busPort} or null', v);
    const f = this.nested(field, v);
    return { name: f.nodeName('name'), host: f.host('host'), busPort: f.port('busPort') };
  }
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length} items`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 40 ? `a ${v.length}-character string` : `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function parseObject(body: Buffer, what: string): Fields {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new FrameError(`${what}: body is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new FrameError(`${what}: body must be a JSON object, got ${describe(v)}`);
  return new Fields(what, v);
}

export function parseHello(body: Buffer): HelloMsg {
  const f = parseObject(body, 'Hello');
  if (f.get('v') !== 1) f.fail('v', 'the protocol version 1', f.get('v'));
  return {
    v: 1,
    token: f.str('token'),
    name: f.nodeName('name'),
    epoch: f.uint('epoch'),
    expectPrimary: f.nodeName('expectPrimary', true),
    seq: f.uint('seq'),
    termId: f.str('termId', { max: MAX_TERM_ID }),
    respHost: f.host('respHost'),
    respPort: f.port('respPort'),
    busHost: f.host('busHost'),
    busPort: f.port('busPort'),
  };
}

export function parseWelcome(body: Buffer): WelcomeMsg {
  const f = parseObject(body, 'Welcome');
  return {
    epoch: f.uint('epoch'),
    name: f.nodeName('name'),
    respHost: f.host('respHost'),
    respPort: f.port('respPort'),
    history: f.history('history'),
    mode: f.oneOf('mode', ['partial', 'full'] as const),
    fromSeq: f.uint('fromSeq'),
  };
}

export function parseRefuse(body: Buffer): RefuseMsg {
  const f = parseObject(body, 'Refuse');
  return { code: f.oneOf('code', REFUSE_CODES), message: f.str('message'), epoch: f.uint('epoch'), primary: f.peerOrNull('primary') };
}

export function parseSnapshotBegin(body: Buffer): SnapshotBeginMsg {
  const f = parseObject(body, 'SnapshotBegin');
  return { seq: f.uint('seq'), keys: f.uint('keys'), history: f.history('history') };
}

export function parseSnapshotEnd(body: Buffer): SnapshotEndMsg {
  const f = parseObject(body, 'SnapshotEnd');
  return { seq: f.uint('seq'), keys: f.uint('keys'), bytes: f.uint('bytes') };
}

export function parseDigestRequest(body: Buffer): DigestRequestMsg {
  const f = parseObject(body, 'DigestRequest');
  return { id: f.uint('id') };
}

export function parseDigestReply(body: Buffer): DigestReplyMsg {
  const f = parseObject(body, 'DigestReply');
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
  const f = parseObject(body, 'Probe');
  return { token: f.str('token'), name: f.nodeName('name'), epoch: f.uint('epoch') };
}

export function parseProbeReply(body: Buffer): ProbeReplyMsg {
  const f = parseObject(body, 'ProbeReply');
  return { name: f.nodeName('name'), epoch: f.uint('epoch'), role: f.oneOf('role', ['primary', 'replica'] as const), primary: f.peerOrNull('primary') };
}

export function parsePing(body: Buffer): PingMsg {
  const f = parseObject(body, 'Ping');
  return { epoch: f.uint('epoch'), seq: f.uint('seq'), time: f.num('time') };
}
