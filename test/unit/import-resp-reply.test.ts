/**
 * The import's plain RESP reader (issue #19): replies parsed back from
 * their encoding however the bytes are split (each reply either complete
 * or null, never a wrong value), random bytes only ever throw
 * RespReplyError, commands encoded as Redis reads them, and one SCAN batch
 * read through the SourcePipeline interface from plain data (strings,
 * vanished keys, other types, an error that is not WRONGTYPE).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { encodeCommands, parseReply, RespErrorReply, RespReplyError, type RespReply } from '../../operator/import/resp-reply.js';
import type { SourcePipeline } from '../../operator/import/resp-source.js';
import { MAX_SCAN_COUNT, readBatch } from '../../operator/import/scan-copy.js';
import { ReplStream } from '../../operator/import/repl-stream.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const reply: fc.Arbitrary<RespReply> = fc.letrec<{ r: RespReply }>((tie) => ({
  r: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    bytes(40),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.stringMatching(/^[a-zA-Z ]{0,20}$/),
    fc.constant(null),
    fc.stringMatching(/^[A-Z]{1,8} [a-z ]{0,20}$/).map((m) => new RespErrorReply(m)),
    fc.array(tie('r'), { maxLength: 4 }),
  ),
})).r;

function encode(r: RespReply): Buffer {
  if (r === null) return Buffer.from('$-1\r\n');
  if (Buffer.isBuffer(r)) return Buffer.concat([Buffer.from(`$${r.length}\r\n`), r, Buffer.from('\r\n')]);
  if (typeof r === 'number') return Buffer.from(`:${r}\r\n`);
  if (typeof r === 'string') return Buffer.from(`+${r}\r\n`);
  if (r instanceof RespErrorReply) return Buffer.from(`-${r.message}\r\n`);
  return Buffer.concat([Buffer.from(`*${r.length}\r\n`), ...r.map(encode)]);
}

describe('import: plain RESP replies', () => {
  it('parse back what was encoded, complete or null, however the bytes are cut', () => {
    fc.assert(fc.property(fc.array(reply, { minLength: 1, maxLength: 6 }), fc.nat(), (replies, cutAt) => {
      const wire = Buffer.concat(replies.map(encode));
      const cut = cutAt % (wire.length + 1);
      // A prefix yields the complete replies in it and null for the rest.
      let pos = 0;
      const seen: RespReply[] = [];
      for (;;) {
        const r = parseReply(wire.subarray(0, cut), pos);
        if (r === null) break;
        seen.push(r.value);
        pos = r.next;
      }
      for (;;) {
        const r = parseReply(wire, pos);
        if (r === null) break;
        seen.push(r.value);
        pos = r.next;
      }
      expect(pos).to.equal(wire.length);
      expect(seen).to.deep.equal(replies);
    }), { numRuns: 1000 });
  });

  it('random bytes only ever throw RespReplyError', () => {
    fc.assert(fc.property(bytes(200), (b) => {
      try {
        parseReply(b, 0);
      } catch (err) {
        expect(err).to.be.instanceOf(RespReplyError);
      }
    }), { numRuns: 2000 });
  });

  it('encodes commands as RESP arrays of bulk strings (as a replication stream carries them)', () => {
    fc.assert(fc.property(fc.array(fc.array(bytes(30), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 }), (cmds) => {
      const s = new ReplStream();
      s.feed(Buffer.from('+FULLRESYNC ' + 'a'.repeat(40) + ' 0\r\n$0\r\n'));
      const got = s.feed(encodeCommands(cmds)).filter((e) => e.kind === 'command');
      expect(got.map((e) => (e as { readonly argv: readonly Buffer[] }).argv)).to.deep.equal(cmds);
    }), { numRuns: 300 });
  });

  it('encodes long arguments, many arguments and UTF-8 strings byte for byte', () => {
    const arg = fc.oneof(bytes(300), fc.string({ maxLength: 40, unit: 'binary' }));
    fc.assert(fc.property(fc.array(fc.array(arg, { minLength: 1, maxLength: 120 }), { minLength: 1, maxLength: 4 }), (cmds) => {
      const s = new ReplStream();
      s.feed(Buffer.from('+FULLRESYNC ' + 'a'.repeat(40) + ' 0\r\n$0\r\n'));
      const got = s.feed(encodeCommands(cmds)).filter((e) => e.kind === 'command');
      expect(got.map((e) => (e as { readonly argv: readonly Buffer[] }).argv)).to.deep.equal(cmds.map((c) => c.map((a) => (typeof a === 'string' ? Buffer.from(a) : a))));
    }), { numRuns: 200 });
  });

  it('reads one SCAN batch: strings with their PTTL, vanished keys, other types counted', async () => {
    const calls: string[][] = [];
    const data: Record<string, RespReply> = {
      // Two SCAN calls fill the batch of 4 (SCAN's COUNT is a hint: a call may return fewer).
      'SCAN 0 COUNT 4': [Buffer.from('17'), [Buffer.from('a'), Buffer.from('b')]],
      'SCAN 17 COUNT 4': [Buffer.from('21'), [Buffer.from('l'), Buffer.from('gone')]],
      'GET a': Buffer.from('1'), 'PTTL a': -1, 'GET b': Buffer.from('2'), 'PTTL b': 5000,
      'GET l': new RespErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'), 'PTTL l': -1,
      'GET gone': null, 'PTTL gone': -2, 'TYPE l': 'list',
    };
    const source: SourcePipeline = {
      pipeline: async (cmds) => cmds.map((c) => {
        const k = c.map((a) => a.toString()).join(' ');
        calls.push([k]);
        return k in data ? data[k]! : new RespErrorReply(`ERR unexpected ${k}`);
      }),
    };
    const b = await readBatch(source, '0', 4);
    expect(b.next).to.equal('21');
    expect(b.keys).to.equal(4);
    expect(b.strings.map((s) => [s.key.toString(), s.value.toString(), s.pttl])).to.deep.equal([['a', '1', -1], ['b', '2', 5000]]);
    expect(b.vanished).to.equal(1);
    expect(b.others).to.deep.equal({ list: 1 });
    data['GET a'] = new RespErrorReply('NOPERM this user has no permissions to access the key');
    let failed = '';
    await readBatch(source, '0', 4).catch((err: Error) => (failed = err.message));
    expect(failed).to.match(/source GET failed: NOPERM/);
  });

  it('gathers a batch larger than MAX_SCAN_COUNT from several SCAN calls of at most that COUNT, and stops where the iteration ends', async () => {
    fc.assert(await fc.asyncProperty(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 4000 }), async (total, batchSize) => {
      const counts: number[] = [];
      // A source whose SCAN returns COUNT keys from the cursor (an index), then cursor 0 at the end; every key a string with no TTL.
      const source: SourcePipeline = {
        pipeline: async (cmds) => cmds.map((c) => {
          const [name, arg] = [c[0]!.toString(), c[1]!.toString()];
          if (name === 'SCAN') {
            const from = Number(arg);
            const n = Number(c[3]!.toString());
            counts.push(n);
            const to = Math.min(total, from + n);
            return [Buffer.from(String(to >= total ? 0 : to)), Array.from({ length: to - from }, (_, i) => Buffer.from(`k${from + i}`))];
          }
          return name === 'GET' ? Buffer.from(`v-${arg}`) : -1;
        }),
      };
      const seen: string[] = [];
      let cursor = '0';
      do {
        const b = await readBatch(source, cursor, batchSize);
        expect(b.keys).to.be.at.most(batchSize + MAX_SCAN_COUNT);
        if (b.next !== '0') expect(b.keys).to.be.at.least(batchSize);
        for (const st of b.strings) {
          expect(st.value.toString()).to.equal(`v-${st.key.toString()}`);
          seen.push(st.key.toString());
        }
        cursor = b.next;
      } while (cursor !== '0');
      expect(seen).to.deep.equal(Array.from({ length: total }, (_, i) => `k${i}`));
      expect(Math.max(...counts)).to.be.at.most(MAX_SCAN_COUNT);
    }), { numRuns: 40 });
  });
});
