/**
 * Redis 7 parity of issue #17's commands under generated sequences:
 * fast-check builds sequences of BITFIELD subcommands with random types
 * (valid and not), plain and `#` offsets, 64-bit values at and beyond the
 * limits and OVERFLOW modes, mixed with SET/GET/SETBIT/RESTORE/MULTI/WATCH;
 * and sequences of SET, RESTORE (random options), DUMP, OBJECT and MEMORY
 * USAGE errors. Each runs against a standalone node and a standalone
 * redis-server and every reply must be the same bytes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { runLines, useStandaloneParityPair, type ParityEnv } from '../support/parity.js';
import { encodeDumpPayload, withDumpFooter } from '../../node/commands/rdb-string.js';

const KEYS = ['k', 'j', 'z'];
const VALUES = ['', 'a', '0', '123', '-1', '\xff\x00\x80', 'hello world', '9223372036854775807'];
const TYPES = ['i1', 'i5', 'i8', 'i16', 'i32', 'i63', 'i64', 'u1', 'u5', 'u8', 'u16', 'u32', 'u63', 'u64', 'i65', 'u0', 'x8', 'I8'];

const key = fc.constantFrom(...KEYS);
const type = fc.constantFrom(...TYPES);
const offset = fc.oneof(
  fc.nat(90).map(String),
  fc.nat(6).map((n) => `#${n}`),
  fc.constantFrom('-1', 'x', '4294967296', '#-1'),
);
const number = fc.oneof(
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String),
  fc.integer({ min: -300, max: 300 }).map(String),
  fc.constantFrom('127', '128', '255', '256', '-128', '-129', '9223372036854775807', '-9223372036854775808', '9223372036854775808', 'x'),
);
const subcommand: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(fc.constantFrom('GET', 'get'), type, offset).map((x) => [...x]),
  fc.tuple(fc.constantFrom('SET', 'INCRBY', 'incrby'), type, offset, number).map((x) => [...x]),
  fc.constantFrom('WRAP', 'SAT', 'FAIL', 'fail', 'foo').map((o) => ['OVERFLOW', o]),
);
const restore = fc.tuple(key, fc.constantFrom(...VALUES), fc.constantFrom('0', '100000'), fc.subarray(['REPLACE', 'ABSTTL']))
  .map(([k, v, ttl, opts]) => ['RESTORE', k, ttl, encodeDumpPayload(Buffer.from(v, 'latin1')).toString('latin1'), ...opts]);

const command: fc.Arbitrary<string[]> = fc.oneof(
  { arbitrary: fc.tuple(key, fc.array(subcommand, { maxLength: 4 })).map(([k, ops]) => ['BITFIELD', k, ...ops.flat()]), weight: 6 },
  { arbitrary: fc.tuple(key, fc.array(subcommand, { maxLength: 3 })).map(([k, ops]) => ['BITFIELD_RO', k, ...ops.flat()]), weight: 2 },
  { arbitrary: fc.tuple(key, fc.constantFrom(...VALUES)).map(([k, v]) => ['SET', k, v]), weight: 2 },
  { arbitrary: fc.tuple(key, fc.nat(80), fc.constantFrom('0', '1')).map(([k, o, b]) => ['SETBIT', k, String(o), b]), weight: 1 },
  { arbitrary: key.map((k) => ['GET', k]), weight: 2 },
  { arbitrary: restore, weight: 1 },
  { arbitrary: fc.constantFrom(['MULTI'], ['EXEC'], ['WATCH', 'k'], ['DEL', 'k'], ['PTTL', 'k']).map((c) => [...c]), weight: 1 },
);

/** Integers, short strings and LZF-compressible ones (over 20 bytes): DUMP writes Redis's bytes for all of them. */
const DUMP_VALUES = [...VALUES, '', '127', '-128', '32767', '-32769', '2147483647', '2147483648', '+1', '01', 'x'.repeat(20),
  'abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()', 'y'.repeat(44), 'y'.repeat(45), 'ab'.repeat(11), 'hello world '.repeat(30)];
const option = fc.constantFrom('REPLACE', 'ABSTTL', 'replace', 'IDLETIME', 'FREQ', '5', '-1', '300', 'x', 'foo');
const dumpCommand: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(key, fc.constantFrom(...DUMP_VALUES)).map(([k, v]) => ['SET', k, v]),
  fc.tuple(key, fc.constantFrom(...DUMP_VALUES), fc.constantFrom('0', '100000', '-1', 'x'), fc.array(option, { maxLength: 4 }))
    .map(([k, v, ttl, opts]) => ['RESTORE', k, ttl, encodeDumpPayload(Buffer.from(v, 'latin1')).toString('latin1'), ...opts]),
  fc.tuple(fc.constantFrom('DUMP', 'GET', 'PTTL', 'DEL'), key).map(([c, k]) => [c, k]),
  fc.tuple(fc.constantFrom('ENCODING', 'REFCOUNT', 'FREQ', 'encoding'), key).map(([s, k]) => ['OBJECT', s, k]),
  // MEMORY USAGE sizes differ by design: only a missing key or invalid options are compared.
  fc.array(fc.constantFrom('SAMPLES', '5', '-1', 'x'), { maxLength: 3 }).map((o) => ['MEMORY', 'USAGE', 'nokey', ...o]),
  fc.tuple(key, fc.constantFrom(['SAMPLES', '-1'], ['SAMPLES', 'x'], ['foo'], ['SAMPLES'], ['SAMPLES', '1', 'x']))
    .map(([k, o]) => ['MEMORY', 'USAGE', k, ...o]),
);

/** `runs` generated sequences per protocol; every reply must be the same bytes. */
function itReplyIdentically(env: ParityEnv, sequences: fc.Arbitrary<string[][]>, runs: number, what: string): void {
  for (const protocol of [2, 3] as const) {
    it(`RESP${protocol}: ${runs} sequences of ${what} reply identically`, async function () {
      this.timeout(120_000);
      let failure = '';
      await fc.assert(
        fc.asyncProperty(sequences, async (cmds) => {
          const mismatches = await runLines(env, protocol, cmds.map((c) => c.map((a) => Buffer.from(a, 'latin1'))));
          if (mismatches.length > 0) failure = mismatches.join('\n\n');
          return mismatches.length === 0;
        }),
        { numRuns: runs, endOnFailure: false },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n\nfirst mismatch of the last failing run:\n${failure}`);
      });
      expect(failure).to.equal('');
    });
  }
}

/**
 * Random RESTORE payloads of RDB type 0 with a valid footer: encodings and
 * small lengths (6/14/32-bit), integers, LZF headers, random data. Declared
 * lengths stay small: beyond maxValueBytes IrisDB names its own limit.
 */
const smallLength = fc.oneof(
  fc.nat(63).map((n) => [n]),
  fc.nat(300).map((n) => [0x40 | (n >> 8), n & 0xff]),
  fc.nat(300).map((n) => [0x80, 0, 0, n >> 8, n & 0xff]),
);
const payloadBody = fc.tuple(
  fc.oneof(smallLength, fc.constantFrom([0xc0], [0xc1], [0xc2], [0xc3], [0xc4], [0xff])),
  fc.oneof(fc.constant([] as number[]), smallLength),
  fc.array(fc.oneof(fc.nat(255), fc.constantFrom(0x00, 0x01, 0x1f, 0x20, 0xe0, 0x61)), { maxLength: 40 }),
).map(([a, b, data]) => Buffer.from([0, ...a, ...b, ...data]));
const restorePayload = payloadBody.map((body) => [
  ['RESTORE', 'x', '0', withDumpFooter(body).toString('latin1'), 'REPLACE'], ['GET', 'x'],
]);

describe('Redis parity: generated sequences of issue #17 commands (fast-check, standalone node vs redis-server)', function () {
  const env = useStandaloneParityPair();
  describe('BITFIELD, BITFIELD_RO, SETBIT, RESTORE', () => {
    itReplyIdentically(env, fc.array(command, { minLength: 1, maxLength: 15 }), 200, 'up to 15 commands');
  });
  describe('SET, RESTORE with random options, DUMP, OBJECT, MEMORY USAGE errors', () => {
    itReplyIdentically(env, fc.array(dumpCommand, { minLength: 1, maxLength: 12 }), 150, 'up to 12 commands');
  });
  describe('RESTORE of random payloads (every string encoding, corrupt data)', () => {
    itReplyIdentically(env, fc.array(restorePayload, { minLength: 1, maxLength: 5 }).map((x) => x.flat()), 300, 'up to 5 RESTOREs');
  });
});
