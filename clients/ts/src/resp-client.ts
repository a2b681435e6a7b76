/**
 * IrisClient: an ioredis Cluster with IrisDB's policies around each
 * command — the retry table (retry-policy.ts), a circuit breaker per node,
 * a per-attempt timeout that marks a silent node (a paused process keeps
 * its sockets open, so nothing else would notice) and refreshes the slot
 * map from the other nodes, read consistency (eventual = replica reads
 * with READONLY), AbortSignal deadlines, a pool limit and metrics hooks.
 * ioredis still does the protocol, MOVED/ASK, TRYAGAIN and CLUSTERDOWN.
 */
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { keySlot } from '../../../common/slot.js';
import { BreakerSet, DEFAULT_BREAKER, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
import { CircuitOpenError, IrisClientError } from './errors.js';
import { DEFAULT_POOL, DEFAULT_RETRY, type CallOptions, type MetricsHooks, type PoolOptions, type ReadConsistency, type ReadOptions, type RetryOptions } from './options.js';
import { PoolLimiter } from './pool-limiter.js';
import { classifyRespError, errorFacts, type CommandKind } from './retry-policy.js';
import { raceSignal, withRetries, type AttemptFailure } from './retry-loop.js';

export interface IrisClientOptions {
  /** Seed nodes (any of the cluster's nodes; the slot map is learnt from them). */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  readonly username?: string;
  readonly password?: string;
  /** Passed through to ioredis (node TLS is not built yet; for a TLS proxy in front of the nodes). */
  readonly tls?: ConnectionOptions;
  /** One attempt's timeout (ms): a node that does not answer in time is suspected and the map refreshed. Default 1000. */
  readonly commandTimeoutMs?: number;
  /** Connect timeout per node (ms). Default 1000. */
  readonly connectTimeoutMs?: number;
  /** Default deadline of a call, all attempts included (ms). Default 10000. */
  readonly deadlineMs?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly breaker?: Partial<BreakerOptions>;
  readonly pool?: Partial<PoolOptions>;
  /** Reads' default consistency: `default` (primary), `eventual` (replicas, READONLY) or `strong` (the primary confirms it still leads). */
  readonly readConsistency?: ReadConsistency;
  /** How often the breakers' trials and the map refresh run while a node is suspect (ms). Default 200. */
  readonly probeIntervalMs?: number;
  readonly metrics?: MetricsHooks;
  /** For tests: the jitter's random source and the breakers' clock. */
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Commands that only read: retried after any transient failure, and eligible for replica reads. */
const READ_COMMANDS = new Set([
  'GET', 'MGET', 'GETRANGE', 'SUBSTR', 'STRLEN', 'EXISTS', 'TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME', 'TYPE', 'DUMP',
  'SCAN', 'KEYS', 'DBSIZE', 'RANDOMKEY', 'PING', 'ECHO', 'TIME', 'INFO', 'LCS', 'BITCOUNT', 'BITPOS', 'GETBIT', 'BITFIELD_RO', 'OBJECT', 'MEMORY',
]);

export interface CommandOptions extends ReadOptions {
  /** Which argument is the key that routes it (default 0; null: no key, any node). */
  readonly keyIndex?: number | null;
  /** Override the read/write classification (e.g. a Lua script that only reads). */
  readonly kind?: CommandKind;
}

export interface SetOptions extends CallOptions {
  /** Expire after this many ms (PX). */
  readonly ttlMs?: number;
  /** Only if absent (NX) / only if present (XX). */
  readonly nx?: boolean;
  readonly xx?: boolean;
}

type Arg = string | Buffer | number;

export class IrisClient {
  private readonly cluster: Cluster;
  private replicaCluster: Cluster | null = null;
  private readonly breakers: BreakerSet;
  private readonly pool: PoolLimiter;
  private readonly retry: RetryOptions;
  private readonly metrics: MetricsHooks;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly probeTimer: NodeJS.Timeout;
  private lastRefresh = 0;
  /** The nodes refused this client's credentials (WRONGPASS/NOAUTH) since it last connected: calls fail at once saying so. */
  private authRefusal: Error | null = null;
  private closed = false;

  constructor(private readonly opts: IrisClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.metrics = opts.metrics ?? {};
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.pool = new PoolLimiter({ ...DEFAULT_POOL, ...opts.pool });
    this.breakers = new BreakerSet({ ...DEFAULT_BREAKER, ...opts.breaker }, this.now, (node, from, to) => this.metrics.onBreakerStateChange?.({ node, from, to }));
    this.cluster = this.newCluster('master');
    this.probeTimer = setInterval(() => this.probe(), opts.probeIntervalMs ?? 200);
    this.probeTimer.unref();
  }

  private clusterOptions(scaleReads: 'master' | 'slave'): ClusterOptions {
    const o = this.opts;
    return {
      scaleReads,
      // A command on a connection that closed may have run: our table decides, not a blanket resend.
      retryDelayOnFailover: 0,
      slotsRefreshTimeout: Math.max(200, Math.floor((o.commandTimeoutMs ?? 1000) / 2)),
      slotsRefreshInterval: 5000,
      redisOptions: {
        commandTimeout: o.commandTimeoutMs ?? 1000,
        connectTimeout: o.connectTimeoutMs ?? 1000,
        enableReadyCheck: false,
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.tls !== undefined ? { tls: o.tls } : {}),
      },
    };
  }

  private newCluster(scaleReads: 'master' | 'slave'): Cluster {
    const c = new Cluster(this.opts.nodes.map((n) => ({ host: n.host, port: n.port })), this.clusterOptions(scaleReads));
    // Node errors are reported per command; without a listener ioredis would print them.
    c.on('error', () => {});
    c.on('node error', (err: unknown) => {
      if (err instanceof Error && /^(WRONGPASS|NOAUTH)/.test(err.message)) this.authRefusal = err;
    });
    c.on('ready', () => {
      this.authRefusal = null;
    });
    return c;
  }

  /** The primary serving `key` in the current slot map ("host:port"), or null before the map is known. */
  nodeOf(key: Arg): string | null {
    const slot = keySlot(typeof key === 'number' ? String(key) : key);
    return this.cluster.slots[slot]?.[0] ?? null;
  }

  /** Every breaker's state, by node. */
  breakerStates(): Record<string, BreakerState> {
    return this.breakers.states();
  }

  /** Asks another node for CLUSTER SLOTS (at most every 100 ms). */
  refreshSlotMap(reason: string): void {
    const t = this.now();
    if (t - this.lastRefresh < 100 || this.closed) return;
    this.lastRefresh = t;
    this.metrics.onSlotMapRefresh?.({ reason });
    this.cluster.refreshSlotsCache();
  }

  /** Runs any command; `kind` defaults from the command's name. */
  async command(name: string, args: readonly Arg[], o: CommandOptions = {}): Promise<unknown> {
    return this.run(name, args, o, false);
  }

  /** Like command(), with bulk replies as Buffers. */
  async commandBuffer(name: string, args: readonly Arg[], o: CommandOptions = {}): Promise<unknown> {
    return this.run(name, args, o, true);
  }

  async get(key: Arg, o: ReadOptions = {}): Promise<string | null> {
    return (await this.run('GET', [key], o, false)) as string | null;
  }

  async getBuffer(key: Arg, o: ReadOptions = {}): Promise<Buffer | null> {
    return (await this.run('GET', [key], o, true)) as Buffer | null;
  }

  /** Keys of one slot (use a {hash tag}). */
  async mget(keys: readonly Arg[], o: ReadOptions = {}): Promise<Array<string | null>> {
    return (await this.run('MGET', keys, o, false)) as Array<string | null>;
  }

  /** true when written; false when NX/XX stopped it. */
  async set(key: Arg, value: Arg, o: SetOptions = {}): Promise<boolean> {
    const args: Arg[] = [key, value];
    if (o.ttlMs !== undefined) args.push('PX', o.ttlMs);
    if (o.nx === true) args.push('NX');
    if (o.xx === true) args.push('XX');
    return (await this.run('SET', args, o, false)) === 'OK';
  }

  /** Keys of one slot; the number deleted. */
  async del(keys: readonly Arg[], o: CallOptions = {}): Promise<number> {
    return (await this.run('DEL', keys, o, false)) as number;
  }

  async incrBy(key: Arg, by: number, o: CallOptions = {}): Promise<number> {
    return (await this.run('INCRBY', [key, by], o, false)) as number;
  }

  async exists(keys: readonly Arg[], o: ReadOptions = {}): Promise<number> {
    return (await this.run('EXISTS', keys, o, false)) as number;
  }

  /** Remaining TTL in ms; -1 without one, -2 when absent. */
  async pttl(key: Arg, o: ReadOptions = {}): Promise<number> {
    return (await this.run('PTTL', [key], o, false)) as number;
  }

  async pexpire(key: Arg, ms: number, o: CallOptions = {}): Promise<boolean> {
    return (await this.run('PEXPIRE', [key, ms], o, false)) === 1;
  }

  /** The ioredis Cluster underneath, for what this client does not wrap (pipelines, Pub/Sub); without the policies. */
  get raw(): Cluster {
    return this.cluster;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probeTimer);
    await Promise.all([this.cluster, this.replicaCluster].filter((c): c is Cluster => c !== null).map((c) => c.quit().catch(() => c.disconnect())));
  }

  private clusterFor(kind: CommandKind, consistency: ReadConsistency): Cluster {
    if (kind !== 'read' || consistency !== 'eventual') return this.cluster;
    this.replicaCluster ??= this.newCluster('slave');
    return this.replicaCluster;
  }

  private async run(name: string, args: readonly Arg[], o: CommandOptions, buffers: boolean): Promise<unknown> {
    if (this.closed) throw new IrisClientError('the client is closed', 'not-applied', 0);
    if (this.authRefusal !== null) throw new IrisClientError(`the cluster refused the client's credentials: ${this.authRefusal.message}`, 'not-applied', 0);
    const upper = name.toUpperCase();
    const kind: CommandKind = o.kind ?? (READ_COMMANDS.has(upper) ? 'read' : 'write');
    const consistency = o.consistency ?? this.opts.readConsistency ?? 'default';
    const cluster = this.clusterFor(kind, consistency);
    const strong = kind === 'read' && consistency === 'strong';
    const keyIndex = o.keyIndex === undefined ? 0 : o.keyIndex;
    const key = keyIndex === null ? undefined : args[keyIndex];
    // Replica reads go to a replica ioredis picks: the primary's breaker does not apply.
    const breakerApplies = cluster === this.cluster && key !== undefined;
    return this.pool.run(() => withRetries({
      command: upper,
      kind,
      retry: this.retry,
      metrics: this.metrics,
      random: this.random,
      deadlineMs: o.deadlineMs ?? this.opts.deadlineMs ?? 10_000,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      attempt: async (_n, signal) => {
        const node = breakerApplies ? this.nodeOf(key) : null;
        const breaker = node !== null ? this.breakers.get(node) : null;
        try {
          if (breaker !== null && node !== null && !breaker.allow()) throw new CircuitOpenError(node);
          const sent = strong ? strongRead(cluster, name, args, buffers) : buffers ? cluster.callBuffer(name, ...args) : cluster.call(name, ...args);
          const r = await raceSignal(sent, signal);
          breaker?.onSuccess();
          return r;
        } catch (err) {
          if (err instanceof IrisClientError && err.name === 'IrisAbortError') {
            breaker?.abandon();
            throw { error: err, decision: { retry: false, outcome: 'unknown', nodeFailure: false, refreshMap: false, reason: 'aborted' }, node } satisfies AttemptFailure;
          }
          const decision = classifyRespError(errorFacts(err), kind);
          if (breaker !== null) {
            if (decision.nodeFailure) breaker.onFailure();
            else if (err instanceof Error && err.name === 'ReplyError') breaker.onSuccess(); // an error reply is an answer: the node is alive
            else breaker.abandon();
          }
          if (decision.refreshMap) this.refreshSlotMap(decision.reason);
          throw { error: err, decision, node } satisfies AttemptFailure;
        }
      },
    }));
  }

  /**
   * Runs while a breaker is open: refreshes the slot map (the failover may
   * have finished since), and PINGs each node whose open period passed on a
   * fresh connection (the pooled one may be stuck behind a paused process
   * or gone with a killed one): an answer closes its breaker.
   */
  private probe(): void {
    const states = Object.entries(this.breakers.states());
    if (states.every(([, s]) => s === 'closed') || this.closed) return;
    this.refreshSlotMap('breaker_open');
    for (const node of this.breakers.dueForTrial()) {
      const b = this.breakers.get(node);
      if (!b.allow()) continue;
      void this.ping(node).then((ok) => (ok ? b.onSuccess() : b.onFailure()));
    }
  }

  private async ping(node: string): Promise<boolean> {
    const i = node.lastIndexOf(':');
    const o = this.opts;
    const r = new Redis({
      host: node.slice(0, i), port: Number(node.slice(i + 1)), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0,
      enableOfflineQueue: false, enableReadyCheck: false, connectTimeout: o.connectTimeoutMs ?? 1000, commandTimeout: o.commandTimeoutMs ?? 1000,
      ...(o.username !== undefined ? { username: o.username } : {}), ...(o.password !== undefined ? { password: o.password } : {}), ...(o.tls !== undefined ? { tls: o.tls } : {}),
    });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  }
}

/**
 * A strong read over RESP: IRIS.CONSISTENCY strong, the read, IRIS.CONSISTENCY
 * default, as one pipeline to the key's primary. A pipeline is written to the
 * connection in one piece, so no other command of this client runs between
 * them at the strong level; the node answers the read only once it has
 * confirmed that it still leads its shard, or TRYAGAIN (retried).
 */
async function strongRead(cluster: Cluster, name: string, args: readonly Arg[], buffers: boolean): Promise<unknown> {
  const p = cluster.pipeline();
  p.call('IRIS.CONSISTENCY', 'strong');
  if (buffers) p.callBuffer(name, ...args);
  else p.call(name, ...args);
  p.call('IRIS.CONSISTENCY', 'default');
  const replies = (await p.exec()) ?? [];
  for (const [err] of replies.slice(0, 2)) if (err !== null) throw err;
  return replies[1]![1];
}
