/**
 * Pub/Sub on one node, against a real redis-server where Redis defines the
 * bytes: RESP2 subscribed mode (what is refused, and with which text; PING's
 * multi-bulk), RESP3 pushes, messages and pattern messages with binary
 * payloads, PUBSUB introspection, and keyspace notifications for the same
 * writes (set, expire, persist, incrby, append, setrange, getdel, rename,
 * copy, del, expired) compared event by event. Stock clients: ioredis in
 * subscriber mode and redis-cli SUBSCRIBE.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { expectNoMismatches, useStandaloneParityPair } from '../support/parity.js';
import { RawRespClient, encodeCommand, parseReply, type Arg } from '../support/resp-client.js';
import { waitFor } from '../support/wait.js';

type Step = readonly [argv: readonly Arg[], replies: number];

/** Runs the steps on a fresh connection to each server (RESP3 after HELLO 3) and lists where the replies differ. */
async function compareSteps(irisPort: number, redisPort: number, protocol: 2 | 3, steps: readonly Step[]): Promise<string[]> {
  const [iris, redis] = await Promise.all([RawRespClient.connect(irisPort), RawRespClient.connect(redisPort)]);
  const mismatches: string[] = [];
  try {
    if (protocol === 3) await Promise.all([iris.call(['HELLO', '3']), redis.call(['HELLO', '3'])]);
    for (const [argv, n] of steps) {
      const bytes = encodeCommand(argv);
      const [a, b] = await Promise.all([iris.writeRaw(bytes, n), redis.writeRaw(bytes, n)]);
      const x = Buffer.concat(a).toString('latin1');
      const y = Buffer.concat(b).toString('latin1');
      if (x !== y) mismatches.push(`RESP${protocol} ${argv.map(String).join(' ')}\n  iris:  ${JSON.stringify(x)}\n  redis: ${JSON.stringify(y)}`);
    }
  } finally {
    iris.close();
    redis.close();
  }
  return mismatches;
}

/** Reads pushes from `sub` until a message on channel `end`; returns the others' bytes, one string each. */
async function readUntil(sub: RawRespClient, end: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const [raw] = await sub.writeRaw(Buffer.alloc(0), 1);
    const node = parseReply(raw!).node;
    const items = node.items ?? [];
    if (items[0]?.value?.toString() === 'message' && items[1]?.value?.toString() === end) return out;
    out.push(raw!.toString('latin1'));
  }
  throw new Error('no end marker within 10000 pushes');
}

describe('Pub/Sub on one node (parity with redis-server)', function () {
  this.timeout(60_000);
  const env = useStandaloneParityPair();

  it('RESP2 subscribed mode: confirmations, refusals, PING, leaving the mode, RESET', async () => {
    expectNoMismatches(await compareSteps(env.irisPort, env.redisPort, 2, [
      [['SUBSCRIBE', 'a', 'b'], 2], [['GET', 'x'], 1], [['PING'], 1], [['PING', 'hi'], 1], [['SUBSCRIBE'], 1],
      [['PSUBSCRIBE', 'p*', 'q?'], 2], [['PUBLISH', 'a', 'm'], 1], [['CLIENT', 'ID'], 1], [['FOO'], 1],
      [['UNSUBSCRIBE', 'a'], 1], [['UNSUBSCRIBE', 'nope'], 1], [['PUNSUBSCRIBE', 'p*'], 1], [['PUNSUBSCRIBE'], 1],
      [['SSUBSCRIBE', 's1'], 1], [['SUNSUBSCRIBE', 's1'], 1], [['SUNSUBSCRIBE'], 1],
      [['UNSUBSCRIBE', 'b'], 1], [['GET', 'x'], 1], [['UNSUBSCRIBE'], 1], [['PUNSUBSCRIBE'], 1], [['PING'], 1],
      [['SUBSCRIBE', 'c'], 1], [['RESET'], 1], [['GET', 'x'], 1], [['PING'], 1],
      [['MULTI'], 1], [['SUBSCRIBE', 'd', 'e'], 1], [['EXEC'], 2], [['UNSUBSCRIBE', 'd', 'e'], 2],
    ]));
  });

  it('RESP3: push confirmations, other commands allowed while subscribed, a message to oneself before the PUBLISH reply', async () => {
    expectNoMismatches(await compareSteps(env.irisPort, env.redisPort, 3, [
      [['SUBSCRIBE', 'a'], 1], [['GET', 'x'], 1], [['PING'], 1], [['SET', 'k', 'v'], 1],
      [['PUBLISH', 'a', 'hello'], 2], [['PSUBSCRIBE', 'a*'], 1], [['PUBLISH', 'ab', 'x'], 2], [['PUBLISH', 'a', 'y'], 3],
      [['UNSUBSCRIBE'], 1], [['PUNSUBSCRIBE'], 1], [['UNSUBSCRIBE'], 1], [['SSUBSCRIBE', 's'], 1], [['SPUBLISH', 's', 'z'], 2],
      [['SUNSUBSCRIBE'], 1],
    ]));
  });

  it('PUBSUB subcommands, PUBLISH counts and errors', async () => {
    const sub = await Promise.all([RawRespClient.connect(env.irisPort), RawRespClient.connect(env.redisPort)]);
    try {
      for (const c of sub) await c.writeRaw(Buffer.concat([encodeCommand(['SUBSCRIBE', 'news', 'n2']), encodeCommand(['PSUBSCRIBE', 'n*'])]), 3);
      expectNoMismatches(await compareSteps(env.irisPort, env.redisPort, 2, [
        [['PUBSUB', 'NUMSUB', 'news', 'n2', 'none'], 1], [['PUBSUB', 'NUMSUB'], 1], [['PUBSUB', 'NUMPAT'], 1],
        [['PUBSUB', 'NUMPAT', 'x'], 1], [['PUBSUB', 'CHANNELS', 'news'], 1], [['PUBSUB', 'CHANNELS', 'x*'], 1],
        [['PUBSUB', 'CHANNELS', 'a', 'b'], 1], [['PUBSUB', 'SHARDCHANNELS'], 1], [['PUBSUB', 'SHARDNUMSUB', 'x'], 1],
        [['PUBSUB', 'SHARDCHANNELS', 'a', 'b'], 1], [['PUBSUB', 'HELP'], 1], [['PUBSUB', 'FOO'], 1], [['PUBSUB'], 1],
        [['PUBLISH', 'news', 'hi'], 1], [['PUBLISH', 'zzz', 'hi'], 1], [['PUBLISH', 'news'], 1], [['SPUBLISH', 'x', 'y'], 1],
        [['CLIENT', 'KILL', 'TYPE', 'pubsub'], 1], [['CLIENT', 'KILL', 'TYPE', 'pubsub'], 1],
      ]));
    } finally {
      for (const c of sub) c.close();
    }
  });

  it('delivers binary messages and pattern messages byte for byte in RESP2 and RESP3', async () => {
    const channel = Buffer.from([0x6e, 0x00, 0xff, 0x0d, 0x0a]);
    const message = Buffer.from([0x00, 0x01, 0x0d, 0x0a, 0xfe]);
    for (const protocol of [2, 3] as const) {
      const got: string[][] = [];
      for (const port of [env.irisPort, env.redisPort]) {
        const [sub, pub] = await Promise.all([RawRespClient.connect(port), RawRespClient.connect(port)]);
        try {
          if (protocol === 3) await sub.call(['HELLO', '3']);
          await sub.writeRaw(Buffer.concat([encodeCommand(['SUBSCRIBE', channel, 'end']), encodeCommand(['PSUBSCRIBE', Buffer.from([0x6e, 0x2a])])]), 3);
          const counts = [await pub.call(['PUBLISH', channel, message]), await pub.call(['PUBLISH', 'nx', ''])];
          await pub.call(['PUBLISH', 'end', '.']);
          got.push([...counts.map((b) => b.toString('latin1')), ...(await readUntil(sub, 'end'))]);
        } finally {
          sub.close();
          pub.close();
        }
      }
      expect(got[0], `RESP${protocol}`).to.deep.equal(got[1]);
      expect(got[0]!.length).to.equal(5);
    }
  });

  it('keyspace notifications: the same events as redis-server for the same writes', async () => {
    for (const flags of ['KEA', 'Kg$xn', 'E$']) {
      const streams: string[][] = [];
      for (const port of [env.irisPort, env.redisPort]) {
        const [sub, w] = await Promise.all([RawRespClient.connect(port), RawRespClient.connect(port)]);
        try {
          await w.call(['FLUSHALL']);
          expect((await w.call(['CONFIG', 'SET', 'notify-keyspace-events', flags])).toString()).to.equal('+OK\r\n');
          await sub.writeRaw(Buffer.concat([encodeCommand(['PSUBSCRIBE', '__key*__:*']), encodeCommand(['SUBSCRIBE', 'end'])]), 2);
          const writes: string[][] = [
            ['SET', 'k', 'v'], ['SET', 'k', 'v2', 'EX', '100'], ['EXPIRE', 'k', '200'], ['PERSIST', 'k'], ['PERSIST', 'k'],
            ['SET', 'k', 'x', 'NX'], ['SETNX', 'k', 'x'], ['INCRBY', 'n', '5'], ['INCR', 'n'], ['DECR', 'n'], ['INCRBYFLOAT', 'f', '1.5'],
            ['APPEND', 'k', 'x'], ['SETRANGE', 'k', '1', 'yy'], ['SETEX', 's', '100', 'v'], ['GETEX', 's', 'PERSIST'], ['GETEX', 's', 'EX', '50'],
            ['GETDEL', 'k'], ['GETDEL', 'k'], ['MSET', 'a', '1', 'b', '2'], ['RENAME', 'a', 'c'], ['COPY', 'c', 'd'], ['DEL', 'b', 'c', 'nope'],
            ['EXPIRE', 'd', '-1'], ['SETBIT', 'bits', '7', '1'], ['SETBIT', 'bits', '7', '1'], ['BITFIELD', 'bf', 'SET', 'u8', '0', '255'],
            ['BITOP', 'OR', 'bo', 'bits', 'bf'], ['BITOP', 'AND', 'bo', 'none1', 'none2'], ['RENAMENX', 'bits', 'bf'], ['RENAMENX', 'bits', 'b2'],
            ['COPY', 'b2', 'bf', 'REPLACE'], ['UNLINK', 'b2', 'bf'], ['PEXPIREAT', 'bo', '1'], ['MSETNX', 'x1', '1', 'x2', '2'],
            ['SET', 'g', '1'], ['GETSET', 'g', '2'], ['SET', 'g', '3', 'GET'], ['DECRBY', 'g', '2'], ['PSETEX', 'p', '100000', 'v'],
            ['SET', 'r1', '1', 'EX', '100'], ['SET', 'r2', '2'], ['RENAME', 'r1', 'r2'], ['RENAME', 'r2', 'r2'], ['APPEND', 'new-app', 'x'],
            ['SETRANGE', 'new-sr', '2', 'x'], ['INCRBYFLOAT', 'new-f', '2'],
          ];
          for (const cmd of writes) await w.call(cmd);
          await w.call(['SET', 'dumped', 'hello']);
          const payload = parseReply(await w.call(['DUMP', 'dumped'])).node.value as Buffer;
          for (const cmd of [['RESTORE', 'rest', '0', payload], ['RESTORE', 'rest', '0', payload], ['RESTORE', 'rest', '0', payload, 'REPLACE']]) await w.call(cmd);
          // Last: when exactly it expires (active cycle or the EXISTS below) differs between the servers.
          await w.call(['SET', 'e', '1', 'PX', '1']);
          await waitFor('e to expire', async () => (await w.call(['EXISTS', 'e'])).toString() === ':0\r\n');
          await w.call(['PUBLISH', 'end', '.']);
          streams.push(await readUntil(sub, 'end'));
        } finally {
          await w.call(['CONFIG', 'SET', 'notify-keyspace-events', '']).catch(() => null);
          sub.close();
          w.close();
        }
      }
      const [iris, redis] = streams;
      expect(iris, `notify-keyspace-events ${flags}`).to.deep.equal(redis);
      expect(redis!.length, flags).to.be.greaterThan(5);
    }
  });

  it('CONFIG GET/SET notify-keyspace-events and client-output-buffer-limit', async () => {
    const steps: Step[] = [];
    for (const v of ['KEA', 'An', 'AnK', 'g$xK', 'Kx', 'Z', 'KEA ', '']) {
      steps.push([['CONFIG', 'SET', 'notify-keyspace-events', v], 1], [['CONFIG', 'GET', 'notify-keyspace-events'], 1]);
    }
    steps.push(
      [['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1 2'], 1],
      [['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb x 3'], 1],
      [['CONFIG', 'SET', 'client-output-buffer-limit', 'bogus 1 2 3'], 1],
    );
    expectNoMismatches(await compareSteps(env.irisPort, env.redisPort, 2, steps));
    const c = await RawRespClient.connect(env.irisPort);
    try {
      expect((await c.call(['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 2kb 3'])).toString()).to.equal('+OK\r\n');
      const got = parseReply(await c.call(['CONFIG', 'GET', 'client-output-buffer-limit'])).node.items![1]!.value!.toString();
      expect(got).to.match(/ pubsub 1048576 2048 3$/);
      await c.call(['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60']);
    } finally {
      c.close();
    }
  });

  it('ioredis in subscriber mode: subscribe, psubscribe, messages, unsubscribe', async () => {
    const sub = new Redis({ port: env.irisPort, lazyConnect: true });
    const pub = new Redis({ port: env.irisPort, lazyConnect: true });
    await Promise.all([sub.connect(), pub.connect()]);
    try {
      const messages: string[] = [];
      sub.on('message', (ch: string, msg: string) => messages.push(`message ${ch} ${msg}`));
      sub.on('pmessage', (p: string, ch: string, msg: string) => messages.push(`pmessage ${p} ${ch} ${msg}`));
      expect(await sub.subscribe('orders', 'audit')).to.equal(2);
      expect(await sub.psubscribe('ord*')).to.equal(3);
      expect(await pub.pubsub('NUMSUB', 'orders', 'audit')).to.deep.equal(['orders', 1, 'audit', 1]);
      const listed = String(await pub.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim().split('\n');
      expect(listed).to.have.length(1);
      expect(listed[0]).to.match(/ flags=P db=0 sub=2 psub=1 ssub=0 /);
      expect(String(await pub.call('CLIENT', 'LIST', 'TYPE', 'normal'))).to.not.match(/flags=P/);
      expect(await pub.publish('orders', 'o-1')).to.equal(2);
      expect(await pub.publish('audit', 'a-1')).to.equal(1);
      await waitFor('three deliveries', () => messages.length >= 3);
      expect(messages).to.have.members(['message orders o-1', 'pmessage ord* orders o-1', 'message audit a-1']);
      await sub.unsubscribe('orders');
      await sub.punsubscribe('ord*');
      expect(await pub.publish('orders', 'o-2')).to.equal(0);
      expect(await pub.publish('audit', 'a-2')).to.equal(1);
      await waitFor('the fourth delivery', () => messages.length >= 4);
      expect(messages[3]).to.equal('message audit a-2');
      await sub.unsubscribe();
      // Back to a normal connection: ordinary commands work again.
      expect(await sub.set('after', '1')).to.equal('OK');
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  it('redis-cli SUBSCRIBE prints the messages published to it', async () => {
    const cli = spawn('redis-cli', ['-p', String(env.irisPort), 'SUBSCRIBE', 'cli-ch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<void>((resolve) => cli.once('exit', () => resolve()));
    const pub = await RawRespClient.connect(env.irisPort);
    try {
      await waitFor('redis-cli to subscribe', async () => (await pub.call(['PUBSUB', 'NUMSUB', 'cli-ch'])).toString().endsWith(':1\r\n'));
      for (let i = 0; i < 5; i++) await pub.call(['PUBLISH', 'cli-ch', `m${i}`]);
      await waitFor('redis-cli to print 5 messages', () => (out.match(/^m\d$/gm) ?? []).length === 5, { timeoutMs: 10_000 });
      expect(out.split('\n').filter((l) => l !== '')).to.deep.equal([
        'subscribe', 'cli-ch', '1', ...[0, 1, 2, 3, 4].flatMap((i) => ['message', 'cli-ch', `m${i}`]),
      ]);
      cli.kill('SIGTERM');
      await exited;
      // The closed connection's subscription is gone.
      await waitFor('the subscription to go with the connection', async () => (await pub.call(['PUBSUB', 'NUMSUB', 'cli-ch'])).toString().endsWith(':0\r\n'));
    } finally {
      pub.close();
      cli.kill('SIGTERM');
      await exited;
    }
  });
});
