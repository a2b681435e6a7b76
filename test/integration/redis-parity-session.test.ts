/**
 * Redis 7 parity, part 2: connection, server, cluster and transaction
 * commands against a real redis-server in cluster mode, byte for byte in
 * RESP2 and RESP3 (normalisations: test/support/parity.ts), plus the
 * checks that need several connections (WATCH), a password (AUTH) or a
 * structural comparison (INFO, COMMAND, CONFIG GET, SCAN iteration).
 */
import { IRIS_META } from '../../node/commands/iris-meta.js';
import { expect } from 'chai';
import { ParitySession, expectNoMismatches, flushBoth, itMatchesCases, useParityPair } from '../support/parity.js';
import { RawRespClient, parseReply, splitArgs, type RespNode } from '../support/resp-client.js';
import { waitFor } from '../support/wait.js';

const CASES: Record<string, readonly string[]> = {
  'PING, ECHO, SELECT 0': [
    'ping', 'ping hello', 'ping "a\\x00b"', 'ping a b', 'echo', 'echo ""', 'echo "a\\r\\nb"', 'echo a b',
    'select 0', 'select x', 'select 99999999999', 'select', 'select 0 1',
  ],
  'HELLO': [
    'hello', 'hello 2', 'hello 3', 'hello 2', 'hello 4', 'hello 1', 'hello x', 'hello -1', 'hello 3 foo',
    'hello 3 setname', 'hello 2 setname "a b"', 'hello 2 auth default x setname "a b"', 'hello 2 auth default',
    'hello 2 auth nobody pw', 'hello 2 auth default anything setname n1', 'client getname', 'hello 2 setname n2',
    'client getname', 'hello 2 "auth\\x00" default x',
  ],
  'AUTH without a configured password': [
    'auth x', 'auth a b', 'auth default x', 'auth a b c', 'auth', 'ping',
  ],
  'CLIENT subcommands': [
    'client', 'client foo', 'client setname', 'client setname "a b"', 'client setname "a\\nb"', 'client setname ""',
    'client getname', 'client setname conn-1', 'client getname', 'client setname "\\xff"', 'client getname',
    'client id', 'client id x', 'client info', 'client info x', 'client list', 'client list type normal',
    'client list type master', 'client list type pubsub', 'client list type foo', 'client list id x',
    'client list id 999999', 'client list id', 'client list foo', 'client getname x', 'client setname a b',
    'client kill id 999999', 'client kill id x', 'client kill id 0', 'client kill id -5', 'client kill 1.2.3.4:5',
    'client kill', 'client kill id', 'client kill foo bar', 'client kill id 1 skipme no', 'client kill skipme maybe',
    'client kill id 1 id', 'client kill addr 1.1.1.1:1 laddr x', 'client kill type foo', 'client kill user nobody',
    'client kill type master', 'client kill maxage 5', 'CLIENT GETNAME',
  ],
  'READONLY, READWRITE, ASKING': ['readonly', 'readwrite', 'asking', 'get k', 'readonly x', 'asking x'],
  'RESET': [
    'client setname n', 'multi', 'set a 1', 'reset', 'client getname', 'exec', 'watch a', 'reset', 'exec',
    'hello 3', 'reset', 'ping', 'readonly', 'reset', 'reset x',
  ],
  'TIME, WAIT, CONFIG SET/GET errors': [
    'time', 'time x', 'wait', 'wait 0', 'wait 0 0', 'wait x 0', 'wait 0 x', 'wait 0 -1', 'wait 0 10',
    'config', 'config get', 'config set', 'config set maxclients', 'config foo', 'config get nosuch',
    'config get maxclients', 'config get MAXCLIENTS', 'config get timeout', 'config get maxmemory',
    'config get cluster-enabled', 'config get save', 'config get maxmemory-policy',
  ],
  'CLUSTER subcommands': [
    'cluster', 'cluster foo', 'cluster info', 'cluster info x', 'cluster myid', 'cluster slots', 'cluster shards',
    'cluster nodes', 'cluster keyslot foo', 'cluster keyslot ""', 'cluster keyslot "{}a"', 'cluster keyslot "{a}b"',
    'cluster keyslot "a{b}c"', 'cluster keyslot "{{a}}"', 'cluster keyslot "\\xff\\x00"', 'cluster keyslot',
    'cluster keyslot a b', 'mset {s}a 1 {s}b 2 {s}c 3', 'cluster keyslot {s}a', 'cluster countkeysinslot 11979',
    'cluster countkeysinslot 0', 'cluster countkeysinslot 16383', 'cluster countkeysinslot 16384',
    'cluster countkeysinslot -1', 'cluster countkeysinslot x', 'cluster countkeysinslot', 'cluster getkeysinslot 11979 0',
    'cluster getkeysinslot 100 10', 'cluster getkeysinslot 100 -1', 'cluster getkeysinslot 16384 1',
    'cluster getkeysinslot -1 1', 'cluster getkeysinslot x 1', 'cluster getkeysinslot 1 x', 'cluster getkeysinslot 1',
  ],
  'MULTI/EXEC/DISCARD: queueing and its errors': [
    'exec', 'discard', 'multi', 'multi', 'watch a', 'get', 'foo', 'exec', 'exec', 'multi', 'set {t}a 1',
    'incr {t}a', 'get {t}a', 'ttl {t}a', 'exec', 'multi', 'discard', 'exec', 'multi x', 'exec foo', 'multi',
    'exec foo', 'exec', 'multi', 'discard x', 'discard', 'multi', 'set {t}a x', 'incr {t}a', 'get {t}a', 'exec',
    'multi', 'ping', 'echo', 'exec', 'multi', 'client setname foo', 'client getname', 'exec', 'multi', 'exec',
    'multi', 'hello 2', 'exec', 'multi', 'unwatch', 'exec',
  ],
  'WATCH on one connection': [
    'watch', 'unwatch x', 'unwatch', 'set w 1', 'watch w', 'set w 2', 'multi', 'get w', 'exec', 'get w', 'watch w',
    'multi', 'get w', 'exec', 'watch w', 'unwatch', 'set w 3', 'multi', 'get w', 'exec', 'watch w', 'expire w 100',
    'multi', 'ping', 'exec', 'watch nokey', 'multi', 'ping', 'exec', 'watch w', 'del w', 'multi', 'ping', 'exec',
    'set w 1', 'watch w', 'flushall', 'multi', 'ping', 'exec', 'watch nokey2', 'flushall', 'multi', 'ping', 'exec',
  ],
};

/** Field names of INFO's sections, in order. */
function infoSections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of text.split('\r\n')) {
    if (line.startsWith('# ')) out.set(line.slice(2), (current = []));
    else if (line.includes(':')) current.push(line.slice(0, line.indexOf(':')));
  }
  return out;
}

const str = (n: RespNode | undefined): string => (n === undefined || n.value === null ? '' : n.value.toString());

describe('Redis parity: connection, server, cluster, transactions (irisdb-node vs redis-server)', function () {
  const env = useParityPair();

  for (const protocol of [2, 3] as const) {
    describe(`RESP${protocol}`, function () {
      itMatchesCases(env, protocol, CASES);

      it('WATCH: a change from another connection makes EXEC return a nil array', async function () {
        await flushBoth(env.irisPort, env.redisPort);
        const a = await ParitySession.open(env.irisPort, env.redisPort, protocol);
        const b = await ParitySession.open(env.irisPort, env.redisPort, protocol);
        try {
          for (const line of ['set {w}1 v', 'watch {w}1 {w}2', 'multi', 'set {w}1 mine']) await a.run(splitArgs(line));
          await b.run(splitArgs('set {w}2 theirs'));
          for (const line of ['exec', 'get {w}1', 'watch {w}1', 'multi', 'incr {w}3']) await a.run(splitArgs(line));
          await b.run(splitArgs('get {w}1')); // reads do not touch watched keys
          for (const line of ['exec', 'get {w}3']) await a.run(splitArgs(line));
          expectNoMismatches([...a.mismatches, ...b.mismatches]);
        } finally {
          a.close();
          b.close();
        }
      });
    });
  }

  it('QUIT answers +OK and closes the connection', async function () {
    for (const port of [env.irisPort, env.redisPort]) {
      const c = await RawRespClient.connect(port);
      const [ok] = await c.writeRaw(Buffer.from('*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n'), 1);
      expect(ok!.toString()).to.equal('+OK\r\n');
      await c.closed;
    }
  });

  it('SCAN: a full iteration returns the same keys (MATCH, COUNT, TYPE), cursors aside', async function () {
    await flushBoth(env.irisPort, env.redisPort);
    const setup = Array.from({ length: 300 }, (_, i) => ['SET', `key:${i}`, 'v']);
    const scanAll = async (port: number, opts: string[]): Promise<string[]> => {
      const c = await RawRespClient.connect(port);
      try {
        await c.pipeline(setup);
        const keys: string[] = [];
        let cursor = '0';
        do {
          const reply = parseReply(await c.call(['SCAN', cursor, ...opts])).node;
          cursor = str(reply.items![0]);
          for (const k of reply.items![1]!.items!) keys.push(str(k));
        } while (cursor !== '0');
        return keys.sort();
      } finally {
        c.close();
      }
    };
    for (const opts of [[], ['COUNT', '7'], ['MATCH', 'key:1*'], ['MATCH', 'key:?', 'COUNT', '1000'],
      ['TYPE', 'string'], ['TYPE', 'STRING', 'COUNT', '50'], ['TYPE', 'hash'], ['MATCH', 'nomatch*']]) {
      const [x, y] = await Promise.all([scanAll(env.irisPort, opts), scanAll(env.redisPort, opts)]);
      expect(x, `SCAN ${opts.join(' ')}`).to.deep.equal(y);
      expect(new Set(x).size, 'no duplicates').to.equal(x.length);
    }
  });

  it('INFO: the same sections in the same order, with the fields clients read', async function () {
    await flushBoth(env.irisPort, env.redisPort);
    const fetch = async (port: number, args: string[]): Promise<string> => {
      const c = await RawRespClient.connect(port);
      try {
        await c.call(['SET', 'k', 'v', 'EX', '100']);
        return str(parseReply(await c.call(['INFO', ...args])).node);
      } finally {
        c.close();
      }
    };
    for (const args of [[], ['default'], ['server'], ['keyspace', 'clients'], ['CLUSTER'], ['foo'], ['foo', 'cpu']]) {
      const [x, y] = await Promise.all([fetch(env.irisPort, args), fetch(env.redisPort, args)]);
      const xs = infoSections(x);
      const ys = infoSections(y);
      expect([...xs.keys()], `INFO ${args.join(' ')}`).to.deep.equal([...ys.keys()]);
      for (const [section, fields] of ys) {
        const ours = new Set(xs.get(section));
        const required = fields.filter((f) => ['redis_version', 'redis_mode', 'os', 'arch_bits', 'process_id', 'run_id',
          'tcp_port', 'uptime_in_seconds', 'connected_clients', 'maxclients', 'used_memory', 'used_memory_rss',
          'maxmemory', 'loading', 'aof_enabled', 'total_commands_processed', 'expired_keys', 'role',
          'connected_slaves', 'master_repl_offset', 'used_cpu_sys', 'used_cpu_user', 'cluster_enabled', 'db0'].includes(f));
        for (const f of required) expect(ours.has(f), `INFO field ${section}.${f}`).to.equal(true);
      }
      if (xs.has('Keyspace')) {
        expect(x).to.match(/\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n$/);
        expect(y).to.match(/\r\ndb0:keys=1,expires=1,avg_ttl=\d+\r\n$/);
      }
      if (xs.has('Cluster')) expect(x).to.include('# Cluster\r\ncluster_enabled:1\r\n');
    }
  });

  it('COMMAND INFO: name, arity, flags, key positions, ACL categories, tips and key specs match for every command', async function () {
    const i = await RawRespClient.connect(env.irisPort);
    const r = await RawRespClient.connect(env.redisPort);
    try {
      // IrisDB's own commands (IRIS.CONSISTENCY) have no Redis counterpart to compare with.
      const names = parseReply(await i.call(['COMMAND', 'LIST'])).node.items!.map(str).filter((n) => !(n in IRIS_META));
      expect(names.length).to.be.greaterThan(60);
      for (const name of names) {
        const [x, y] = await Promise.all([i.call(['COMMAND', 'INFO', name]), r.call(['COMMAND', 'INFO', name])]);
        const ours = parseReply(x).node.items![0]!;
        const theirs = parseReply(y).node.items![0]!;
        // Subcommands: IrisDB implements a subset, compared one by one above.
        const strip = (n: RespNode): RespNode => ({ ...n, items: n.items!.slice(0, 9) });
        expect(strip(ours), `COMMAND INFO ${name}`).to.deep.equal(strip(theirs));
      }
      const docs = async (c: RawRespClient): Promise<RespNode[]> =>
        parseReply(await c.call(['COMMAND', 'DOCS', 'get', 'client|list', 'nosuch'])).node.items!;
      const [dx, dy] = await Promise.all([docs(i), docs(r)]);
      expect(dx.map(str).filter((_, k) => k % 2 === 0)).to.deep.equal(dy.map(str).filter((_, k) => k % 2 === 0));
      for (let k = 1; k < dx.length; k += 2) {
        const fields = (n: RespNode): string[] => n.items!.map(str).slice(0, 8);
        expect(fields(dx[k]!)).to.deep.equal(fields(dy[k]!));
      }
      const getkeys = async (c: RawRespClient, line: string): Promise<string> =>
        (await c.call(['COMMAND', 'GETKEYS', ...splitArgs(line)])).toString();
      for (const line of ['get a', 'mset a 1 b 2', 'mget a b c', 'del x y', 'set k v ex 1']) {
        expect(await getkeys(i, line), line).to.equal(await getkeys(r, line));
      }
    } finally {
      i.close();
      r.close();
    }
  });

  it('CONFIG GET patterns answer with the same names for the shared parameters', async function () {
    const get = async (port: number, pattern: string): Promise<Map<string, string>> => {
      const c = await RawRespClient.connect(port);
      try {
        const items = parseReply(await c.call(['CONFIG', 'GET', pattern])).node.items!.map(str);
        return new Map(items.flatMap((v, k) => (k % 2 === 0 ? [[v, items[k + 1]!] as [string, string]] : [])));
      } finally {
        c.close();
      }
    };
    for (const pattern of ['maxmemory*', 'cluster-enabled', 'time*', 'max*clients', '*']) {
      const [x, y] = await Promise.all([get(env.irisPort, pattern), get(env.redisPort, pattern)]);
      expect(x.size, pattern).to.be.greaterThan(0);
      for (const [k, v] of x) {
        expect(y.has(k), `${pattern}: ${k} is a Redis parameter`).to.equal(true);
        if (['maxmemory', 'maxmemory-policy', 'timeout', 'cluster-enabled', 'maxclients', 'save'].includes(k)) {
          expect(v, k).to.equal(y.get(k));
        }
      }
    }
  });

  it('documented differences: SELECT of another database, COMMAND COUNT, CONFIG SET', async function () {
    const c = await RawRespClient.connect(env.irisPort);
    try {
      expect((await c.call(['SELECT', '1'])).toString()).to.equal('-ERR DB index is out of range\r\n');
      expect((await c.call(['SELECT', '-1'])).toString()).to.equal('-ERR DB index is out of range\r\n');
      const count = Number(parseReply(await c.call(['COMMAND', 'COUNT'])).node.value);
      expect(count).to.equal(parseReply(await c.call(['COMMAND'])).node.items!.length);
      expect((await c.call(['CONFIG', 'SET', 'maxclients', '10'])).toString()).to.match(/^-ERR CONFIG SET is not supported/);
      expect(str(parseReply(await c.call(['HELLO'])).node.items![9])).to.equal('standalone');
    } finally {
      c.close();
    }
  });
});

describe('Redis parity: AUTH and NOAUTH with a password (irisdb-node vs redis-server)', function () {
  const env = useParityPair({ args: ['--require-pass', 'secret'] }, [], 'secret');

  const LINES = [
    'get a', 'foo', 'get', 'ping', 'hello 3', 'hello', 'hello 2 auth default wrong', 'multi', 'exec', 'exec foo',
    'client setname x', 'auth wrong', 'auth default wrong', 'auth bob secret', 'auth default', 'auth secret',
    'hello 3 setname abc', 'client getname', 'reset', 'client getname', 'get a', 'hello 3 auth default secret',
    'set k v', 'get k', 'reset', 'multi', 'auth secret', 'multi', 'auth wrong', 'get k', 'exec', 'quit',
  ];

  for (const protocol of [2, 3] as const) {
    it(`RESP${protocol}: NOAUTH before AUTH, AUTH/HELLO AUTH, RESET de-authenticates`, async function () {
      // FLUSHALL needs a password here: runLines' flush goes through authenticated connections.
      for (const port of [env.irisPort, env.redisPort]) {
        const c = await RawRespClient.connect(port);
        await c.call(['AUTH', 'secret']);
        await c.call(['FLUSHALL']);
        c.close();
      }
      const s = await ParitySession.open(env.irisPort, env.redisPort, 2);
      try {
        if (protocol === 3) await s.run(['HELLO', '3', 'AUTH', 'default', 'secret']);
        for (const line of LINES) await s.run(splitArgs(line));
        expectNoMismatches(s.mismatches);
      } finally {
        s.close();
      }
    });
  }

  it('HTTP sent to the RESP port: both close the connection at POST / Host: and run nothing after it', async function () {
    for (const port of [env.irisPort, env.redisPort]) {
      for (const firstLine of ['POST / HTTP/1.1', 'Host: 127.0.0.1']) {
        const payload = 'AUTH secret\r\nSET xproto 1\r\n';
        const c = await RawRespClient.connect(port);
        c.socket.write(`${firstLine}\r\nContent-Type: text/plain\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`);
        let closed = false;
        void c.closed.then(() => { closed = true; });
        await waitFor(`port ${port} to close the connection after "${firstLine}"`, () => closed, { timeoutMs: 10000 });
        const check = await RawRespClient.connect(port);
        await check.call(['AUTH', 'secret']);
        expect((await check.call(['EXISTS', 'xproto'])).toString(), `port ${port}: ${firstLine}`).to.equal(':0\r\n');
        check.close();
      }
    }
  });
});
