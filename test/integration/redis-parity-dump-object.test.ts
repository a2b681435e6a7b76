/**
 * Redis 7 parity of DUMP, RESTORE, OBJECT, MEMORY USAGE, FUNCTION/SCRIPT
 * FLUSH, FUNCTION LIST and ACL WHOAMI (issue #17): a standalone node
 * against a standalone redis-server, byte for byte in RESP2 and RESP3, with
 * hand-built payloads for every RDB string encoding and corruption; then
 * DUMP payloads exchanged both ways between the two servers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { itMatchesCases, useParityPair, useStandaloneParityPair, type ParityEnv } from '../support/parity.js';
import { RawRespClient, parseReply, type Arg } from '../support/resp-client.js';
import { encodeLength, withDumpFooter } from '../../node/commands/rdb-string.js';
import { lzfCompress } from '../../node/commands/rdb-lzf.js';

const b = (...parts: Array<number[] | string | Buffer>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
/** A payload with a correct footer around `body` (RDB type byte first). */
const payload = (...parts: Array<number[] | string | Buffer>): Buffer => withDumpFooter(b(...parts));

const A100 = 'a'.repeat(100);
const DISTINCT70 = Buffer.from(Array.from({ length: 70 }, (_, i) => (i * 37) & 0xff));
const P = {
  hello: payload([0], encodeLength(5), 'hello'),
  len14: payload([0, 0x40, 3], 'abc'),
  len32: payload([0, 0x80, 0, 0, 0, 3], 'abc'),
  len64: payload([0, 0x81, 0, 0, 0, 0, 0, 0, 0, 3], 'abc'),
  int8: payload([0, 0xc0, 0xff]),
  int16: payload([0, 0xc1, 0x39, 0x30]),
  int32: payload([0, 0xc2, 0, 0, 0, 0x80]),
  lzfOurs: payload([0, 0xc3], encodeLength(lzfCompress(Buffer.from(A100), 96)!.length), encodeLength(100), lzfCompress(Buffer.from(A100), 96)!),
  lzfHand: payload([0, 0xc3, 5, 5, 0x01], 'ab', [0x20, 0x01]),
  lzfWrongLen: payload([0, 0xc3, 5, 6, 0x01], 'ab', [0x20, 0x01]),
  lzfBadRef: payload([0, 0xc3, 4, 5, 0x00], 'a', [0x20, 0x05]),
  lzfZeroLen: payload([0, 0xc3, 2, 0, 0x00], 'a'),
  lzfZeroLenBad: payload([0, 0xc3, 2, 0, 0xff, 0xff]),
  lzfShortData: payload([0, 0xc3, 3, 1, 0x00], 'ab'),
  badEncoding: payload([0, 0xc4, 1, 2]),
  readsFooter: payload([0, 5], 'abc'),
  tooLong: payload([0, 0x3f], 'abc'),
  notAType: payload([0xff, 3], 'abc'),
  trailing: payload([0, 3], 'abcjunk'),
  empty: payload([0, 0]),
  binary: payload([0, 4, 0, 0xff, 13, 10]),
};
const badCrc = Buffer.from(P.hello);
badCrc[badCrc.length - 1]! ^= 1;

const restore = (key: string, ttl: string, p: Buffer, ...opts: string[]): Arg[] => ['restore', key, ttl, p, ...opts];

export const DUMP_CASES: Record<string, ReadonlyArray<string | readonly Arg[]>> = {
  'DUMP: integer encodings, lengths, empty and binary values as Redis writes them': [
    'dump nokey', 'set s hello', 'dump s', 'set n 123', 'dump n', 'set n -129', 'dump n', 'set n 32768', 'dump n',
    'set n -2147483648', 'dump n', 'set n 2147483648', 'dump n', 'set n 12345678901', 'dump n', 'set n 007', 'dump n',
    'set n +5', 'dump n', 'set n -0', 'dump n', 'set e ""', 'dump e', 'set b "\\x00\\xff\\r\\n"', 'dump b',
    'set t abcdefghijabcdefghij', 'dump t', ['set', 'd', DISTINCT70], 'dump d', 'dump', 'dump a b',
  ],
  'DUMP: LZF-compressed payloads are Redis\'s bytes': [
    `set c ${'y'.repeat(21)}`, 'dump c', `set c ${'y'.repeat(44)}`, 'dump c', `set c ${'abc'.repeat(30)}`, 'dump c',
    ['set', 'c', 'x'.repeat(5000)], 'dump c', ['set', 'c', 'the quick brown fox jumps over the lazy dog '.repeat(40)], 'dump c',
    ['set', 'c', Buffer.concat([DISTINCT70, DISTINCT70, Buffer.from('tail'), DISTINCT70.subarray(3, 40)])], 'dump c',
    ['set', 'c', Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * i + (i >> 7)) & 0x3f))], 'dump c',
    ['set', 'c', Buffer.from('abcdefghijklmnopqrstuvwxyz'.repeat(400) + 'z'.repeat(300))], 'dump c',
  ],
  'RESTORE: every string encoding, LZF, lengths that reach into the footer, trailing bytes': [
    restore('a', '0', P.hello), 'get a', restore('b', '0', P.len14), 'get b', restore('c', '0', P.len32), 'get c',
    restore('d', '0', P.len64), 'get d', restore('e', '0', P.int8), 'get e', restore('f', '0', P.int16), 'get f',
    restore('g', '0', P.int32), 'get g', restore('h', '0', P.lzfOurs), 'get h', restore('i', '0', P.lzfHand), 'get i',
    restore('n', '0', P.lzfZeroLen), 'get n', 'exists n', restore('o', '0', P.lzfZeroLenBad), 'get o', restore('p', '0', P.lzfShortData),
    'exists p', restore('j', '0', P.readsFooter), 'get j', restore('k', '0', P.trailing), 'get k', restore('l', '0', P.empty), 'get l',
    'exists l', restore('m', '0', P.binary), 'get m', 'object encoding e', 'object encoding a',
  ],
  'RESTORE: corrupt payloads, bad checksum and version, option errors in Redis order': [
    restore('x', '0', P.lzfWrongLen), restore('x', '0', P.lzfBadRef), restore('x', '0', P.badEncoding), restore('x', '0', P.tooLong),
    restore('x', '0', P.notAType), restore('x', '0', badCrc), ['restore', 'x', '0', 'garbage'], ['restore', 'x', '0', ''],
    ['restore', 'x', '0', P.hello.subarray(0, 9)], 'exists x', restore('x', '-1', P.hello), restore('x', 'x', P.hello),
    restore('x', '0', P.hello, 'foo'), restore('x', '0', P.hello, 'idletime', '-1'), restore('x', '0', P.hello, 'idletime', 'x'),
    restore('x', '0', P.hello, 'freq', '256'), restore('x', '0', P.hello, 'freq', '-1'), restore('x', '0', P.hello, 'freq', 'x'),
    restore('x', '0', P.hello, 'freq', '5', 'idletime', '5'), restore('x', '0', P.hello, 'idletime', '5', 'freq', '5'),
    restore('x', '0', P.hello, 'idletime'), restore('x', '0', P.hello, 'freq'), 'set y 1', restore('y', 'x', badCrc),
    restore('y', '0', P.hello, 'idletime', '-1'), 'restore x 0', 'restore x',
  ],
  'RESTORE: BUSYKEY, REPLACE, TTL, ABSTTL, IDLETIME, FREQ': [
    restore('k', '0', P.hello), restore('k', '0', P.hello), 'get k', restore('k', '0', P.int16, 'REPLACE'), 'get k', 'ttl k',
    restore('k', '100000', P.hello, 'replace'), 'pttl k', 'get k', restore('k', '0', P.int8, 'replace', 'replace'), 'ttl k',
    restore('k', '4102444800000', P.hello, 'replace', 'absttl'), 'pexpiretime k', restore('k', '1', P.hello, 'replace', 'absttl'),
    'exists k', restore('k', '1', P.hello, 'absttl'), 'exists k', restore('k', '0', P.hello, 'idletime', '1000', 'replace'),
    'get k', restore('k', '0', P.hello, 'freq', '100', 'replace'), 'get k', restore('k', '0', P.hello, 'ABSTTL', 'IdleTime', '0', 'Replace'),
    'ttl k', 'set t x ex 100', restore('t', '0', P.hello, 'replace'), 'ttl t',
  ],
  'DUMP and RESTORE in MULTI and under WATCH': [
    'set {m}s hello', 'multi', 'dump {m}s', restore('{m}r', '0', P.hello), restore('{m}r', '0', P.hello), 'get {m}r', 'exec',
    'watch r', restore('r', '0', P.int8, 'replace'), 'multi', 'ping', 'exec', 'watch r', restore('r', '0', P.int8), 'multi', 'ping', 'exec',
    'watch z', restore('z', '1', P.hello, 'absttl'), 'multi', 'ping', 'exec',
  ],
  'OBJECT ENCODING, REFCOUNT, FREQ, IDLETIME, HELP': [
    'set a 123', 'object encoding a', 'object refcount a', 'set a 9999', 'object refcount a', 'set a 10000', 'object encoding a',
    'object refcount a', 'set a -1', 'object encoding a', 'object refcount a', 'set a 01', 'object encoding a', 'set a +1',
    'object encoding a', 'set a 9223372036854775807', 'object encoding a', 'set a -9223372036854775808', 'object encoding a',
    'set a 9223372036854775808', 'object encoding a', 'set a hello', 'object encoding a', 'object refcount a',
    `set a ${'x'.repeat(44)}`, 'object encoding a', `set a ${'x'.repeat(45)}`, 'object encoding a', 'object refcount a',
    'set a ""', 'object encoding a', 'set a "1 "', 'object encoding a', 'object encoding nokey', 'object refcount nokey',
    'object freq nokey', 'object idletime nokey', 'object freq a', 'object idletime a', 'object help', 'object HELP x',
    'object foo', 'object encoding', 'object encoding a b', 'object', 'OBJECT ENCODING a',
  ],
  'MEMORY USAGE errors, MEMORY on a missing key': [
    'memory usage nokey', 'memory usage nokey samples 5', 'memory usage nokey samples 0', 'memory usage nokey samples -1',
    'memory usage nokey samples x', 'memory usage nokey samples', 'memory usage nokey foo', 'memory usage', 'memory',
    'set k v', 'memory usage k samples -1', 'memory usage k SAMPLES x', 'memory usage k samples 1 foo',
  ],
  'FUNCTION FLUSH, FUNCTION LIST, SCRIPT FLUSH, ACL WHOAMI': [
    'function flush', 'function flush async', 'function flush SYNC', 'function flush x', 'function flush a b', 'function list',
    'function list withcode', 'function list libraryname x withcode', 'function list LIBRARYNAME x', 'function list libraryname',
    'function list foo', 'function list withcode withcode', 'function list libraryname a libraryname b', 'function',
    'script flush', 'script flush async', 'script flush sync', 'script flush x', 'script flush a b', 'script', 'acl whoami',
    'acl whoami x', 'acl', 'set k 1', 'function flush', 'script flush', 'get k',
  ],
};

async function call(port: number, argv: readonly Arg[]): Promise<Buffer | string | null> {
  const c = await RawRespClient.connect(port);
  try {
    const n = parseReply(await c.call(argv)).node;
    if (n.type === '-') return `error: ${String(n.value)}`;
    return n.value === null ? null : Buffer.isBuffer(n.value) ? n.value : String(n.value);
  } finally {
    c.close();
  }
}

/** SET on `from`, DUMP there, RESTORE on `to`: the value (and a TTL) arrive intact. */
async function exchange(from: number, to: number, key: string, value: Buffer): Promise<void> {
  expect(await call(from, ['set', key, value, 'px', '100000'])).to.equal('OK');
  const dumped = await call(from, ['dump', key]);
  expect(Buffer.isBuffer(dumped), `DUMP ${key}`).to.equal(true);
  expect(await call(to, ['restore', key, '100000', dumped!, 'replace'])).to.equal('OK');
  const got = await call(to, ['get', key]);
  expect(Buffer.isBuffer(got) ? got.equals(value) : got, `value of ${key} (${value.length} bytes)`).to.equal(true);
  expect(Number(await call(to, ['pttl', key]))).to.be.within(90_000, 100_000);
}

function exchangeValues(): Array<[string, Buffer]> {
  let seed = 12345;
  const random = Buffer.alloc(100_000);
  for (let i = 0; i < random.length; i++) random[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(500));
  return [
    ['int8', Buffer.from('-7')], ['int16', Buffer.from('-32768')], ['int32', Buffer.from('2147483647')], ['big', Buffer.from('2147483648')],
    ['empty', Buffer.alloc(0)], ['binary', Buffer.from([0, 255, 13, 10, 0])], ['twenty', Buffer.from('abcdefghijabcdefghij')],
    ['twentyone', Buffer.from('aaaaaaaaaaaaaaaaaaaaa')], ['runs', Buffer.from('x'.repeat(100_000))], ['text', text], ['random', random],
    ['distinct', DISTINCT70],
  ];
}

function exchangeTests(env: ParityEnv): void {
  it('a DUMP from redis-server RESTOREs into IrisDB (plain, integer and LZF payloads, TTL kept)', async function () {
    for (const [key, value] of exchangeValues()) await exchange(env.redisPort, env.irisPort, `r2i:${key}`, value);
  });

  it('a DUMP from IrisDB RESTOREs into redis-server', async function () {
    for (const [key, value] of exchangeValues()) await exchange(env.irisPort, env.redisPort, `i2r:${key}`, value);
  });

  it('DUMP writes Redis\'s bytes for random values of every compressibility (LZF step for step)', async function () {
    const alphabet = fc.constantFrom('a', 'ab', 'abc', 'abcdefgh', '\x00\xff', 'the lazy dog ');
    const compressible = fc.tuple(fc.array(fc.tuple(alphabet, fc.nat(40)), { minLength: 1, maxLength: 30 }), fc.uint8Array({ maxLength: 40 }))
      .map(([runs, noise]) => Buffer.concat([...runs.map(([a, n]) => Buffer.from(a.repeat(n + 1), 'latin1')), Buffer.from(noise)]));
    await fc.assert(fc.asyncProperty(fc.oneof(compressible, fc.uint8Array({ minLength: 15, maxLength: 400 }).map((a) => Buffer.from(a))), async (v) => {
      await call(env.irisPort, ['set', 'lzf', v]);
      await call(env.redisPort, ['set', 'lzf', v]);
      const [a, b] = [await call(env.irisPort, ['dump', 'lzf']), await call(env.redisPort, ['dump', 'lzf'])];
      expect((a as Buffer).equals(b as Buffer), `DUMP of ${v.length} bytes: ${v.toString('latin1').slice(0, 80)}`).to.equal(true);
    }), { numRuns: 150 });
  });

  it('a DUMP of a non-string value gets a clear error and leaves the key alone', async function () {
    for (const [cmd, type] of [[['rpush', 'c', 'a', 'b'], 'list'], [['sadd', 'c', 'a'], 'set'], [['hset', 'c', 'f', 'v'], 'hash'], [['zadd', 'c', '1', 'a'], 'zset']] as const) {
      await call(env.redisPort, ['del', 'c']);
      await call(env.redisPort, cmd);
      const dumped = await call(env.redisPort, ['dump', 'c']);
      expect(Buffer.isBuffer(dumped)).to.equal(true);
      await call(env.irisPort, ['set', 'c', 'kept']);
      const reply = await call(env.irisPort, ['restore', 'c', '0', dumped!, 'replace']);
      expect(reply).to.match(new RegExp(`^error: ERR Bad data format: the payload holds a ${type} \\(RDB type \\d+\\); IrisDB stores strings only$`));
      expect(String(await call(env.irisPort, ['get', 'c']))).to.equal('kept');
    }
  });

  it('MEMORY USAGE answers an estimate that grows with the key and value', async function () {
    await call(env.irisPort, ['set', 'small', 'v']);
    await call(env.irisPort, ['set', 'large', 'v'.repeat(10_000), 'ex', '100']);
    const small = Number(await call(env.irisPort, ['memory', 'usage', 'small']));
    const large = Number(await call(env.irisPort, ['memory', 'usage', 'large', 'samples', '0']));
    expect(small).to.be.greaterThan(6);
    expect(large).to.be.greaterThan(10_005);
    expect(large - small).to.be.greaterThan(9_999);
  });
}

/** redis-server MIGRATEs keys into IrisDB: it sends `restoreCommand` (RESTORE standalone, RESTORE-ASKING in cluster mode). */
function migrateIntoIrisTests(env: ParityEnv, restoreCommand: 'restore' | 'restore-asking'): void {
  it('MIGRATE from redis-server moves a key (value, TTL), COPY keeps it, REPLACE overwrites, BUSYKEY is reported', async function () {
    const long = Buffer.from('lzf-compressible '.repeat(200));
    await call(env.irisPort, ['del', 'm1', 'm2']);
    expect(await call(env.redisPort, ['set', 'm1', long, 'px', '100000'])).to.equal('OK');
    expect(await call(env.redisPort, ['migrate', '127.0.0.1', String(env.irisPort), 'm1', '0', '5000'])).to.equal('OK');
    expect(await call(env.redisPort, ['exists', 'm1'])).to.equal('0');
    expect((await call(env.irisPort, ['get', 'm1']) as Buffer).equals(long)).to.equal(true);
    expect(Number(await call(env.irisPort, ['pttl', 'm1']))).to.be.within(90_000, 100_000);
    expect(await call(env.redisPort, ['set', 'm2', '12345'])).to.equal('OK');
    expect(await call(env.redisPort, ['migrate', '127.0.0.1', String(env.irisPort), 'm2', '0', '5000', 'COPY'])).to.equal('OK');
    expect(String(await call(env.redisPort, ['get', 'm2']))).to.equal('12345');
    expect(await call(env.redisPort, ['migrate', '127.0.0.1', String(env.irisPort), 'm2', '0', '5000', 'COPY']))
      .to.match(/^error: .*BUSYKEY Target key name already exists\.$/);
    expect(await call(env.redisPort, ['set', 'm2', 'new'])).to.equal('OK');
    expect(await call(env.redisPort, ['migrate', '127.0.0.1', String(env.irisPort), 'm2', '0', '5000', 'REPLACE'])).to.equal('OK');
    expect(String(await call(env.irisPort, ['get', 'm2']))).to.equal('new');
    expect(await call(env.irisPort, ['pttl', 'm2'])).to.equal('-1');
  });

  it('MIGRATE … KEYS moves several keys in one request', async function () {
    const keys = ['{mk}a', '{mk}b', '{mk}c'];
    await call(env.irisPort, ['del', ...keys]);
    expect(await call(env.redisPort, ['mset', '{mk}a', '1', '{mk}b', '', '{mk}c', 'x'.repeat(1000)])).to.equal('OK');
    expect(await call(env.redisPort, ['migrate', '127.0.0.1', String(env.irisPort), '', '0', '5000', 'KEYS', ...keys])).to.equal('OK');
    expect(await call(env.redisPort, ['exists', ...keys])).to.equal('0');
    expect(String(await call(env.irisPort, ['get', '{mk}a']))).to.equal('1');
    expect(String(await call(env.irisPort, ['get', '{mk}b']))).to.equal('');
    expect(String(await call(env.irisPort, ['get', '{mk}c']))).to.equal('x'.repeat(1000));
    expect(String(await call(env.irisPort, ['info', 'commandstats']))).to.contain(`cmdstat_${restoreCommand}:calls=`);
  });
}

describe('Redis parity: DUMP, RESTORE, OBJECT, MEMORY, FUNCTION/SCRIPT FLUSH, ACL WHOAMI (standalone node vs redis-server)', function () {
  this.timeout(60_000);
  const env = useStandaloneParityPair();
  itMatchesCases(env, 2, DUMP_CASES);
  describe('RESP3', () => {
    itMatchesCases(env, 3, DUMP_CASES);
  });
  describe('DUMP payloads exchanged both ways', () => {
    exchangeTests(env);
  });
  describe('MIGRATE from a standalone redis-server (RESTORE)', () => {
    migrateIntoIrisTests(env, 'restore');
  });
});

describe('Redis parity: DUMP, RESTORE, OBJECT, MEMORY, FUNCTION/SCRIPT FLUSH, ACL WHOAMI (node vs redis-server in cluster mode)', function () {
  this.timeout(60_000);
  const env = useParityPair();
  itMatchesCases(env, 2, DUMP_CASES);
  describe('MIGRATE from a cluster-mode redis-server (RESTORE-ASKING)', () => {
    migrateIntoIrisTests(env, 'restore-asking');
  });
});
