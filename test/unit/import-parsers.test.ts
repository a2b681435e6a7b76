/**
 * irisctl import/export's pure parts (issue #19): the source URL, the RDB
 * reader against the RDB writer (round trips of random keys, values and
 * expiries in every string encoding), the replication stream state machine
 * (handshake, RDB bulk, commands split at random points), what a
 * replicated command means for the import, JSON lines, the checkpoint.
 * Random bytes never make a parser throw anything but its own error.
 * Real redis-server RDB files are read in test/integration/import-redis.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { crc64 } from '../../node/commands/crc64.js';
import { encodeRdbString } from '../../node/commands/rdb-string.js';
import { parseCheckpoint } from '../../operator/import/checkpoint.js';
import { parseFollowCheckpoint } from '../../operator/import/follow-checkpoint.js';
import { jsonLine, parseJsonLine } from '../../operator/import/export-formats.js';
import { autoImportBatch, importCommand } from '../../operator/import/import-args.js';
import { isRedirection } from '../../operator/import/bulk-writer.js';
import { lagSeconds } from '../../operator/import/lag.js';
import { RdbError, readRdb } from '../../operator/import/rdb-reader.js';
import { RdbWriter } from '../../operator/import/rdb-writer.js';
import { planReplicated } from '../../operator/import/repl-commands.js';
import { ReplStream, ReplStreamError, type ReplEvent, encodeCommand } from '../../operator/import/repl-stream.js';
import { SourceUrlError, parseSourceUrl, redactedUrl } from '../../operator/import/source-url.js';
import { UsageError } from '../../operator/cli/errors.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
/** Values hitting every RDB string encoding: integers, short, long and repetitive (LZF), binary. */
const value = fc.oneof(
  bytes(200),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => Buffer.from(String(n))),
  fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), fc.nat(300)).map(([s, n]) => Buffer.from(s.repeat(n))),
);

function readAll(buf: Buffer): { strings: { db: number; key: Buffer; value: Buffer; at: number | null }[]; others: string[] } {
  const strings: { db: number; key: Buffer; value: Buffer; at: number | null }[] = [];
  const others: string[] = [];
  readRdb(buf, { onString: (db, key, v, at) => strings.push({ db, key, value: v, at }), onOther: (_db, _k, t) => others.push(t) });
  return { strings, others };
}

describe('import: source URL', () => {
  it('parses host, port, database, user and password, TLS', () => {
    expect(parseSourceUrl('redis://127.0.0.1:6380/2')).to.deep.equal({ tls: false, host: '127.0.0.1', port: 6380, db: 2 });
    expect(parseSourceUrl('rediss://app:s%40cret@redis.example:6390')).to.deep.equal({ tls: true, host: 'redis.example', port: 6390, db: 0, username: 'app', password: 's@cret' });
    expect(parseSourceUrl('redis://:pw@h')).to.deep.equal({ tls: false, host: 'h', port: 6379, db: 0, password: 'pw' });
    expect(parseSourceUrl('redis://[::1]:7000')).to.include({ host: '::1', port: 7000 });
  });

  it('refuses what is not a Redis URL, with the password hidden', () => {
    for (const bad of ['http://h:1', 'redis://h:1/x', 'redis://h:99999', 'redis://h:1/0?x=1', 'nope', 'redis://']) {
      expect(() => parseSourceUrl(bad), bad).to.throw(SourceUrlError);
    }
    expect(() => parseSourceUrl('redis//u:hunter2@h')).to.throw(SourceUrlError).with.property('message').that.does.not.include('hunter2');
  });

  it('never throws anything else, and the redacted form never shows the password', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => {
      try {
        parseSourceUrl(s);
      } catch (err) {
        expect(err).to.be.instanceOf(SourceUrlError);
      }
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 20 }).filter((p) => p.length > 3), (pw) => {
      const u = parseSourceUrl(`redis://user:${encodeURIComponent(pw)}@host:1/3`);
      expect(u.password).to.equal(pw);
      expect(redactedUrl(u)).to.equal('redis://user:***@host:1/3');
    }));
  });

  it('import flags: --until-lag needs --follow; --batch bounds', () => {
    const dir = { kind: 'dir', dir: 'd' } as const;
    expect(importCommand({ from: 'redis://h:1' }, dir)).to.include({ batch: null, verify: 1000, follow: false, untilLag: null });
    expect(importCommand({ from: 'redis://h:1', batch: '500' }, dir)).to.include({ batch: 500 });
    expect(importCommand({ from: 'redis://h:1', follow: true, 'until-lag': '0' }, dir)).to.include({ follow: true, untilLag: 0 });
    expect(() => importCommand({ from: 'redis://h:1', 'until-lag': '0' }, dir)).to.throw(UsageError);
    expect(() => importCommand({ from: 'redis://h:1', batch: '0' }, dir)).to.throw(UsageError);
    expect(() => importCommand({}, dir)).to.throw(UsageError, /--from/);
  });

  it('the automatic batch: 3000 keys per IrisDB primary, within 1000..30000', () => {
    expect([1, 2, 3, 6, 10, 11, 100].map(autoImportBatch)).to.deep.equal([3000, 6000, 9000, 18_000, 30_000, 30_000, 30_000]);
    expect(autoImportBatch(0)).to.equal(1000);
  });

  it('the SET fallback retries redirections, cluster-down and not-enough-replicas replies, nothing else', () => {
    for (const m of ['MOVED 10914 127.0.0.1:20503', 'ASK 1 h:2', 'TRYAGAIN slot migrating', 'CLUSTERDOWN The cluster is down', 'READONLY You cannot write against a read only replica.', 'NOREPLICAS Not enough good replicas to write (minSyncReplicas=1)', 'Too many Cluster redirections. Last error: MOVED 1 h:2']) {
      expect(isRedirection(m), m).to.equal(true);
    }
    for (const m of ['NOPERM this user has no permissions', 'ERR value is not an integer', 'OOM command not allowed', 'WRONGTYPE x', 'MOVEDX']) {
      expect(isRedirection(m), m).to.equal(false);
    }
  });
});

describe('import: RDB reader and writer', () => {
  it('round-trips random string keys with expiries', () => {
    fc.assert(fc.property(fc.array(fc.tuple(bytes(40), value, fc.option(fc.integer({ min: 1, max: 2 ** 45 }))), { maxLength: 30 }), (keys) => {
      const w = new RdbWriter();
      const file = Buffer.concat([w.start('test'), ...keys.map(([k, v, at]) => w.key(k, v, at)), w.end()]);
      const got = readAll(file);
      expect(got.others).to.deep.equal([]);
      expect(got.strings.map((s) => [s.key.toString('hex'), s.value.toString('hex'), s.at])).to.deep.equal(keys.map(([k, v, at]) => [k.toString('hex'), v.toString('hex'), at]));
    }), { numRuns: 500 });
  });

  it('steps over other types by their lengths, with SELECTDB, RESIZEDB, AUX and second-resolution expiries', () => {
    const len = (n: number) => Buffer.from([n]); // 6-bit lengths
    const s = (t: string) => encodeRdbString(Buffer.from(t));
    const body = Buffer.concat([
      Buffer.from('REDIS0009'), Buffer.from([0xfa]), s('redis-ver'), s('7.0.15'),
      Buffer.from([0xfe]), len(3), Buffer.from([0xfb]), len(4), len(1),
      Buffer.from([1]), s('alist'), len(2), s('a'), s('b'), // list: 2 strings
      Buffer.from([4]), s('ahash'), len(1), s('f'), s('v'), // hash: 1 pair
      Buffer.from([5]), s('azset'), len(1), s('m'), Buffer.alloc(8), // zset2: member + double
      Buffer.from([0xfd, 0x10, 0, 0, 0]), Buffer.from([0]), s('k'), s('12345'), // EXPIRETIME (seconds) then a string
      Buffer.from([0xf8]), len(5), Buffer.from([11]), s('intset'), s('\x02\x00\x00\x00\x00\x00\x00\x00'), // IDLE, then an intset blob
      Buffer.from([0xff]),
    ]);
    const sum = Buffer.alloc(8);
    sum.writeBigUInt64LE(crc64(0n, body));
    const got = readAll(Buffer.concat([body, sum]));
    expect(got.others).to.deep.equal(['list', 'hash', 'zset', 'set']);
    expect(got.strings).to.have.length(1);
    expect(got.strings[0]).to.deep.include({ db: 3, at: 16_000 });
    expect(got.strings[0]!.value.toString()).to.equal('12345');
  });

  it('detects a wrong checksum and truncation', () => {
    const w = new RdbWriter();
    const file = Buffer.concat([w.start('t'), w.key(Buffer.from('k'), Buffer.from('v'.repeat(100)), null), w.end()]);
    const bad = Buffer.from(file);
    bad[bad.length - 12] ^= 1;
    expect(() => readAll(bad)).to.throw(RdbError);
    for (let cut = 0; cut < file.length - 8; cut += 3) expect(() => readAll(file.subarray(0, cut))).to.throw(RdbError);
  });

  it('random and mutated files only ever throw RdbError', () => {
    const w = new RdbWriter();
    const good = Buffer.concat([w.start('t'), w.key(Buffer.from('key'), Buffer.from('x'.repeat(64)), 5), w.end()]);
    fc.assert(fc.property(fc.oneof(
      bytes(400).map((b) => Buffer.concat([Buffer.from('REDIS0010'), b])),
      fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
        const b = Buffer.from(good);
        b[i] = v;
        return b;
      }),
    ), (b) => {
      try {
        readAll(b);
      } catch (err) {
        expect(err).to.be.instanceOf(RdbError);
      }
    }), { numRuns: 5000 });
  });
});

describe('import: replication stream', () => {
  function feedSplit(chunks: Buffer, cuts: number[]): ReplEvent[] {
    const s = new ReplStream();
    const points = [...new Set(cuts.map((c) => c % (chunks.length + 1)))].sort((a, b) => a - b);
    const events: ReplEvent[] = [];
    let last = 0;
    for (const p of [...points, chunks.length]) {
      events.push(...s.feed(chunks.subarray(last, p)));
      last = p;
    }
    return events.filter((e) => e.kind !== 'rdb-progress');
  }

  it('handshake replies, FULLRESYNC, keep-alives, the RDB and commands, however the bytes are split', () => {
    fc.assert(fc.property(bytes(300), fc.array(fc.array(bytes(20), { minLength: 1, maxLength: 4 }), { maxLength: 8 }), fc.array(fc.nat(2000), { maxLength: 10 }), (rdb, cmds, cuts) => {
      const wire = Buffer.concat([
        Buffer.from('+OK\r\n+OK\r\n+FULLRESYNC ' + 'a'.repeat(40) + ' 1234\r\n\n\n'),
        Buffer.from(`$${rdb.length}\r\n`), rdb, ...cmds.map((c) => encodeCommand(c)),
      ]);
      const ev = feedSplit(wire, cuts);
      expect(ev.slice(0, 4)).to.deep.equal([
        { kind: 'reply', line: '+OK' }, { kind: 'reply', line: '+OK' }, { kind: 'fullresync', replid: 'a'.repeat(40), offset: 1234 }, { kind: 'rdb', data: rdb },
      ]);
      const got = ev.slice(4) as Extract<ReplEvent, { kind: 'command' }>[];
      expect(got.map((e) => e.argv.map((a) => a.toString('hex')))).to.deep.equal(cmds.map((c) => c.map((a) => a.toString('hex'))));
      expect(got.map((e) => e.bytes)).to.deep.equal(cmds.map((c) => encodeCommand(c).length));
    }), { numRuns: 500 });
  });

  it('+CONTINUE after PSYNC replid offset: the stream follows at once, with or without a new replication id', () => {
    fc.assert(fc.property(fc.array(fc.array(bytes(20), { minLength: 1, maxLength: 4 }), { maxLength: 8 }), fc.array(fc.nat(500), { maxLength: 10 }), fc.boolean(), (cmds, cuts, newId) => {
      const wire = Buffer.concat([Buffer.from(`+OK\r\n+CONTINUE${newId ? ' ' + 'e'.repeat(40) : ''}\r\n`), ...cmds.map((c) => encodeCommand(c))]);
      const ev = feedSplit(wire, cuts);
      expect(ev.slice(0, 2)).to.deep.equal([{ kind: 'reply', line: '+OK' }, { kind: 'continue', replid: newId ? 'e'.repeat(40) : null }]);
      expect(ev.slice(2).map((e) => (e as Extract<ReplEvent, { kind: 'command' }>).argv.map((a) => a.toString('hex')))).to.deep.equal(cmds.map((c) => c.map((a) => a.toString('hex'))));
    }), { numRuns: 200 });
  });

  it('random bytes only ever throw ReplStreamError', () => {
    fc.assert(fc.property(fc.array(bytes(64), { maxLength: 6 }), fc.boolean(), (chunks, streaming) => {
      const s = new ReplStream({ maxRdbBytes: 1000, maxBulkBytes: 1000, maxArgs: 100 });
      try {
        if (streaming) s.feed(Buffer.from('+FULLRESYNC ' + 'b'.repeat(40) + ' 0\r\n$0\r\n'));
        for (const c of chunks) s.feed(c);
      } catch (err) {
        expect(err).to.be.instanceOf(ReplStreamError);
      }
    }), { numRuns: 3000 });
  });

  it('refuses an RDB over the limit and a diskless EOF-marked transfer', () => {
    const s = new ReplStream({ maxRdbBytes: 10, maxBulkBytes: 10, maxArgs: 10 });
    expect(() => s.feed(Buffer.from('+FULLRESYNC ' + 'c'.repeat(40) + ' 0\r\n$11\r\n'))).to.throw(ReplStreamError, /over the limit/);
    const d = new ReplStream();
    expect(() => d.feed(Buffer.from('+FULLRESYNC ' + 'c'.repeat(40) + ' 0\r\n$EOF:' + 'x'.repeat(40) + '\r\n'))).to.throw(ReplStreamError, /EOF/);
  });

  it('replicated commands: forwarded, split per key, read back, selected, or counted', () => {
    const b = (...a: string[]) => a.map((x) => Buffer.from(x));
    const cmds = (argv: Buffer[]) => planReplicated(argv, 0, 0);
    expect(cmds(b('SET', 'k', 'v', 'PXAT', '123'))).to.deep.equal({ kind: 'apply', commands: [b('SET', 'k', 'v', 'PXAT', '123')] });
    expect(cmds(b('DEL', 'a', 'b'))).to.deep.equal({ kind: 'apply', commands: [b('DEL', 'a'), b('DEL', 'b')] });
    expect(cmds(b('MSET', 'a', '1', 'b', '2'))).to.deep.equal({ kind: 'apply', commands: [b('SET', 'a', '1'), b('SET', 'b', '2')] });
    expect(cmds(b('RENAME', 'a', 'b'))).to.deep.equal({ kind: 'refresh', keys: b('a', 'b') });
    expect(cmds(b('INCR', 'c'))).to.deep.equal({ kind: 'refresh', keys: b('c') });
    expect(cmds(b('SET', 'k', 'v', 'KEEPTTL'))).to.deep.equal({ kind: 'refresh', keys: b('k') });
    expect(cmds(b('set', 'k', 'v', 'nx', 'PX', '10', 'GET'))).to.deep.equal({ kind: 'apply', commands: [b('SET', 'k', 'v', 'PX', '10')] });
    expect(cmds(b('SETNX', 'k', 'v'))).to.deep.equal({ kind: 'apply', commands: [b('SET', 'k', 'v')] });
    expect(cmds(b('PEXPIREAT', 'k', '5', 'GT'))).to.deep.equal({ kind: 'refresh', keys: b('k') });
    expect(cmds(b('PEXPIREAT', 'k', '5'))).to.deep.equal({ kind: 'apply', commands: [b('PEXPIREAT', 'k', '5')] });
    expect(cmds(b('select', '3'))).to.deep.equal({ kind: 'select', db: 3 });
    expect(cmds(b('PING'))).to.deep.equal({ kind: 'ignore' });
    expect(cmds(b('LPUSH', 'l', 'x'))).to.deep.equal({ kind: 'skip', command: 'lpush' });
    expect(cmds(b('FLUSHALL'))).to.deep.equal({ kind: 'skip', command: 'flushall' });
    expect(planReplicated(b('SET', 'k', 'v'), 1, 0)).to.deep.equal({ kind: 'other-db' });
    expect(cmds(b('MSET', 'a'))).to.deep.equal({ kind: 'skip', command: 'mset' });
  });

  it('lag in seconds: the age of the first source offset past ours', () => {
    const samples = [{ at: 1000, offset: 10 }, { at: 2000, offset: 20 }, { at: 3000, offset: 30 }];
    expect(lagSeconds(samples, 30, 5000)).to.equal(0);
    expect(lagSeconds(samples, 15, 5000)).to.equal(3);
    expect(lagSeconds(samples, 0, 5000)).to.equal(4);
  });
});

describe('import: export formats and checkpoint', () => {
  it('JSON lines round-trip any key and value (base64 when not UTF-8)', () => {
    fc.assert(fc.property(bytes(50), bytes(100), fc.option(fc.nat()), (key, v, at) => {
      const line = jsonLine({ key, value: v, expiresAt: at });
      expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).to.equal(true);
      const back = parseJsonLine(line);
      expect(back.key.equals(key) && back.value.equals(v) && back.expiresAt === at).to.equal(true);
    }));
    expect(jsonLine({ key: Buffer.from('k'), value: Buffer.from([0xff]), expiresAt: null })).to.equal('{"key":"k","value":"/w==","valueEncoding":"base64","expiresAt":null}\n');
  });

  it('a checkpoint parses back; anything else is refused', () => {
    const cp = { version: 1, source: 'redis://h:1/0', nodes: { 'h:1': { cursor: '1234', done: false } }, counts: { scanned: 5, copied: 4, withTtl: 1, vanished: 0, skippedByType: { list: 1 } } };
    expect(parseCheckpoint(JSON.stringify(cp))).to.deep.equal(cp);
    for (const bad of ['', '{}', 'null', JSON.stringify({ ...cp, version: 2 }), JSON.stringify({ ...cp, nodes: { x: { cursor: 'abc', done: false } } })]) {
      expect(parseCheckpoint(bad), bad).to.equal(null);
    }
  });

  it('a follow checkpoint parses back; a SCAN checkpoint or a bad offset is refused', () => {
    const counts = { scanned: 5, copied: 4, withTtl: 1, vanished: 0, skippedByType: {} };
    const cp = { version: 1, kind: 'follow', source: 'redis://h:1/0', links: { 'h:1': { replid: 'f'.repeat(40), offset: 99, db: 2 } }, counts, stream: { applied: 3, skipped: { lpush: 1 }, otherDb: 0, errors: 0, firstError: null } };
    expect(parseFollowCheckpoint(JSON.stringify(cp))).to.deep.equal(cp);
    const scan = { version: 1, source: 'redis://h:1/0', nodes: {}, counts };
    for (const bad of [JSON.stringify(scan), JSON.stringify({ ...cp, links: { 'h:1': { replid: 'x', offset: 1, db: 0 } } }), JSON.stringify({ ...cp, links: { 'h:1': { replid: 'f'.repeat(40), offset: -1, db: 0 } } })]) {
      expect(parseFollowCheckpoint(bad), bad).to.equal(null);
    }
  });
});
