/**
 * Differential testing against a real redis-server: the same commands go
 * to irisdb-node and to redis-server over raw sockets, and the replies are
 * compared byte for byte. Where a reply cannot match by nature (ids, ports,
 * timestamps, remaining TTLs), compareReplies normalises exactly that part;
 * every rule is listed in RULES below and in docs/compatibility.md.
 */
import { expect } from 'chai';
import { parseReply, serializeReply, splitArgs, RawRespClient, type Arg, type RespNode } from './resp-client.js';
import { startRedis, type RunningRedis } from './redis-server.js';
import { startNode, type NodeOptions, type RunningNode } from './node-process.js';
import { waitFor } from './wait.js';

/**
 * The reference runs in cluster mode (like IrisDB: CROSSSLOT for multi-key
 * commands over several slots), owning all 16384 slots.
 */
export async function startClusterRedis(extraArgs: string[] = [], password?: string): Promise<RunningRedis> {
  const redis = await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', ...extraArgs,
    ...(password !== undefined ? ['--requirepass', password] : [])]);
  try {
    const c = await RawRespClient.connect(redis.port);
    try {
      if (password !== undefined) await c.call(['AUTH', password]);
      await c.call(['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
      await waitFor('reference redis-server cluster_state:ok', async () =>
        (await c.call(['CLUSTER', 'INFO'])).toString().includes('cluster_state:ok'));
    } finally {
      c.close();
    }
  } catch (err) {
    await redis.stop();
    throw err;
  }
  return redis;
}

/**
 * Starts an irisdb-node and a reference redis-server side by side; if either
 * fails to start, the other is stopped before the error propagates.
 */
export async function startParityPair(
  nodeOptions: NodeOptions = {}, redisArgs: string[] = [], password?: string,
): Promise<{ node: RunningNode; redis: RunningRedis }> {
  const [n, r] = await Promise.allSettled([startNode(nodeOptions), startClusterRedis(redisArgs, password)]);
  if (n.status === 'fulfilled' && r.status === 'fulfilled') return { node: n.value, redis: r.value };
  if (n.status === 'fulfilled') await n.value.stop();
  if (r.status === 'fulfilled') await r.value.stop();
  throw n.status === 'rejected' ? n.reason : (r as PromiseRejectedResult).reason;
}

const lower = (a: Arg | undefined): string => (a === undefined ? '' : a.toString().toLowerCase());

function integerOf(n: RespNode): number | null {
  return n.type === ':' ? Number(n.value) : null;
}

/** Remaining/absolute TTLs differ by the time between the two calls: compared with a tolerance. */
const TTL_TOLERANCE: Record<string, number> = { ttl: 1, expiretime: 1, pttl: 1000, pexpiretime: 1000 };

function text(n: RespNode): string {
  return n.value === null ? '' : n.value.toString();
}

function withValue(n: RespNode, value: string): RespNode {
  return { type: n.type, value: Buffer.isBuffer(n.value) ? Buffer.from(value) : value, ...(n.items ? { items: n.items } : {}) };
}

/** Replaces the values of map entries whose key is in `keys` (RESP3 maps and RESP2 flat arrays alike). */
function maskMapFields(n: RespNode, keys: Set<string>, mask = '<masked>'): RespNode {
  if (n.items === undefined) return n;
  const items = n.items.map((x) => maskMapFields(x, keys, mask));
  for (let i = 0; i + 1 < items.length; i += 2) {
    const k = items[i]!;
    if ((k.type === '$' || k.type === '+') && keys.has(text(k))) items[i + 1] = { type: '+', value: mask };
  }
  return { ...n, items };
}

/** CLIENT LIST/INFO lines: fields that describe IrisDB's own connection internals are masked. */
const CLIENT_FIELDS_MASKED = new Set(['id', 'addr', 'laddr', 'fd', 'age', 'idle', 'qbuf', 'qbuf-free', 'argv-mem',
  'multi-mem', 'rbs', 'rbp', 'obl', 'oll', 'omem', 'tot-mem']);

function maskClientLines(n: RespNode): RespNode {
  const raw = text(n);
  const prefix = n.type === '=' ? raw.slice(0, 4) : ''; // RESP3 verbatim "txt:"
  const s = prefix + raw.slice(prefix.length).split('\n').map((line) => line.split(' ').map((f) => {
    const eq = f.indexOf('=');
    return eq > 0 && CLIENT_FIELDS_MASKED.has(f.slice(0, eq)) ? `${f.slice(0, eq)}=*` : f;
  }).join(' ')).join('\n');
  return withValue(n, s);
}

/** CLUSTER MYID/NODES/SLOTS/SHARDS: node ids, addresses and ports are per process. */
function maskCluster(sub: string): (n: RespNode) => RespNode {
  return (n) => {
    if (n.type === '-') return n;
    if (sub === 'myid') return withValue(n, '<id>');
    if (sub === 'nodes') {
      return withValue(n, text(n).replace(/\b[0-9a-f]{40}\b/g, '<id>').replace(/\S*:\d+@\d+/g, '<addr>'));
    }
    // replication-offset: IrisDB reports its write sequence, a lone redis-server 0.
    if (sub === 'shards') return maskMapFields(n, new Set(['id', 'port', 'ip', 'endpoint', 'replication-offset']));
    // SLOTS: [start, end, [host, port, id, metadata], ...] per range
    return {
      ...n,
      items: (n.items ?? []).map((range) => ({
        ...range,
        items: (range.items ?? []).map((x, i) => (i < 2 || x.items === undefined ? x : {
          ...x,
          items: x.items.map((y, j) => (j < 3 ? withValue(y, `<${j}>`) : y)),
        })),
      })),
    };
  };
}

/** Puts the items of an array reply in byte order (KEYS: order is unspecified). */
function sortItems(n: RespNode): RespNode {
  if (n.items === undefined) return n;
  const items = [...n.items].sort((a, b) => Buffer.compare(serializeReply(a), serializeReply(b)));
  return { ...n, items };
}

/** The comparison rule for one command: how both replies are normalised before the byte comparison. */
function normaliser(argv: readonly Arg[]): ((n: RespNode) => RespNode) | null {
  const cmd = lower(argv[0]);
  const sub = lower(argv[1]);
  if (cmd === 'hello') return (n) => maskMapFields(n, new Set(['id', 'mode']));
  if (cmd === 'client' && (sub === 'id')) return (n) => (n.type === ':' ? withValue(n, '<id>') : n);
  if (cmd === 'client' && (sub === 'info' || sub === 'list')) return (n) => (n.type === '-' ? n : maskClientLines(n));
  if (cmd === 'cluster' && ['myid', 'nodes', 'slots', 'shards'].includes(sub)) return maskCluster(sub);
  if (cmd === 'keys') return sortItems;
  // OBJECT IDLETIME: Redis counts whole seconds since the last access, which can tick
  // between the SET and the OBJECT; IrisDB answers 0 (no access time). The type is compared.
  if (cmd === 'object' && sub === 'idletime') return (n) => (n.type === ':' ? withValue(n, '<idle>') : n);
  if (cmd === 'time') return (n) => (n.items ? { ...n, items: n.items.map((x) => withValue(x, '<t>')) } : n);
  return null;
}

/**
 * Compares two replies to `argv`; null when they match, else a description.
 * `queued` holds the commands of a transaction so EXEC's items get their own rules.
 */
export function compareReplies(argv: readonly Arg[], iris: Buffer, redis: Buffer, queued: ReadonlyArray<readonly Arg[]> = []): string | null {
  if (iris.equals(redis)) return null;
  const a = parseReply(iris).node;
  const b = parseReply(redis).node;
  const show = (b: Buffer): string => JSON.stringify(b.toString('latin1').slice(0, 1500));
  const describe = (): string => `${argv.map(String).join(' ').slice(0, 300)}\n  irisdb: ${show(iris)}\n  redis:  ${show(redis)}`;
  const cmd = lower(argv[0]);
  const tol = TTL_TOLERANCE[cmd];
  if (tol !== undefined) {
    const x = integerOf(a);
    const y = integerOf(b);
    if (x !== null && y !== null && x >= 0 && y >= 0 && Math.abs(x - y) <= tol) return null;
    return describe();
  }
  if (cmd === 'exec' && a.items !== undefined && b.items !== undefined && a.items.length === b.items.length
      && a.items.length === queued.length && a.type === b.type) {
    for (let i = 0; i < queued.length; i++) {
      const diff = compareReplies(queued[i]!, serializeReply(a.items[i]!), serializeReply(b.items[i]!));
      if (diff !== null) return `in EXEC item ${i}: ${diff}`;
    }
    return null;
  }
  const norm = normaliser(argv);
  if (norm !== null && serializeReply(norm(a)).equals(serializeReply(norm(b)))) return null;
  return describe();
}

/** A connection to each server, fed the same commands; tracks MULTI to compare EXEC item by item. */
export class ParitySession {
  private queue: Array<readonly Arg[]> | null = null;
  readonly mismatches: string[] = [];

  private constructor(readonly iris: RawRespClient, readonly redis: RawRespClient) {}

  static async open(irisPort: number, redisPort: number, protocol: 2 | 3 = 2): Promise<ParitySession> {
    const s = new ParitySession(await RawRespClient.connect(irisPort), await RawRespClient.connect(redisPort));
    if (protocol === 3) {
      await s.iris.call(['HELLO', '3']);
      await s.redis.call(['HELLO', '3']);
    }
    return s;
  }

  /** Sends argv to both; records a mismatch (and returns it) if the replies differ. */
  async run(argv: readonly Arg[]): Promise<string | null> {
    const [x, y] = await Promise.all([this.iris.call(argv), this.redis.call(argv)]);
    const cmd = lower(argv[0]);
    const diff = compareReplies(argv, x, y, this.queue ?? []);
    if (cmd === 'multi' && y.toString() === '+OK\r\n') this.queue = [];
    else if (this.queue !== null && y.toString() === '+QUEUED\r\n') this.queue.push(argv);
    else if (['exec', 'discard', 'reset'].includes(cmd)) this.queue = null;
    if (diff !== null) this.mismatches.push(diff);
    return diff;
  }

  close(): void {
    this.iris.close();
    this.redis.close();
  }
}

/** Empties both servers between cases. */
export async function flushBoth(irisPort: number, redisPort: number): Promise<void> {
  for (const port of [irisPort, redisPort]) {
    const c = await RawRespClient.connect(port);
    try {
      await c.call(['FLUSHALL']);
    } finally {
      c.close();
    }
  }
}

export interface ParityEnv {
  readonly irisPort: number;
  readonly redisPort: number;
}

/**
 * Runs one case: both servers emptied, a fresh connection to each (RESP2, or
 * RESP3 after HELLO 3), every command sent to both; returns the mismatches.
 * Lines use redis-cli quoting (see splitArgs); argv arrays pass bytes as they are.
 */
export async function runLines(env: ParityEnv, protocol: 2 | 3, lines: ReadonlyArray<string | readonly Arg[]>): Promise<string[]> {
  await flushBoth(env.irisPort, env.redisPort);
  const s = await ParitySession.open(env.irisPort, env.redisPort, protocol);
  try {
    for (const line of lines) await s.run(typeof line === 'string' ? splitArgs(line) : line);
  } finally {
    s.close();
  }
  return s.mismatches;
}

/** Fails with every mismatch listed when the two servers replied differently. */
export function expectNoMismatches(mismatches: string[]): void {
  expect(mismatches, mismatches.join('\n\n')).to.deep.equal([]);
}

/**
 * Registers before/after hooks in the calling describe() that start a parity
 * pair (arguments as for startParityPair) and stop it again. The returned
 * env reads the ports of the running pair, so use it inside tests only.
 */
export function useParityPair(...args: Parameters<typeof startParityPair>): ParityEnv {
  let pair: { node: RunningNode; redis: RunningRedis } | undefined;
  before(async function () {
    pair = await startParityPair(...args);
  });
  after(async function () {
    await Promise.all([pair?.node.stop(), pair?.redis.stop()]);
  });
  return {
    get irisPort() {
      return pair!.node.port;
    },
    get redisPort() {
      return pair!.redis.port;
    },
  };
}

/**
 * As useParityPair, for a standalone node (no --cluster-enabled, no map)
 * against a standalone redis-server with one database (IrisDB has only
 * DB 0): both act as a single Redis server, so keys may span slots.
 */
export function useStandaloneParityPair(nodeOptions: NodeOptions = {}): ParityEnv {
  let node: RunningNode | undefined;
  let redis: RunningRedis | undefined;
  before(async function () {
    const [n, r] = await Promise.allSettled([startNode(nodeOptions), startRedis(['--databases', '1'])]);
    node = n.status === 'fulfilled' ? n.value : undefined;
    redis = r.status === 'fulfilled' ? r.value : undefined;
    if (n.status === 'rejected') throw n.reason;
    if (r.status === 'rejected') throw r.reason;
  });
  after(async function () {
    await Promise.all([node?.stop(), redis?.stop()]);
  });
  return {
    get irisPort() {
      return node!.port;
    },
    get redisPort() {
      return redis!.port;
    },
  };
}

/** One test per case: the case's lines (see runLines) must reply identically. */
export function itMatchesCases(env: ParityEnv, protocol: 2 | 3, cases: Record<string, ReadonlyArray<string | readonly Arg[]>>): void {
  for (const [title, lines] of Object.entries(cases)) {
    it(title, async function () {
      expectNoMismatches(await runLines(env, protocol, lines));
    });
  }
}
