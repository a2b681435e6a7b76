/**
 * Redis 7 parity, part 3: fast-check generates command sequences over a
 * small key space (some keys share a hash slot, some do not) with valid
 * and invalid options, and each sequence runs against irisdb-node and
 * a standalone redis-server; every reply must match (normalisations: test/support/parity.ts).
 * Expiry times are either past, invalid or far away, so no key expires
 * while a sequence runs and the two servers stay comparable.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { runLines, useStandaloneParityPair } from '../support/parity.js';

const KEYS = ['{a}1', '{a}2', '{a}3', 'b', 'c\x00\r\n'];
const VALUES = ['', 'v', '0', '1', '-1', '10', '9223372036854775807', '-9223372036854775808', '3.5', '1e3', 'abc',
  '\x00\r\n', '007', ' 1', '0.1'];
/** Relative times (EX/PX/SETEX/EXPIRE...): invalid, zero/negative, or at least 100 s even when read as ms. */
const RELATIVE = ['-1', '0', '-5', '100000', '1000000', 'x', '9223372036854775807'];
/**
 * Absolute times (EXAT/PXAT/EXPIREAT...): long past, invalid, or in 2100.
 * Valid times beyond 2^53 ms are stored clamped (docs/compatibility.md), so
 * they only appear in the hand-written cases.
 */
const ABSOLUTE = ['1', '-1', '0', 'x', '4102444800', '4102444800123', '9223372036854775808'];
const FLOATS = ['0.1', '-0.1', '1e3', '1.5', 'inf', 'nan', 'x', '0x10', '3.0e-5', '1e400'];
const INTS = ['1', '-1', '0', '100', '9223372036854775807', '-9223372036854775808', 'x', '01', '1.5'];

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const relative = fc.constantFrom(...RELATIVE);
const absolute = fc.constantFrom(...ABSOLUTE);
const expiry = fc.oneof(
  fc.tuple(fc.constantFrom('EX', 'PX', 'ex'), relative),
  fc.tuple(fc.constantFrom('EXAT', 'PXAT'), absolute),
).map(([o, t]) => [o, t]);

/** SET/GETEX options: random subsets in random order, so valid and conflicting combinations both appear. */
const setOption = fc.oneof(fc.constantFrom('NX', 'XX', 'GET', 'KEEPTTL', 'nx', 'get').map((o) => [o]), expiry);
const getexOption = fc.oneof(fc.constantFrom('PERSIST', 'KEEPTTL').map((o) => [o]), expiry);
const expireFlags = fc.subarray(['NX', 'XX', 'GT', 'LT'], { maxLength: 2 });

const command: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(key).map(([k]) => ['GET', k]),
  fc.tuple(key, value, fc.array(setOption, { maxLength: 3 })).map(([k, v, o]) => ['SET', k, v, ...o.flat()]),
  fc.tuple(key, value).map(([k, v]) => ['SETNX', k, v]),
  fc.tuple(fc.constantFrom('SETEX', 'PSETEX'), key, relative, value).map(([c, k, t, v]) => [c, k, t, v]),
  fc.tuple(fc.constantFrom('GETSET', 'APPEND'), key, value).map(([c, k, v]) => [c, k, v]),
  fc.tuple(fc.constantFrom('GETDEL', 'STRLEN', 'INCR', 'DECR', 'TYPE', 'PERSIST', 'TTL', 'PTTL', 'EXPIRETIME',
    'PEXPIRETIME'), key).map(([c, k]) => [c, k]),
  fc.tuple(key, fc.array(getexOption, { maxLength: 2 })).map(([k, o]) => ['GETEX', k, ...o.flat()]),
  fc.tuple(fc.constantFrom('INCRBY', 'DECRBY'), key, fc.constantFrom(...INTS)).map(([c, k, n]) => [c, k, n]),
  fc.tuple(key, fc.constantFrom(...FLOATS)).map(([k, f]) => ['INCRBYFLOAT', k, f]),
  fc.tuple(fc.constantFrom('MGET', 'DEL', 'UNLINK', 'EXISTS', 'WATCH'), fc.array(key, { minLength: 1, maxLength: 3 }))
    .map(([c, ks]) => [c, ...ks]),
  fc.tuple(fc.constantFrom('MSET', 'MSETNX'), fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 3 }))
    .map(([c, kvs]) => [c, ...kvs.flat()]),
  fc.tuple(fc.constantFrom('EXPIRE', 'PEXPIRE'), key, relative, expireFlags).map(([c, k, t, f]) => [c, k, t, ...f]),
  fc.tuple(fc.constantFrom('EXPIREAT', 'PEXPIREAT'), key, absolute, expireFlags).map(([c, k, t, f]) => [c, k, t, ...f]),
  fc.constantFrom(['MULTI'], ['EXEC'], ['DISCARD'], ['UNWATCH'], ['DBSIZE'], ['PING'], ['KEYS', '*'],
    ['KEYS', '{a}*'], ['FLUSHALL'], ['ECHO', 'x'], ['GET'], ['NOSUCH', 'x']).map((c) => [...c]),
);

describe('Redis parity: generated command sequences (fast-check, irisdb-node vs redis-server)', function () {
  // Standalone on both sides: keys across slots are allowed, as on a single Redis server (issue #17).
  const env = useStandaloneParityPair({ args: ['--fsync', 'batch'] });

  for (const protocol of [2, 3] as const) {
    it(`RESP${protocol}: 300 sequences of up to 25 commands reply identically`, async function () {
      let failure = '';
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (cmds) => {
          const mismatches = await runLines(env, protocol, cmds.map((c) => c.map((a) => Buffer.from(a, 'latin1'))));
          if (mismatches.length > 0) failure = mismatches.join('\n\n');
          return mismatches.length === 0;
        }),
        { numRuns: 300, endOnFailure: false },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n\nfirst mismatch of the last failing run:\n${failure}`);
      });
      expect(failure).to.equal('');
    });
  }
});
