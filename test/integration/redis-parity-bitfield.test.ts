/**
 * Redis 7 parity of BITFIELD and BITFIELD_RO (issue #17): a standalone node
 * against a standalone redis-server, byte for byte in RESP2 and RESP3 —
 * every type width, signed and unsigned overflow under WRAP/SAT/FAIL,
 * `#` offsets, zero padding, TTL kept, the offset limit, BITFIELD_RO
 * refusing writes, WATCH and MULTI, and every parse error.
 */
import { itMatchesCases, useParityPair, useStandaloneParityPair } from '../support/parity.js';

export const BITFIELD_CASES: Record<string, readonly string[]> = {
  'GET, SET, INCRBY: widths, signs, padding and mixed operations': [
    'bitfield k', 'bitfield k get u8 0', 'exists k', 'bitfield k set u8 0 255', 'get k', 'bitfield k get u8 0 get i8 0 get u4 4 get i4 4',
    'bitfield k set i5 3 -7', 'get k', 'bitfield k get i5 3 get u5 3 get u1 3 get i1 0', 'bitfield k set u16 20 4660', 'get k', 'strlen k',
    'bitfield k get u8 0 set u8 0 1 incrby u8 0 2 get u8 0', 'bitfield k get u16 100', 'bitfield k get i64 1 get u63 1 get i64 0',
    'bitfield k incrby i16 7 -300 incrby u7 1 5', 'get k', 'bitfield nokey get i16 3 get u63 9', 'exists nokey',
    'set e ""', 'bitfield e get u8 0', 'bitfield e set u4 4 15', 'get e', 'set b "\\x00\\xff\\x80"', 'bitfield b get i16 0 get u12 2 get i9 7',
    'BITFIELD b GET u8 0 OVERFLOW SAT INCRBY u8 0 300 Get i8 8', 'get b',
  ],
  'OVERFLOW WRAP (default), SAT, FAIL for signed and unsigned fields': [
    'bitfield w set i8 0 127', 'bitfield w incrby i8 0 1', 'bitfield w incrby i8 0 -1', 'bitfield w overflow wrap incrby u8 8 300',
    'bitfield w incrby u8 8 -100', 'bitfield w set u8 0 -5', 'bitfield w set i8 0 200', 'bitfield w get i8 0', 'bitfield w set i3 0 -5',
    'bitfield s overflow sat incrby i8 0 200', 'bitfield s overflow sat incrby i8 0 -1000', 'bitfield s overflow sat set u8 0 -5',
    'bitfield s overflow sat set i8 0 1000', 'bitfield s overflow sat incrby u8 8 -1', 'bitfield s overflow sat incrby u3 8 100',
    'bitfield f overflow fail incrby u2 0 5', 'exists f', 'get f', 'bitfield f overflow fail incrby u2 0 3 incrby u2 0 1 get u2 0',
    'bitfield f overflow fail set i4 0 8', 'bitfield f overflow fail set i4 0 -8', 'bitfield f overflow fail set u4 0 -1',
    'bitfield f overflow sat incrby u2 0 9 overflow wrap incrby u2 0 1 overflow fail incrby u2 0 7', 'get f',
    'bitfield g overflow FAIL set u8 800 1 incrby i8 800 200', 'strlen g',
  ],
  'i64 and u63 at their limits': [
    'bitfield b set i64 0 -9223372036854775808', 'bitfield b get i64 0', 'bitfield b incrby i64 0 -1', 'bitfield b get i64 0',
    'bitfield b overflow sat incrby i64 0 1', 'bitfield b overflow sat incrby i64 0 -9223372036854775808', 'bitfield b overflow fail incrby i64 0 -1',
    'bitfield b set i64 0 9223372036854775807', 'bitfield b overflow sat incrby i64 0 9223372036854775807', 'bitfield b overflow fail incrby i64 0 1',
    'bitfield b set u63 0 9223372036854775807', 'bitfield b incrby u63 0 1', 'bitfield b overflow sat incrby u63 0 -1', 'bitfield b get u63 1',
    'bitfield b set u63 3 -1', 'bitfield b overflow sat set u63 3 -1', 'bitfield b get u63 3', 'bitfield b set i64 5 -1', 'get b',
    'bitfield q overflow sat set i1 0 -9223372036854775808 get i1 0', 'bitfield q overflow sat set i8 8 -9223372036854775700 get i8 8',
    'bitfield q overflow sat set i8 8 -9223372036854775000 get i8 8', 'bitfield q overflow wrap set i8 8 -9223372036854775808 get i8 8',
  ],
  '# offsets are multiplied by the width': [
    'bitfield h set u8 #1 255', 'get h', 'bitfield h get u8 #1 get u4 #3 get i4 #2', 'bitfield h set i16 #2 -2', 'get h',
    'bitfield h get u8 #-1', 'bitfield h get u8 #x', 'bitfield h get u8 #', 'bitfield h get u8 ##1', 'bitfield h get u8 #0',
    'bitfield h incrby u8 #4 1', 'strlen h',
  ],
  'TTL kept, WATCH and MULTI': [
    'set t x ex 100', 'bitfield t set u8 0 65', 'ttl t', 'get t', 'bitfield t get u8 0', 'ttl t',
    'set k 1', 'watch k', 'bitfield k get u8 0', 'multi', 'ping', 'exec', 'watch k', 'bitfield k overflow fail incrby u1 0 5',
    'multi', 'ping', 'exec', 'watch k', 'bitfield_ro k get u8 0', 'multi', 'ping', 'exec', 'watch k', 'bitfield k set u8 0 49',
    'multi', 'ping', 'exec', 'watch k', 'bitfield k set u8 0 50 set u8 0 49', 'multi', 'ping', 'exec', 'watch k',
    'bitfield k incrby u4 4 0', 'multi', 'ping', 'exec', 'watch k', 'bitfield k set u8 8 0', 'multi', 'ping', 'exec', 'get k',
    'multi', 'bitfield m set u8 0 1', 'bitfield_ro m get u8 0', 'bitfield_ro m set u8 0 1', 'exec', 'get m',
  ],
  'errors: types, offsets, values, subcommands; the offset limit': [
    'bitfield k get u64 0', 'bitfield k get i65 0', 'bitfield k get i0 0', 'bitfield k get u-1 0', 'bitfield k get x8 0',
    'bitfield k get I8 0', 'bitfield k get i 0', 'bitfield k get "i8\\x00x" 0', 'bitfield k get i08 0', 'bitfield k get u8 -1',
    'bitfield k get u8 x', 'bitfield k get u8 " 1"', 'bitfield k set u8 0 x', 'bitfield k set u8 0 9223372036854775808',
    'bitfield k incrby u8 0 1.5', 'bitfield k set u8 0', 'bitfield k foo', 'bitfield k get u8', 'bitfield k get', 'bitfield k overflow foo',
    'bitfield k overflow', 'bitfield k set u8 0 1 get u64 0', 'exists k', 'bitfield k get u8 4294967296', 'bitfield k get u8 9223372036854775807',
    'bitfield k set i64 #9223372036854775807 1', 'bitfield k get u8 0 foo', 'bitfield k overflow sat', 'bitfield', 'bitfield_ro',
  ],
  'BITFIELD_RO: GET only': [
    'set k "\\xf0\\x0f"', 'bitfield_ro k get u8 0 get i4 4', 'bitfield_ro k set u8 0 1', 'bitfield_ro k incrby u8 0 1',
    'bitfield_ro k get u8 0 set u8 0 1', 'get k', 'bitfield_ro nokey get i16 3', 'exists nokey', 'bitfield_ro k',
    'bitfield_ro k overflow sat get u8 0', 'bitfield_ro k overflow foo', 'bitfield_ro k get u64 0', 'bitfield_ro k set u64 0 1',
    'bitfield_ro k foo', 'bitfield_ro k get u8 #1',
  ],
};

describe('Redis parity: BITFIELD, BITFIELD_RO (standalone node vs redis-server)', function () {
  this.timeout(60_000);
  const env = useStandaloneParityPair();
  itMatchesCases(env, 2, BITFIELD_CASES);
  describe('RESP3', () => {
    itMatchesCases(env, 3, BITFIELD_CASES);
  });
});

describe('Redis parity: BITFIELD, BITFIELD_RO (node vs redis-server in cluster mode)', function () {
  this.timeout(60_000);
  const env = useParityPair();
  itMatchesCases(env, 2, BITFIELD_CASES);
});
