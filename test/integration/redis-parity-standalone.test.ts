/**
 * Redis 7 parity of a standalone node (no --cluster-enabled, no map) against
 * a standalone redis-server with one database (IrisDB has only DB 0): a
 * single Redis server lets multi-key commands span slots (issue #17), and
 * the string and key commands added for issue #17 answer as Redis does.
 */
import { itMatchesCases, useStandaloneParityPair } from '../support/parity.js';

export const STANDALONE_CASES: Record<string, readonly string[]> = {
  'multi-key commands across slots run as on a single Redis server': [
    'mset a 1 b 2', 'mget a b', 'msetnx a 1 c 3', 'msetnx c 3 d 4', 'mget a b c d', 'exists a b c d nosuch',
    'del a b', 'unlink c d', 'mget a b c d',
  ],
  'MGET, MSET, MSETNX, DEL, EXISTS, UNLINK across slots (formerly CROSSSLOT cases of the cluster-mode parity files)': [
    'mset a 1 b 2', 'mget a b', 'msetnx a 1 b 2', 'set {t}e 2', 'mget {t}e {t}e nokey', 'del a b', 'exists a b', 'unlink a b',
  ],
  'transactions across slots (formerly CROSSSLOT in redis-parity-session)': [
    'multi', 'set a 1', 'set b 1', 'exec', 'exec', 'multi', 'mset a 1 b 2', 'exec', 'multi', 'get {a}1',
    'get {a}2', 'get b', 'exec', 'multi', 'get {a}1', 'get {a}2', 'exec', 'mget a b', 'mget {a}1 {a}2', 'watch a b',
    'watch {a}1 {a}2', 'exec', 'unwatch', 'multi', 'get a', 'foo', 'get b', 'exec', 'multi', 'get a', 'get b', 'get',
    'exec', 'set w 1', 'watch w', 'set w 2', 'multi', 'get a', 'get b', 'exec', 'del a b', 'exists a b', 'unlink a b',
  ],
  'transactions and WATCH across slots': [
    'multi', 'set a 1', 'set b 2', 'mget a b', 'exec', 'watch a b', 'multi', 'get a', 'get b', 'exec',
    'watch a b', 'set b 3', 'multi', 'get a', 'exec', 'unwatch',
  ],
  'GETRANGE, SUBSTR: negative, huge and reversed offsets, empty and binary values': [
    'set s "Hello, World"', 'getrange s 0 4', 'getrange s -5 -1', 'getrange s -1 -5', 'getrange s 5 2', 'getrange s 0 -1',
    'getrange s 0 100', 'getrange s -100 -50', 'getrange s -100 2', 'getrange s 3 -100', 'getrange s 100 200',
    'getrange s -9223372036854775808 9223372036854775807', 'getrange s 9223372036854775807 -9223372036854775808',
    'getrange s 0 9223372036854775808', 'getrange s x 1', 'getrange s 1 x', 'getrange s " 1" 2', 'getrange nokey 0 -1',
    'getrange nokey x 1', 'set e ""', 'getrange e 0 -1', 'getrange e -1 0', 'set b "\x00\r\n\xff"', 'getrange b 1 2',
    'substr s 0 4', 'substr s -3 -1', 'substr s x 1', 'getrange s 0', 'substr s', 'getrange s 0 1 2',
  ],
  'SETRANGE: padding, TTL kept, empty values, offset and size limits': [
    'setrange k 5 abc', 'get k', 'strlen k', 'setrange k 0 X', 'get k', 'setrange k 7 "\x00\xff\r\n"', 'get k',
    'setrange k 1 ""', 'setrange nokey 5 ""', 'exists nokey', 'setrange nokey 0 ""', 'set t hello ex 100',
    'setrange t 1 a', 'ttl t', 'get t', 'setrange k -1 a', 'setrange k x a', 'setrange k 9223372036854775807 a',
    'setrange k 9223372036854775808 a', 'setrange k 536870912 a', 'setrange k 536870911 ab', 'setrange k 536870912 ""',
    'setrange nokey2 536870912 a', 'exists nokey2', 'setrange k 1', 'setrange k 1 a b', 'get k',
    'multi', 'setrange m 2 ab', 'getrange m 0 -1', 'substr m 2 3', 'exec',
  ],
  'TOUCH': [
    'touch', 'touch nokey', 'mset a 1 b 2', 'touch a', 'touch a b nokey a', 'set t 1 px 1', 'touch x "\x00"',
  ],
  'RENAME, RENAMENX: TTL kept, same name, missing source, overwrite': [
    'set a 1 ex 100', 'rename a b', 'ttl b', 'exists a', 'get b', 'rename nokey x', 'rename nokey nokey', 'rename b b',
    'renamenx b b', 'renamenx nokey x', 'set c 3', 'rename b c', 'get c', 'ttl c', 'set d 4 ex 500', 'rename c d',
    'ttl d', 'get d', 'set e 5', 'renamenx d e', 'get e', 'renamenx d f', 'get f', 'ttl f', 'exists d',
    'set "\x00\r\n" bin', 'rename "\x00\r\n" "\xff"', 'get "\xff"', 'set g ""', 'rename g h', 'get h', 'strlen h',
    'rename a', 'rename a b c', 'renamenx a', 'multi', 'set {m}a 1', 'rename {m}a {m}b', 'renamenx {m}b {m}c', 'exec',
  ],
  'COPY: REPLACE, DB, TTL, options and errors': [
    'set a 1 ex 100', 'copy a b', 'ttl b', 'get b', 'copy a b', 'set a 2', 'copy a b replace', 'get b', 'ttl b',
    'copy a b REPLACE replace', 'copy a a', 'copy nokey a', 'copy nokey nokey', 'copy a c db 0', 'get c',
    'copy a d db 1', 'copy a d db -1', 'copy a d db x', 'copy a d db', 'copy a d foo', 'copy a d replace foo',
    'copy a d db 0 replace', 'copy a d db 9223372036854775808', 'copy a', 'copy a a db 0', 'copy nokey a db 1',
    'set e ""', 'copy e f', 'get f', 'exists f', 'set "\x00" "\xff\x00"', 'copy "\x00" "\x01"', 'get "\x01"',
  ],
  'SETBIT, GETBIT: padding, TTL kept, offsets and bit values': [
    'setbit k 7 1', 'get k', 'setbit k 7 1', 'setbit k 7 0', 'get k', 'strlen k', 'setbit k 100 1', 'strlen k', 'getbit k 100',
    'getbit k 99', 'getbit k 100000', 'getbit nokey 5', 'setbit k -1 1', 'setbit k x 1', 'setbit k 1 2', 'setbit k 1 -1',
    'setbit k 1 x', 'setbit k 4294967296 1', 'setbit k 9223372036854775807 1', 'getbit k 4294967296', 'getbit k -1',
    'getbit k x', 'getbit nokey 4294967296', 'set t "\xff" ex 100', 'setbit t 0 0', 'ttl t', 'get t', 'setbit t 8 0',
    'get t', 'setbit e 0 0', 'get e', 'setbit k', 'getbit k', 'getbit k 1 2', 'setbit k 1 1 1',
  ],
  'BITCOUNT: ranges in bytes and bits, negative and huge offsets': [
    'set s foobar', 'bitcount s', 'bitcount s 0 0', 'bitcount s 1 1', 'bitcount s 1 -2', 'bitcount s -2 -1',
    'bitcount s -1 -2', 'bitcount s 5 30 bit', 'bitcount s 5 30 BYTE', 'bitcount s 0 -1 bit', 'bitcount s -3 -1 bit',
    'bitcount s 3 2', 'bitcount s 1 100', 'bitcount s -100 -50', 'bitcount s -9223372036854775808 9223372036854775807',
    'bitcount s 0 -1 foo', 'bitcount s 0', 'bitcount s x 1', 'bitcount s 1 x', 'bitcount s 0 1 bit x', 'bitcount nokey',
    'bitcount nokey 0 x', 'bitcount nokey x', 'set e ""', 'bitcount e', 'bitcount e 0 -1', 'bitcount e 0 -1 bit',
    'set b "\x00\xff\x0f\xf0"', 'bitcount b 4 27 bit', 'bitcount b 12 12 bit', 'bitcount b 7 8 bit', 'bitcount',
  ],
  'BITPOS: set and clear bits, ranges, explicit end': [
    'set s "\xff\xf0\x00"', 'bitpos s 0', 'bitpos s 1', 'bitpos s 0 2', 'bitpos s 1 2', 'bitpos s 1 2 -1',
    'bitpos s 0 0 0', 'bitpos s 0 0', 'set f "\xff\xff"', 'bitpos f 0', 'bitpos f 0 0', 'bitpos f 0 0 -1',
    'bitpos f 0 0 -1 bit', 'bitpos f 1 3 5 bit', 'bitpos s 0 7 15 bit', 'bitpos s 1 12 20 BIT', 'bitpos s 0 3 2',
    'bitpos s 1 -1', 'bitpos s 1 -100 100', 'bitpos s 2', 'bitpos s x', 'bitpos s -1', 'bitpos nokey 0', 'bitpos nokey 1',
    'bitpos nokey 2', 'bitpos nokey 1 x', 'bitpos s 1 x', 'bitpos s 1 0 x', 'bitpos s 1 0 1 foo', 'bitpos s 1 0 1 bit x',
    'set e ""', 'bitpos e 0', 'bitpos e 1', 'bitpos e 0 0 -1', 'set z "\x00\x00"', 'bitpos z 1', 'bitpos z 0 1',
    'bitpos z 1 0 -1 bit', 'bitpos z 0 9 9 bit', 'bitpos s', 'bitpos s 1 0 1 bit 5',
  ],
  'WATCH sees writes of the new commands (and not SETBIT leaving the bit as it was)': [
    'set a 1', 'watch b', 'rename a b', 'multi', 'get b', 'exec', 'watch b', 'copy b c', 'multi', 'get b', 'exec',
    'watch c', 'copy b c replace', 'multi', 'get c', 'exec', 'watch c', 'setrange c 0 x', 'multi', 'get c', 'exec',
    'setbit k 7 1', 'watch k', 'setbit k 7 1', 'multi', 'get k', 'exec', 'watch k', 'setbit k 7 0', 'multi', 'get k', 'exec',
    'watch d', 'bitop not d k', 'multi', 'get d', 'exec', 'watch k', 'touch k', 'multi', 'get k', 'exec',
  ],
  'BITOP: AND, OR, XOR, NOT, missing and shorter sources, empty result, errors': [
    'set a "\xff\x0f"', 'set b "\xf0"', 'set t x ex 100', 'bitop and t a b', 'get t', 'ttl t', 'bitop or d a b', 'get d',
    'bitop xor d a b nokey', 'get d', 'bitop not d a', 'get d', 'bitop AND d a nokey', 'get d', 'bitop not d nokey',
    'exists d', 'set e ""', 'bitop or d e nokey', 'exists d', 'bitop not d a b', 'bitop foo d a', 'bitop nand d a',
    'bitop and d', 'bitop', 'bitop xor a a a', 'get a', 'bitop or "\x00" a b', 'get "\x00"',
  ],
  'LCS: string, LEN, IDX, MINMATCHLEN, WITHMATCHLEN, errors': [
    'mset key1 ohmytext key2 mynewtext', 'lcs key1 key2', 'lcs key1 key2 len', 'lcs key1 key2 idx',
    'lcs key1 key2 idx minmatchlen 4', 'lcs key1 key2 idx minmatchlen 4 withmatchlen', 'lcs key1 key2 IDX WITHMATCHLEN',
    'lcs key1 key2 idx minmatchlen -5', 'lcs key1 key2 idx len', 'lcs key1 key2 foo', 'lcs key1 key2 minmatchlen',
    'lcs key1 key2 minmatchlen x', 'lcs key1 nokey', 'lcs nokey nokey len', 'lcs nokey nokey idx', 'lcs key1 key1',
    'mset x "\x00ab\r\ncd" y "ab\x00cd\r"', 'lcs x y', 'lcs x y idx withmatchlen', 'mset s1 abcabcabc s2 cbacbacba',
    'lcs s1 s2', 'lcs s1 s2 idx withmatchlen', 'lcs key1', 'set e ""', 'lcs e key1 idx',
  ],
};

describe('Redis parity: standalone node vs standalone redis-server', function () {
  this.timeout(60_000);
  const env = useStandaloneParityPair();
  itMatchesCases(env, 2, STANDALONE_CASES);
  describe('RESP3', () => {
    itMatchesCases(env, 3, STANDALONE_CASES);
  });
});
