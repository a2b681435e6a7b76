/**
 * The contract between the RESP server, the command table and command
 * families. A family file (strings.ts, keys.ts, ...) exports a list of
 * CommandSpec; the table merges them. Handlers are synchronous functions of
 * (context, argv) except where Redis itself blocks (WAIT, replicated writes),
 * which return a Promise; the connection keeps replies in request order.
 */
import type { Reply } from '../resp/reply.js';
import type { Keyspace, CommitScheduler, EngineStats } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import type { ClusterState } from '../cluster/types.js';
import type { WatchRegistry } from './watch.js';
import type { InfoCounters } from './info-counters.js';
import type { SlowLog } from './slowlog.js';
import type { LatencyMonitor } from './latency.js';
import type { CommandStats } from './command-stats.js';
import type { PubSubHub } from '../pubsub/hub.js';
import type { KeyspaceNotifier } from '../pubsub/keyspace-notifier.js';
import type { AclStore } from '../acl/store.js';

export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_multi'
  | 'allow_busy'
  /** RESTORE-ASKING: Redis serves it in an importing slot; IrisDB never sends ASK, so it only shows in COMMAND INFO. */
  | 'asking';

export type CommandResult = Reply | Promise<Reply>;

export interface CommandSpec {
  /** Lower-case name ("get", or "setname" for a subcommand). */
  readonly name: string;
  /** Redis arity: N means exactly N arguments including the name, -N means at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** Key positions in argv (Redis's first/last/step; last -1 = to the end; 0,0,0 = no keys). */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  /** For COMMAND DOCS. */
  readonly summary: string;
  readonly group: string;
  readonly since: string;
  readonly complexity?: string;
  readonly subcommands?: readonly CommandSpec[];
  /** argv[0] is the command name (as sent), argv[1..] its arguments. */
  readonly handler?: (ctx: CommandContext, argv: Buffer[]) => CommandResult;
}

export interface QueuedCommand {
  readonly spec: CommandSpec;
  readonly argv: Buffer[];
}

/** Per-connection state (CLIENT LIST fields, protocol, transaction). */
export interface ClientState {
  readonly id: number;
  name: string;
  /** 2 or 3, set by HELLO. */
  protocol: 2 | 3;
  readonly addr: string;
  readonly laddr: string;
  /** The connection came in over TLS (absent: plain, e.g. internal clients). */
  readonly tls?: boolean;
  readonly createdAt: number;
  lastInteractionAt: number;
  lastCommand: string;
  authenticated: boolean;
  /** The ACL user the connection runs as once authenticated (absent: "default"). */
  aclUser?: string;
  /** READONLY mode (cluster replica reads). */
  readonly_: boolean;
  /** IRIS.CONSISTENCY strong: keyed reads wait for the primary's leadership confirmation. */
  strongReads?: boolean;
  /** ASKING flag, valid for the next command only. */
  asking: boolean;
  /** Non-null between MULTI and EXEC/DISCARD. */
  /** An open MULTI: its queue and the argument bytes queued (bounded by maxMultiCommands/maxMultiBytes). */
  multi: { queue: QueuedCommand[]; bytes: number; aborted: boolean } | null;
  /** Keys this client WATCHes (latin1-encoded key -> key). */
  readonly watched: Map<string, Buffer>;
  /** Set when a watched key changed: EXEC must fail. */
  watchDirty: boolean;
  /** Set by QUIT: close after this reply is flushed. */
  closeAfterReply: boolean;
  /** Bytes waiting in the output buffer (CLIENT LIST omem). */
  outputBytes(): number;
  /** Bytes buffered but not yet parsed (CLIENT LIST qbuf). */
  queryBufferBytes(): number;
  /** Closes the connection (CLIENT KILL). */
  kill(): void;
  /** Sends encoded Pub/Sub push bytes after the replies already due (RESP connections only). */
  deliverPush?(bytes: Buffer): void;
}

export interface ClientRegistry {
  list(): ClientState[];
  get(id: number): ClientState | undefined;
  readonly count: number;
}

export interface CommandTable {
  lookup(name: string): CommandSpec | undefined;
  all(): readonly CommandSpec[];
}

/** INFO sections: name -> ordered field list. Numbers are printed as Redis does. */
export type InfoSections = Array<[section: string, fields: Array<[string, string | number]>]>;

/** The node's replication role as commands need it (absent in tests that run without replication). */
export interface ReplicationView {
  role(): {
    readonly role: 'primary' | 'replica';
    /** Client address of the primary (MOVED target), when known. */
    readonly primary: { readonly host: string; readonly port: number } | null;
    /** A full resync is loading: the data is incomplete. */
    readonly loading: boolean;
  };
  /** INFO replication fields, in Redis's order. */
  infoFields(): Array<[string, string | number]>;
  /** WAIT: replicas that acknowledged everything written so far, once `n` have or after timeoutMs (0 = no limit). */
  waitForReplicas(n: number, timeoutMs: number): Promise<number>;
}

export interface ServerContext {
  /** Strong reads (IRIS.CONSISTENCY strong): resolves once this primary proved it still leads (absent: not available). */
  readonly confirmStrongRead?: () => Promise<void>;
  /** Replication role and state (absent: a standalone primary, as in unit tests). */
  readonly replication?: ReplicationView;
  /** The cluster map and write fences (absent: no cluster mode at all, as in unit tests; routing then follows the replication role only). */
  readonly cluster?: ClusterState;
  readonly keyspace: Keyspace;
  readonly commits: CommitScheduler;
  readonly config: NodeConfig;
  readonly clients: ClientRegistry;
  readonly commands: CommandTable;
  /** WATCHed keys of every client (the dispatcher's and the transaction commands' shared view). */
  readonly watches: WatchRegistry;
  /** Pub/Sub subscriptions and delivery (absent in contexts built by hand in unit tests). */
  readonly pubsub?: PubSubHub<ClientState>;
  /** ACL users and rules (absent in contexts built by hand in unit tests: everything allowed, requirePass only). */
  readonly acl?: AclStore;
  /** Keyspace notifications: write handlers run through it (commands/invoke.ts). */
  readonly keyspaceEvents?: KeyspaceNotifier;
  /** INFO stats/errorstats counters the dispatcher keeps. */
  readonly infoCounters: InfoCounters;
  /** SLOWLOG's entries and settings (CONFIG SET changes them). */
  readonly slowlog: SlowLog;
  /** LATENCY's events and threshold (CONFIG SET changes it). */
  readonly latency: LatencyMonitor;
  /** INFO commandstats / latencystats. */
  readonly commandStats: CommandStats;
  /** The RESP server timed a command (µs): feeds the three above. */
  commandDone(client: ClientState, argv: readonly Buffer[], command: string, durationUs: number, reply: Reply): void;
  /** 40 hex chars, stable across restarts (CLUSTER MYID). */
  readonly nodeId: string;
  /** 40 hex chars, new every process start (INFO run_id). */
  readonly runId: string;
  readonly startedAt: number;
  /** Port the RESP server listens on (INFO tcp_port, CLUSTER SLOTS). */
  readonly respPort: number;
  /** Address clients should use for this node (CLUSTER SLOTS/NODES). */
  readonly announceHost: string;
  engineStats(): EngineStats;
  /** Extra INFO sections contributed by the runtime (memory, stats, ...). */
  infoSections(): InfoSections;
  /** Runs one command for a client exactly as if it came off the wire (the RESP server's entry point). */
  execute(client: ClientState, argv: Buffer[]): CommandResult;
  /** A handler threw (a bug or a storage failure): the client got an error reply; the runtime logs this. */
  onHandlerError?(command: string, err: unknown): void;
  /** Wall clock in Unix milliseconds; injected so tests control time. */
  now(): number;
}

export interface CommandContext {
  readonly server: ServerContext;
  readonly client: ClientState;
  /** Time the command started, Unix ms; use this, not Date.now(), for TTL arithmetic. */
  readonly now: number;
}
