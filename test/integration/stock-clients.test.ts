/** Stock Redis clients work unmodified against irisdb-node: ioredis, redis-cli, redis-benchmark. */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { useNodeWithClient } from '../support/node-client.js';
import { run } from '../support/run.js';

describe('stock Redis clients against irisdb-node', function () {
  const ctx = useNodeWithClient();

  describe('ioredis', () => {
    it('reads, writes, expires and deletes', async () => {
      // Multi-key commands need keys of one slot (cluster semantics), hence the {s} hash tag.
      expect(await ctx.redis.set('{s}greeting', 'hello')).to.equal('OK');
      expect(await ctx.redis.get('{s}greeting')).to.equal('hello');
      expect(await ctx.redis.set('{s}greeting', 'bye', 'EX', 100, 'GET')).to.equal('hello');
      expect(await ctx.redis.ttl('{s}greeting')).to.be.within(99, 100);
      expect(await ctx.redis.incrby('{s}counter', 41)).to.equal(41);
      expect(await ctx.redis.incr('{s}counter')).to.equal(42);
      expect(await ctx.redis.mget('{s}greeting', '{s}nope', '{s}counter')).to.deep.equal(['bye', null, '42']);
      expect(await ctx.redis.del('{s}greeting', '{s}counter', '{s}nope')).to.equal(2);
      expect(await ctx.redis.exists('{s}greeting')).to.equal(0);
      // A standalone node is a single Redis server: keys may span slots (issue #17).
      expect(await ctx.redis.mget('a', '{s}greeting')).to.deep.equal([null, null]);
    });

    it('round-trips binary keys and values', async () => {
      const key = Buffer.from([0, 13, 10, 255, 42]);
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await ctx.redis.set(key, value);
      expect(Buffer.compare((await ctx.redis.getBuffer(key))!, value)).to.equal(0);
    });

    it('pipelines in order', async () => {
      const pipe = ctx.redis.pipeline();
      for (let i = 0; i < 200; i++) pipe.set(`p:${i}`, String(i)).get(`p:${i}`);
      const res = (await pipe.exec())!;
      for (let i = 0; i < 200; i++) expect(res[i * 2 + 1]).to.deep.equal([null, String(i)]);
    });

    it('runs MULTI/EXEC transactions and honours WATCH', async () => {
      expect(await ctx.redis.multi().set('{t}a', '1').incr('{t}a').get('{t}a').exec()).to.deep.equal([[null, 'OK'], [null, 2], [null, '2']]);
      const other = new Redis({ port: ctx.node.port, host: '127.0.0.1' });
      try {
        await ctx.redis.watch('{t}a');
        await other.set('{t}a', 'changed');
        expect(await ctx.redis.multi().set('{t}a', 'mine').exec()).to.equal(null);
        expect(await ctx.redis.get('{t}a')).to.equal('changed');
      } finally {
        other.disconnect();
      }
    });

    it('iterates every key with scanStream', async () => {
      const pipe = ctx.redis.pipeline();
      for (let i = 0; i < 1000; i++) pipe.set(`scan:${i}`, 'v');
      await pipe.exec();
      const seen = new Set<string>();
      await new Promise<void>((resolve, reject) => {
        const stream = ctx.redis.scanStream({ match: 'scan:*', count: 100 });
        stream.on('data', (keys: string[]) => keys.forEach((k) => seen.add(k)));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      expect(seen.size).to.equal(1000);
    });
  });

  describe('redis-cli', () => {
    const cli = (...args: string[]) => run('redis-cli', ['-p', String(ctx.node.port), ...args]);

    it('runs single commands', async () => {
      expect((await cli('SET', 'cli:k', 'hello world')).stdout.trim()).to.equal('OK');
      expect((await cli('GET', 'cli:k')).stdout.trim()).to.equal('hello world');
      expect((await cli('PING')).stdout.trim()).to.equal('PONG');
      const info = await cli('INFO', 'server');
      expect(info.stdout).to.match(/redis_version:/);
    });

    it('takes commands on stdin and reports errors', async () => {
      const res = await run('redis-cli', ['-p', String(ctx.node.port)], { input: 'SET cli:a 1\nINCR cli:a\nINCR cli:k\nGET cli:a\n' });
      expect(res.stdout.split('\n').map((l) => l.trim()).filter(Boolean)).to.deep.equal([
        'OK', '2', 'ERR value is not an integer or out of range', '2',
      ]);
    });

    it('speaks RESP3 with -3 (HELLO 3)', async () => {
      // --no-raw: the human-readable form that shows RESP3 types (map, nil).
      const res = await run('redis-cli', ['-3', '--no-raw', '-p', String(ctx.node.port)], { input: 'SET r3 v\nGET r3\nHELLO 3\nGET nope\n' });
      expect(res.code).to.equal(0);
      expect(res.stdout).to.match(/^OK\n"v"\n/);
      expect(res.stdout).to.match(/"proto" => \(integer\) 3/);
      expect(res.stdout.trim().split('\n').pop()).to.equal('(nil)');
    });

    it('mass-inserts with --pipe', async () => {
      let proto = '';
      for (let i = 0; i < 5000; i++) {
        const k = `pipe:${i}`;
        proto += `*3\r\n$3\r\nSET\r\n$${Buffer.byteLength(k)}\r\n${k}\r\n$${String(i).length}\r\n${i}\r\n`;
      }
      const res = await run('redis-cli', ['-p', String(ctx.node.port), '--pipe'], { input: proto });
      expect(res.code).to.equal(0);
      expect(res.stdout).to.match(/errors: 0, replies: 5000/);
      expect((await cli('GET', 'pipe:4999')).stdout.trim()).to.equal('4999');
    });

    it('lists keys with --scan', async () => {
      const res = await cli('--scan', '--pattern', 'pipe:49*');
      const keys = res.stdout.split('\n').filter(Boolean).sort();
      expect(keys).to.have.length(111); // pipe:49, pipe:490..499, pipe:4900..4999
    });
  });

  describe('redis-benchmark', () => {
    it('completes SET and GET runs, plain and pipelined, and its writes are stored', async () => {
      const before = Number((await ctx.redis.dbsize()));
      for (const extra of [[], ['-P', '16']]) {
        const res = await run('redis-benchmark', ['-p', String(ctx.node.port), '-t', 'set,get', '-n', '5000', '-c', '10', '-d', '100', '-r', '1000', '--csv', ...extra], { timeoutMs: 120000 });
        expect(res.code, res.stderr).to.equal(0);
        const tests = res.stdout.split('\n').filter((l) => /^"(SET|GET)"/.test(l)).map((l) => l.split(',')[0]);
        expect(tests).to.deep.equal(['"SET"', '"GET"']);
      }
      expect(await ctx.redis.dbsize()).to.be.greaterThan(before);
      const value = await ctx.redis.get((await ctx.redis.keys('key:*'))[0]!);
      expect(value).to.have.length(100);
    });
  });
});
