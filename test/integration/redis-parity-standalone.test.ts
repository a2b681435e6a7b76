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
};

describe('Redis parity: standalone node vs standalone redis-server', function () {
  this.timeout(60_000);
  const env = useStandaloneParityPair();
  itMatchesCases(env, 2, STANDALONE_CASES);
});
