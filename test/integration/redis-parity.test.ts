/**
 * Redis 7 parity, part 1: string and keyspace commands, unknown commands and
 * arity. Every case runs against a real irisdb-node and a real redis-server
 * (cluster mode, all slots) and the replies must be the same bytes — in
 * RESP2 and again in RESP3 — except for the normalisations listed in
 * test/support/parity.ts (remaining TTLs within a tolerance, KEYS order).
 */
import { expectNoMismatches, itMatchesCases, runLines, useParityPair } from '../support/parity.js';
import type { Arg } from '../support/resp-client.js';
import { createCommandTable } from '../../node/commands/table.js';

type Lines = ReadonlyArray<string | readonly Arg[]>;

const FUTURE_S = '4102444800'; // 2100-01-01: absolute expiry times compare exactly
const FUTURE_MS = '4102444800123';

const CASES: Record<string, Lines> = {
  'GET/SET basics, empty and binary keys and values': [
    'get k', 'set k v', 'get k', 'set k ""', 'get k', 'strlen k', 'set "" empty-key', 'get ""',
    'set "bin\\x00\\r\\nkey" "va\\r\\n\\x00lue\\xff"', 'get "bin\\x00\\r\\nkey"', 'strlen "bin\\x00\\r\\nkey"',
    'exists "bin\\x00\\r\\nkey"', 'type "bin\\x00\\r\\nkey"', 'set k "\\r\\n"', 'get k', 'SeT k UPPER', 'GET k',
  ],
  'SET options and their conflicts': [
    'set k v get nx', 'set k v nx get', 'set k v2 xx get', 'get k', 'set k v ex 10 ex 20', 'ttl k',
    'set k v ex 10 px 100', 'set k v keepttl ex 1', 'set k v px 1 keepttl', 'set k v ex 0', 'set k v ex -1',
    'set k v ex abc', 'set k v px 9223372036854775807', 'set k v ex 9223372036854775', 'set k v ex 9223372036854776',
    'set k v ex 9223372036854775808', 'set k v exat 0', 'set k v exat -5', 'set k v pxat 1', 'get k', 'exists k',
    'set k v xx nx', 'set k v nx xx', 'set k v nx nx', 'set k v get get', 'set k v keepttl keepttl', 'set k v ex',
    'set k v foo', 'set k v EX 5 NX', 'set k v "nx\\x00zz"', 'set k2 v "ex\\x00" 10', 'pttl k2', 'set k v nX',
    `set k v exat ${FUTURE_S}`, 'expiretime k', 'pexpiretime k', 'set k v2 keepttl', 'expiretime k', 'get k',
    'set k v3', 'ttl k', `set k v pxat ${FUTURE_MS}`, 'pexpiretime k', 'set k v px 100000', 'pttl k',
    'set nk v xx get', 'set nk v xx', 'set nk v get', 'set nk v nx', 'set nk v keepttl get', 'set k v ex 01',
    'set k v ex " 1"', 'set k v px 1.5',
  ],
  'SETNX, SETEX, PSETEX, GETSET, GETDEL': [
    'setnx a 1', 'setnx a 2', 'get a', 'setex b 0 v', 'setex b -1 v', 'setex b x v', 'setex b 100 v', 'ttl b',
    'psetex b 0 v', 'psetex b 100000 v', 'pttl b', 'setex b 9223372036854776 v', 'setex b 9223372036854775 v',
    'psetex b 9223372036854775807 v', 'get b', 'getset b new', 'ttl b', 'getset nokey x', 'get nokey',
    'getdel nokey', 'getdel b', 'getdel b', 'exists b', 'setnx', 'setex b 1', 'getset b', 'getdel',
  ],
  'GETEX options': [
    'getex nokey', 'getex nokey px 0', 'getex nokey px abc', 'getex nokey foo', 'set k v', 'getex k',
    'getex k persist ex 1', 'getex k ex 1 persist', 'getex k keepttl', 'getex k nx', 'getex k px 0', 'getex k ex -1',
    'getex k ex 10 ex 20', 'ttl k', 'getex k persist', 'ttl k', 'getex k persist persist', 'getex k px 50000',
    'pttl k', `getex k exat ${FUTURE_S}`, 'expiretime k', `getex k pxat ${FUTURE_MS}`, 'pexpiretime k',
    'getex k exat 1', 'get k', 'exists k', 'set k v', 'getex k pxat 1', 'exists k', 'set k v',
    'getex k ex 9223372036854776', 'getex k ex 9223372036854775', 'getex k', 'getex k ex', 'getex k "persist\\x00x"',
  ],
  'APPEND and STRLEN': [
    'append k abc', 'append k ""', 'append k "\\x00\\r\\n"', 'get k', 'strlen k', 'strlen nokey', 'append e ""',
    'get e', 'exists e', 'set t v ex 100', 'append t more', 'ttl t', 'get t', 'append', 'append k', 'strlen',
  ],
  'INCR/DECR family: int64 bounds and strict parsing': [
    'set a 10', 'incr a', 'incrby a 9223372036854775797', 'incr a', 'incrby a -1',
    'decrby a -9223372036854775808', 'decrby a 9223372036854775807', 'set a -9223372036854775808', 'decr a',
    'incrby a 9223372036854775807', 'incr a', 'set a 9223372036854775807', 'incr a', 'incrby a 0', 'decrby a 0',
    'incrby a x', 'incrby a 01', 'incrby a +1', 'incrby a " 1"', 'incrby a -0', 'incrby a 9223372036854775808',
    'incrby a ""', 'set b abc', 'incr b', 'set b " 1"', 'incr b', 'set b 1.5', 'incr b', 'set b 00', 'incr b',
    'set b -0', 'decr b', 'set b ""', 'incr b', 'set b 99999999999999999999', 'incr b', 'incr new', 'decr new2',
    'incrby new3 -5', 'decrby new4 -5', 'set t 5 ex 100', 'incr t', 'ttl t', 'incrby t 5', 'ttl t',
    'set c 9007199254740991', 'incr c', 'incr c', 'get c', 'set c -9007199254740991', 'decr c', 'decrby c 10',
    'incr', 'incr a b', 'incrby a', 'decrby a',
  ],
  'INCRBYFLOAT: long double arithmetic and formatting': [
    'set f 10.5', 'incrbyfloat f 0.1', 'incrbyfloat f 1e300', 'incrbyfloat f 1e5000', 'incrbyfloat f inf',
    'incrbyfloat f -inf', 'incrbyfloat f nan', 'incrbyfloat f NaN', 'set f 3', 'incrbyfloat f 0x10',
    'incrbyfloat f 1.0e2', 'incrbyfloat f -103', 'incrbyfloat f 5.0e3', 'incrbyfloat f 1e-20',
    'incrbyfloat f " 1"', 'incrbyfloat f "1 "', 'incrbyfloat f ""', 'incrbyfloat f 1e', 'incrbyfloat f .',
    'incrbyfloat f 0x', 'incrbyfloat f 0x1p', 'incrbyfloat f 1.5x', 'incrbyfloat nf 0.1', 'incrbyfloat nf 0.2',
    'incrbyfloat nf2 1e20', 'incrbyfloat nf3 -0.0', 'incrbyfloat nf4 1.7976931348623157e308',
    'incrbyfloat nf4 1.7976931348623157e308', 'incrbyfloat nf5 1e-320', 'incrbyfloat nf6 1e-4940',
    'incrbyfloat nf7 1e-5000', 'incrbyfloat nf8 .5', 'incrbyfloat nf9 5.', 'incrbyfloat nf10 +5',
    'incrbyfloat nf11 infinity', 'incrbyfloat nf11 INF', 'incrbyfloat nf11 0x1p3', 'incrbyfloat nf11 0X.8P1',
    'incrbyfloat nf12 3.14159265358979323846264338327950288', 'set x 1', 'incrbyfloat x 0.000003814697265625',
    'incrbyfloat y 0.000003814697265627', 'incrbyfloat y2 -0.000000000000000005',
    'incrbyfloat y3 -0.000000000000000006', 'incrbyfloat y4 0.000000000000000005',
    'incrbyfloat y5 0.000000000000000015', 'incrbyfloat y6 1e4932', 'incrbyfloat y7 1.18973149535723176502e+4932',
    'incrbyfloat y7 1e4932', 'incrbyfloat y8 0x1.fffffffffffffffep16383', 'incrbyfloat y9 0x1.ffffffffffffffffp16383',
    'incrbyfloat z -1e-4950', 'incrbyfloat z2 123456789012345678901234567890', 'incrbyfloat z2 -0.5',
    'incrbyfloat z3 1e19', 'incrbyfloat z3 1', 'incrbyfloat z4 0.1', 'incrbyfloat z4 -0.1', 'get z4',
    'set s abc', 'incrbyfloat s 1', 'set s 1e5', 'incrbyfloat s 1', 'set s " 1"', 'incrbyfloat s 1',
    'set s inf', 'incrbyfloat s 1', 'set s 1', 'incrbyfloat s 1e400', 'set t 1.5 ex 100', 'incrbyfloat t 1', 'ttl t',
    'incrbyfloat', 'incrbyfloat a',
  ],
  'MGET, MSET, MSETNX in one slot (across slots: redis-parity-standalone)': [
    'mset {t}a 1 {t}b 2', 'mget {t}a {t}b {t}c', 'mset {t}a', 'mset {t}a 1 {t}b',
    'msetnx {t}a 1 {t}c 2', 'msetnx {t}c 1 {t}d 2', 'mget {t}c {t}d', 'mget', 'mset', 'msetnx',
    'mset {t}x 1 {t}x 2', 'get {t}x', 'set {t}e 1 ex 100', 'mset {t}e 2', 'ttl {t}e', 'mget {t}e {t}e {t}nokey',
    'mget a', 'msetnx {t}f 1', 'msetnx {t}f 1', 'mset "{\\x00}a" 1 "{\\x00}b" 2', 'mget "{\\x00}a" "{\\x00}b"',
  ],
  'DEL, UNLINK, EXISTS, TYPE': [
    'mset {k}1 a {k}2 b', 'exists {k}1 {k}1 {k}2 {k}3', 'del {k}1 {k}1 {k}3', 'exists {k}1', 'unlink {k}2 {k}9',
    'type {k}2', 'set s v', 'type s', 'del', 'unlink', 'exists', 'type',
    'type a b', 'del s', 'type s',
  ],
  'EXPIRE family: NX/XX/GT/LT, negative and zero times, overflow': [
    'set a 1', 'expire a 100 nx', 'expire a 100 nx', 'expire a 50 gt', 'expire a 150 gt', 'ttl a',
    'expire a 200 lt', 'expire a 50 lt', 'expire a 10 xx', 'persist a', 'expire a 10 xx', 'expire a 10 gt',
    'expire a 10 lt', 'expire a 10 nx xx', 'expire a 10 gt lt', 'expire a 10 nx gt', 'expire a 10 xx gt',
    'expire a 10 foo', 'expire a 10 "bar\\r\\nbaz"', 'expire a 10 nx nx', 'expire a x', 'expire a 9223372036854775807',
    'expire a 9223372036854775', 'expire a 9223372036854774', 'pexpire a 9223372036854775807',
    'expireat a 9223372036854775807', 'expire a -9223372036854775808', 'exists a', 'expire a -1', 'exists a',
    'set a 1', 'expire a 0', 'exists a', 'expire nokey 10', 'expire nokey -10', 'expire nokey x',
    'set b 1', 'expireat b 100', 'exists b', 'set b 1', 'pexpire b -9223372036854775808', 'exists b',
    'set b 1', 'expire b -9223372036854775', 'set b 1', 'expire b -9223372036854776', 'exists b',
    'set c 1', 'expire c 10 gt', 'ttl c', 'pexpire c 100000 lt', 'pttl c', `expireat c ${FUTURE_S}`, 'expiretime c',
    `pexpireat c ${FUTURE_MS}`, 'pexpiretime c', 'expiretime c', `pexpireat c ${FUTURE_MS} gt`,
    `pexpireat c 4102444800124 gt`, 'pexpiretime c', 'pexpireat c 1 lt', 'exists c', 'set d 1', 'expire d -1 lt',
    'exists d', 'expire', 'expire a', 'pexpire a', 'expireat a', 'pexpireat a', 'expire a 1 2 3',
  ],
  'TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST': [
    'ttl nokey', 'pttl nokey', 'expiretime nokey', 'pexpiretime nokey', 'set b 1', 'ttl b', 'pttl b',
    'expiretime b', 'pexpiretime b', 'persist b', 'persist nokey', 'expire b 100', 'ttl b', 'persist b',
    'persist b', 'ttl b', 'set c 1 px 1500', 'ttl c', 'set c 1 px 499', 'ttl c', 'ttl', 'ttl a b',
    'pttl', 'persist', 'expiretime', 'pexpiretime a b',
  ],
  'KEYS glob patterns': [
    'mset {g}hello 1 {g}hallo 1 {g}hxllo 1 {g}hllo 1 {g}heeeello 1 "{g}h[llo" 1 "{g}a*b" 1 "{g}a\\\\b" 1',
    'mset "{g}\\xff\\x80" 1 "{g}A" 1 "{g}a" 1 "{g}-" 1 "{g}]" 1',
    'keys *', 'keys {g}h?llo', 'keys {g}h*llo', 'keys {g}h[ae]llo', 'keys {g}h[^e]llo', 'keys {g}h[a-b]llo',
    'keys {g}h[b-a]llo', 'keys "{g}h\\\\[llo"', 'keys "{g}h[\\\\[]llo"', 'keys {g}[', 'keys "{g}a\\\\*b"',
    'keys "{g}a\\\\\\\\b"', 'keys {g}*', 'keys nomatch*', 'keys "{g}[\\x80-\\xff]*"', 'keys "{g}[a-"', 'keys {g}[]]',
    'keys {g}[-]', 'keys {g}[a-z]', 'keys {g}[A-Z]', 'keys "{g}h*l\\\\lo"', 'keys ***', 'keys {g}**llo',
    'keys {g}h*', 'keys ?', 'set "" empty', 'keys **', 'keys *', 'keys "[a-\xff]*"', 'keys', 'keys a b',
  ],
  'SCAN errors, DBSIZE, RANDOMKEY, FLUSHDB/FLUSHALL': [
    'dbsize', 'randomkey', 'scan 0', 'set only one', 'randomkey', 'dbsize', 'scan x', 'scan 0 count 0',
    'scan 0 count -1', 'scan 0 count x', 'scan 0 match', 'scan 0 foo 1', 'scan " 0"', 'scan "0 "',
    'scan 18446744073709551616', 'scan 0 count 10 match', 'scan', 'dbsize x', 'randomkey x', 'flushdb async',
    'dbsize', 'set a 1', 'flushdb foo', 'flushall a b', 'flushall sync', 'dbsize', 'flushdb', 'flushall ASYNC',
  ],
  'unknown commands': [
    'foo', 'foo a b', 'foo "a\\r\\nb" "c\\x00d"', 'FOO bar',
    `foo ${'x'.repeat(100)} ${'y'.repeat(100)} z`, `${'c'.repeat(200)} a`, '"" a',
    'client foo', 'cluster foo', 'config foo', 'command foo', 'client "a\\r\\nb"',
  ],
};

/** Wrong arity for every top-level command of the table: one argument too few and one too many. */
function arityLines(): string[] {
  const lines: string[] = [];
  for (const spec of createCommandTable().all()) {
    if (['quit', 'reset', 'multi', 'exec'].includes(spec.name)) continue; // connection/transaction state: elsewhere
    const n = Math.abs(spec.arity);
    if (n >= 2) lines.push([spec.name, ...Array.from({ length: n - 2 }, (_, i) => `a${i}`)].join(' '));
    if (spec.arity > 0) lines.push([spec.name, ...Array.from({ length: n }, (_, i) => `a${i}`)].join(' '));
  }
  return lines;
}

describe('Redis parity: strings, keys, errors (irisdb-node vs redis-server, byte for byte)', function () {
  const env = useParityPair();

  for (const protocol of [2, 3] as const) {
    describe(`RESP${protocol}`, function () {
      itMatchesCases(env, protocol, CASES);

      it('wrong number of arguments, for every command', async function () {
        expectNoMismatches(await runLines(env, protocol, arityLines()));
      });

      it('large values (1 MiB, every byte value) round-trip identically', async function () {
        const big = Buffer.alloc(1 << 20);
        for (let i = 0; i < big.length; i++) big[i] = (i * 131 + 7) & 0xff;
        expectNoMismatches(await runLines(env, protocol, [
          ['SET', 'big', big], ['GET', 'big'], ['STRLEN', 'big'], ['APPEND', 'big', big.subarray(0, 1000)],
          ['STRLEN', 'big'], ['GETRANGE_IS_NOT_SUPPORTED', 'big'], ['GETDEL', 'big'], ['EXISTS', 'big'],
        ]));
      });
    });
  }
});
