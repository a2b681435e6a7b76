/**
 * The cluster bus wire format: frames survive any chunking, binary bodies
 * round-trip arbitrary keys and values, and malformed input of any kind ends
 * in a FrameError (never another exception, never a hang). Also the JSON
 * control messages' validation.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { FrameError, FrameReader, FrameType, MAX_FRAME_BYTES, encodeFrame, encodeJsonFrame, type Frame } from '../../node/replication/frames.js';
import { batchSeqRange, decodeAck, decodeBatch, decodeEntriesBody, encodeAck, encodeBatch, entriesFrame, type LoggedMutation } from '../../node/replication/batch-codec.js';
import { decodeRows, decodeSlotReset, encodeRows, encodeSlotReset } from '../../node/replication/row-codec.js';
import {
  parseDigestReply,
  parseDigestRequest,
  parseHello,
  parsePing,
  parseProbe,
  parseProbeReply,
  parseRefuse,
  parseSnapshotBegin,
  parseSnapshotEnd,
  parseWelcome,
} from '../../node/replication/messages.js';
import type { Mutation, StoredRow } from '../../node/engine/types.js';

const b = (s: string): Buffer => Buffer.from(s);
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

const bytes = (max = 64): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const expiry = fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: null });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: bytes(), value: bytes(200), expiresAt: expiry }),
  fc.record({ op: fc.constant('del' as const), key: bytes() }),
  fc.record({ op: fc.constant('expire' as const), key: bytes(), expiresAt: expiry }),
  fc.constant<Mutation>({ op: 'clear' }),
);
/** Strictly increasing seqs starting anywhere. */
const batch: fc.Arbitrary<LoggedMutation[]> = fc
  .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), mutation), { maxLength: 20 }))
  .map(([start, items]) => {
    let seq = start;
    return items.map(([gap, m]) => ({ seq: (seq += gap), m }));
  });
const row: fc.Arbitrary<StoredRow> = fc.record({
  key: bytes(),
  flags: fc.integer({ min: 0, max: 255 }),
  expiresAt: expiry,
  version: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  value: bytes(200),
});

/** Mutation with Buffers compared by content. */
const plain = (x: unknown): unknown =>
  JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v)));

function chunked(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(input.subarray(prev, p));
    prev = p;
  }
  out.push(input.subarray(prev));
  return out;
}

function readAll(chunks: Buffer[], max?: number): Frame[] {
  const r = new FrameReader(max);
  const out: Frame[] = [];
  for (const c of chunks) {
    r.push(c);
    for (let f = r.next(); f !== null; f = r.next()) out.push(f);
  }
  return out;
}

/** Runs fn on input: it must return or throw FrameError, nothing else. */
function onlyFrameErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FrameError)) throw new Error(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

describe('replication: frames', () => {
  describe('framing', () => {
    it('writes [u32 BE length][u8 type][body] with length = 1 + body', () => {
      const f = encodeFrame(FrameType.Ping, b('abc'));
      expect([...f]).to.deep.equal([0, 0, 0, 4, 14, 0x61, 0x62, 0x63]);
      const j = encodeJsonFrame(FrameType.Hello, { a: 1 });
      expect(j.readUInt32BE(0)).to.equal(1 + '{"a":1}'.length);
      expect(j.subarray(5).toString()).to.equal('{"a":1}');
    });

    it('reads frames back in order, including empty bodies', () => {
      const stream = Buffer.concat([encodeFrame(FrameType.Ack, Buffer.alloc(0)), encodeFrame(FrameType.Entries, b('xy')), encodeAck(7)]);
      const frames = readAll([stream]);
      expect(frames.map((f) => f.type)).to.deep.equal([FrameType.Ack, FrameType.Entries, FrameType.Ack]);
      expect(frames[0]!.body.length).to.equal(0);
      expect(frames[1]!.body.toString()).to.equal('xy');
      expect(decodeAck(frames[2]!.body)).to.equal(7);
    });

    it('returns null until a frame is complete and tracks buffered bytes', () => {
      const r = new FrameReader();
      const f = encodeFrame(FrameType.Probe, b('hello'));
      r.push(f.subarray(0, 3));
      expect(r.next()).to.equal(null);
      expect(r.bufferedBytes).to.equal(3);
      r.push(f.subarray(3, 7));
      expect(r.next()).to.equal(null);
      r.push(f.subarray(7));
      const got = r.next()!;
      expect(got.type).to.equal(FrameType.Probe);
      expect(got.body.toString()).to.equal('hello');
      expect(r.bufferedBytes).to.equal(0);
      expect(r.next()).to.equal(null);
    });

    it('rejects a bad header from the header alone, before the body arrives', () => {
      const big = Buffer.alloc(5);
      big.writeUInt32BE(1 + 101, 0);
      big[4] = FrameType.SnapshotRows;
      const r = new FrameReader(100);
      r.push(big);
      expect(() => r.next()).to.throw(FrameError, /SnapshotRows declares a 101-byte body, over the 100-byte limit/);
      // Stays broken.
      expect(() => r.next()).to.throw(FrameError);

      const zero = new FrameReader();
      zero.push(Buffer.from([0, 0, 0, 0, 1]));
      expect(() => zero.next()).to.throw(FrameError, /length 0/);

      const unknown = new FrameReader();
      unknown.push(Buffer.from([0, 0, 0, 1, 99]));
      expect(() => unknown.next()).to.throw(FrameError, /unknown frame type 99/);
      const typeZero = new FrameReader();
      typeZero.push(Buffer.from([0, 0, 0, 1, 0]));
      expect(() => typeZero.next()).to.throw(FrameError, /unknown frame type 0/);
    });

    it('defaults to MAX_FRAME_BYTES', () => {
      const h = Buffer.alloc(5);
      h.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
      h[4] = FrameType.Entries;
      const r = new FrameReader();
      r.push(h);
      expect(r.next()).to.equal(null); // exactly at the limit: waits for the body
      h.writeUInt32BE(MAX_FRAME_BYTES + 2, 0);
      const r2 = new FrameReader();
      r2.push(h);
      expect(() => r2.next()).to.throw(FrameError);
    });

    it('reads a large frame pushed in many small chunks (kept as a list, joined once)', () => {
      const body = Buffer.alloc(8 * 1024 * 1024, 7);
      const stream = Buffer.concat([encodeFrame(FrameType.SnapshotRows, body), encodeAck(1)]);
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += 512) chunks.push(stream.subarray(i, i + 512));
      const frames = readAll(chunks);
      expect(frames.map((f) => f.type)).to.deep.equal([FrameType.SnapshotRows, FrameType.Ack]);
      expect(frames[0]!.body.equals(body)).to.equal(true);
    });

    it('yields the same frames however the stream is chunked (property)', () => {
      const frameArb = fc.tuple(fc.integer({ min: 1, max: 14 }), bytes(300));
      fc.assert(
        fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
          const stream = Buffer.concat(frames.map(([t, body]) => encodeFrame(t as FrameType, body)));
          const got = readAll(chunked(stream, cuts));
          expect(got.map((f) => [f.type, f.body.toString('hex')])).to.deep.equal(frames.map(([t, body]) => [t, body.toString('hex')]));
        }),
        { numRuns: 300 },
      );
    });

    it('random bytes: frames or FrameError, never anything else, never a hang (fuzz)', () => {
      fc.assert(
        fc.property(bytes(400), fc.array(fc.nat(), { maxLength: 10 }), (input, cuts) => {
          onlyFrameErrors(() => readAll(chunked(input, cuts), 1000));
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('log batches', () => {
    it('round-trips any batch (property)', () => {
      fc.assert(
        fc.property(batch, (entries) => {
          const encoded = encodeBatch(entries);
          expect(plain(decodeBatch(encoded))).to.deep.equal(plain(entries));
          if (entries.length > 0) expect(batchSeqRange(encoded)).to.deep.equal({ first: entries[0]!.seq, last: entries[entries.length - 1]!.seq });
        }),
        { numRuns: 300 },
      );
    });

    it('lays out an entry as documented', () => {
      const enc = encodeBatch([{ seq: 5, m: { op: 'set', key: b('k'), value: b('vv'), expiresAt: null } }]);
      const expected = Buffer.alloc(4 + 8 + 1 + 4 + 1 + 4 + 2 + 8);
      let p = expected.writeUInt32BE(1, 0);
      p = expected.writeDoubleBE(5, p);
      p = expected.writeUInt8(1, p);
      p = expected.writeUInt32BE(1, p);
      p += b('k').copy(expected, p);
      p = expected.writeUInt32BE(2, p);
      p += b('vv').copy(expected, p);
      expected.writeDoubleBE(-1, p);
      expect(enc.equals(expected)).to.equal(true);
    });

    it('ships as an Entries frame with the epoch, without re-encoding', () => {
      const entries: LoggedMutation[] = [
        { seq: 1, m: { op: 'set', key: b('a'), value: b('1'), expiresAt: 1_700_000_000_000 } },
        { seq: 2, m: { op: 'clear' } },
      ];
      const stored = encodeBatch(entries);
      const frame = entriesFrame(42, stored);
      const [f] = readAll([frame]);
      expect(f!.type).to.equal(FrameType.Entries);
      expect(f!.body.subarray(4).equals(stored)).to.equal(true);
      const decoded = decodeEntriesBody(f!.body);
      expect(decoded.epoch).to.equal(42);
      expect(plain(decoded.entries)).to.deep.equal(plain(entries));
    });

    it('rejects malformed batches with a FrameError saying what and where', () => {
      const good = encodeBatch([
        { seq: 3, m: { op: 'del', key: b('x') } },
        { seq: 4, m: { op: 'del', key: b('y') } },
      ]);
      expect(() => decodeBatch(good.subarray(0, good.length - 1))).to.throw(FrameError, /truncated at byte \d+ reading entry 1 expiresAt/);
      expect(() => decodeBatch(Buffer.concat([good, Buffer.from([0])]))).to.throw(FrameError, /1 trailing bytes/);
      const badOp = Buffer.from(good);
      badOp[12] = 9;
      expect(() => decodeBatch(badOp)).to.throw(FrameError, /entry 0 at byte 4 has unknown op 9/);
      const backwards = encodeBatch([
        { seq: 4, m: { op: 'del', key: b('x') } },
        { seq: 4, m: { op: 'del', key: b('y') } },
      ]);
      expect(() => decodeBatch(backwards)).to.throw(FrameError, /entry 1 .* has seq 4, not above the previous 4/);
      const hugeCount = Buffer.from(good);
      hugeCount.writeUInt32BE(0xffffffff, 0);
      expect(() => decodeBatch(hugeCount)).to.throw(FrameError, /entry count 4294967295 cannot fit/);
      const fractional = Buffer.from(good);
      fractional.writeDoubleBE(3.5, 4);
      expect(() => decodeBatch(fractional)).to.throw(FrameError, /entry 0 seq at byte 4 is 3.5/);
      expect(() => batchSeqRange(encodeBatch([]))).to.throw(FrameError, /empty/);
    });

    it('random bytes: decoders return or throw FrameError (fuzz)', () => {
      const valid = fc.tuple(batch, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([entries, at, byte]) => {
        // Mostly-valid input with one corrupted byte reaches deeper than pure noise.
        const enc = Buffer.from(encodeBatch(entries));
        if (enc.length > 0) enc[at % enc.length] = byte;
        return enc;
      });
      fc.assert(
        fc.property(fc.oneof(bytes(300), valid), (input) => {
          onlyFrameErrors(() => decodeBatch(input));
          onlyFrameErrors(() => batchSeqRange(input));
          onlyFrameErrors(() => decodeEntriesBody(input));
          onlyFrameErrors(() => decodeRows(input));
          onlyFrameErrors(() => decodeSlotReset(input));
          onlyFrameErrors(() => decodeAck(input));
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('acks, rows and slot resets', () => {
    it('acks are whole frames carrying the seq', () => {
      const [f] = readAll([encodeAck(123456789012)]);
      expect(f!.type).to.equal(FrameType.Ack);
      expect(decodeAck(f!.body)).to.equal(123456789012);
      expect(() => decodeAck(Buffer.alloc(7))).to.throw(FrameError, /truncated/);
      const neg = Buffer.alloc(8);
      neg.writeDoubleBE(-3, 0);
      expect(() => decodeAck(neg)).to.throw(FrameError, /not a non-negative integer/);
    });

    it('round-trips any rows and slot resets (property)', () => {
      fc.assert(
        fc.property(fc.array(row, { maxLength: 15 }), fc.integer({ min: 0, max: 16383 }), (rows, slot) => {
          expect(plain(decodeRows(encodeRows(rows)))).to.deep.equal(plain(rows));
          const reset = decodeSlotReset(encodeSlotReset(slot, rows));
          expect(reset.slot).to.equal(slot);
          expect(plain(reset.rows)).to.deep.equal(plain(rows));
        }),
        { numRuns: 300 },
      );
    });

    it('rejects bad slots and unrepresentable values', () => {
      const body = encodeSlotReset(0, []);
      body.writeUInt16BE(16384, 0);
      expect(() => decodeSlotReset(body)).to.throw(FrameError, /slot 16384/);
      expect(() => encodeSlotReset(16384, [])).to.throw(RangeError);
      const r: StoredRow = { key: b('k'), flags: 256, expiresAt: null, version: 1, value: b('v') };
      expect(() => encodeRows([r])).to.throw(RangeError, /flags/);
      expect(() => encodeRows([{ ...r, flags: 0, expiresAt: -5 }])).to.throw(RangeError, /expiry/);
    });
  });
});

describe('replication: control messages', () => {
  const hello = {
    v: 1, name: 'node-1', epoch: 3, expectPrimary: 'node-0', seq: 10, termId: 'abc',
    respHost: '127.0.0.1', respPort: 6380, busHost: '127.0.0.1', busPort: 16380,
  };
  const term = { epoch: 1, id: 'a1', firstSeq: 1 };
  const peer = { name: 'node-0', host: '10.0.0.1', busPort: 16379 };

  it('parses well-formed messages and ignores extra fields', () => {
    expect(parseHello(json({ ...hello, extra: [1, 2] }))).to.deep.equal(hello);
    expect(parseHello(json({ ...hello, expectPrimary: '' })).expectPrimary).to.equal('');
    const welcome = { epoch: 3, name: 'node-0', respHost: 'h', respPort: 1, history: [term, { epoch: 2, id: 'b', firstSeq: 5 }], mode: 'partial', fromSeq: 11 };
    expect(parseWelcome(json(welcome))).to.deep.equal(welcome);
    const refuse = { code: 'stale_epoch', message: 'old', epoch: 4, primary: peer };
    expect(parseRefuse(json(refuse))).to.deep.equal(refuse);
    expect(parseRefuse(json({ ...refuse, primary: null })).primary).to.equal(null);
    expect(parseSnapshotBegin(json({ seq: 9, keys: 100, history: [term] }))).to.deep.equal({ seq: 9, keys: 100, history: [term] });
    expect(parseSnapshotEnd(json({ seq: 9, keys: 100, bytes: 5000 }))).to.deep.equal({ seq: 9, keys: 100, bytes: 5000 });
    expect(parseDigestRequest(json({ id: 7 }))).to.deep.equal({ id: 7, format: 1 }); // no format: an older primary, JSON reply
    const reply = { id: 7, seq: 9, slots: [{ slot: 16383, count: 2, hash: '0123456789abcdef' }] };
    expect(parseDigestReply(json(reply))).to.deep.equal(reply);
    expect(parseProbe(json({ name: 'n', epoch: 0 }))).to.deep.equal({ name: 'n', epoch: 0 });
    // The cluster secret is proven in the handshake (bus-auth.ts), never carried: an old peer's token field is not read.
    expect(parseHello(json({ ...hello, token: 't' }))).to.deep.equal(hello);
    expect(parseProbe(json({ token: 't', name: 'n', epoch: 0 }))).to.deep.equal({ name: 'n', epoch: 0 });
    expect(parseProbeReply(json({ name: 'n', epoch: 1, role: 'replica', primary: peer }))).to.deep.equal({ name: 'n', epoch: 1, role: 'replica', primary: peer });
    expect(parsePing(json({ epoch: 1, seq: 2, time: 1700000000000.5 }))).to.deep.equal({ epoch: 1, seq: 2, time: 1700000000000.5 });
  });

  it('names the message, field and expected type in its errors', () => {
    expect(() => parseHello(b('{'))).to.throw(FrameError, /^Hello: body is not valid JSON/);
    expect(() => parseHello(json([1]))).to.throw(FrameError, /Hello: body must be a JSON object, got an array/);
    expect(() => parseHello(json({ ...hello, v: 2 }))).to.throw(FrameError, /field 'v' must be the protocol version 1, got number 2/);
    expect(() => parseHello(json({ ...hello, epoch: -1 }))).to.throw(FrameError, /Hello: field 'epoch' must be a non-negative safe integer, got number -1/);
    expect(() => parseHello(json({ ...hello, seq: 1.5 }))).to.throw(FrameError, /'seq'/);
    expect(() => parseHello(json({ ...hello, seq: 2 ** 53 }))).to.throw(FrameError, /'seq'/);
    expect(() => parseHello(json({ ...hello, busPort: 65536 }))).to.throw(FrameError, /'busPort' must be an integer in 0..65535/);
    expect(() => parseHello(json({ ...hello, name: undefined }))).to.throw(FrameError, /'name' must be a node name.*got nothing \(missing\)/);
    expect(() => parseHello(json({ ...hello, name: 'a b' }))).to.throw(FrameError, /'name' must be a node name/);
    expect(() => parseHello(json({ ...hello, termId: 'x'.repeat(65) }))).to.throw(FrameError, /'termId'/);
    expect(() => parseHello(json({ ...hello, respHost: '' }))).to.throw(FrameError, /'respHost' must be a non-empty string/);
    expect(() => parseRefuse(json({ code: 'nope', message: '', epoch: 1, primary: null }))).to.throw(FrameError, /Refuse: field 'code' must be one of 'auth'/);
    expect(() => parseRefuse(json({ code: 'auth', message: '', epoch: 1, primary: { ...peer, busPort: 'x' } }))).to.throw(
      FrameError,
      /Refuse: field 'primary.busPort' must be an integer in 0..65535, got the string "x"/,
    );
    expect(() => parseRefuse(json({ code: 'auth', message: '', epoch: 1 }))).to.throw(FrameError, /'primary' must be an object \{name, host, busPort\} or null/);
    expect(() => parseProbeReply(json({ name: 'n', epoch: 1, role: 'leader', primary: null }))).to.throw(FrameError, /'role'/);
    expect(() => parsePing(json({ epoch: 1, seq: 2, time: -1 }))).to.throw(FrameError, /'time' must be a finite non-negative number/);
  });

  it('validates histories: terms, order and size', () => {
    const sb = (history: unknown): unknown => parseSnapshotBegin(json({ seq: 1, keys: 0, history }));
    expect(() => sb('x')).to.throw(FrameError, /'history' must be an array of at most 1000 items/);
    expect(() => sb(Array.from({ length: 1001 }, (_, i) => ({ epoch: 1, id: `t${i}`, firstSeq: i + 1 })))).to.throw(FrameError, /at most 1000/);
    expect(sb(Array.from({ length: 1000 }, (_, i) => ({ epoch: 1, id: `t${i}`, firstSeq: i + 1 })))).to.have.property('seq', 1);
    expect(() => sb([{ ...term, id: '' }])).to.throw(FrameError, /'history\[0\]\.id' must be a non-empty string of at most 64/);
    expect(() => sb([{ ...term, id: 'x'.repeat(65) }])).to.throw(FrameError, /history\[0\]\.id/);
    expect(() => sb([{ ...term, firstSeq: 0 }])).to.throw(FrameError, /'history\[0\]\.firstSeq' must be an integer >= 1/);
    expect(() => sb([term, { ...term, id: 'b' }])).to.throw(FrameError, /'history\[1\]\.firstSeq' must be greater than the previous term's 1/);
    expect(() => sb([{ ...term, epoch: 2 }, { epoch: 1, id: 'b', firstSeq: 4 }])).to.throw(FrameError, /history\[1\]\.epoch/);
    expect(() => sb([null])).to.throw(FrameError, /'history\[0\]' must be an object, got null/);
  });

  it('validates slot digests', () => {
    const dr = (slots: unknown): unknown => parseDigestReply(json({ id: 1, seq: 1, slots }));
    expect(() => dr([{ slot: 16384, count: 1, hash: '0123456789abcdef' }])).to.throw(FrameError, /'slots\[0\]\.slot' must be an integer in 0..16383/);
    expect(() => dr([{ slot: 1, count: -1, hash: '0123456789abcdef' }])).to.throw(FrameError, /slots\[0\]\.count/);
    expect(() => dr([{ slot: 1, count: 1, hash: '0123456789ABCDEF' }])).to.throw(FrameError, /'slots\[0\]\.hash' must be 16 lowercase hex characters/);
    expect(() => dr([{ slot: 1, count: 1, hash: '0123' }])).to.throw(FrameError, /hash/);
  });

  it('random bodies: every parser returns or throws FrameError (fuzz)', () => {
    const parsers = [parseHello, parseWelcome, parseRefuse, parseSnapshotBegin, parseSnapshotEnd, parseDigestRequest, parseDigestReply, parseProbe, parseProbeReply, parsePing];
    fc.assert(
      fc.property(fc.oneof(bytes(100), fc.jsonValue().map(json), fc.object().map((o) => json({ ...hello, ...o }))), (body) => {
        for (const p of parsers) onlyFrameErrors(() => p(body));
      }),
      { numRuns: 500 },
    );
  });
});
