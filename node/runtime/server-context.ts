/**
 * Builds the ServerContext the commands run against, together with its
 * dispatcher, the WATCH registry and the INFO counters they share. The one
 * place a ServerContext is assembled: the node runtime and the tests use it.
 */
import type { ClusterState } from '../cluster/types.js';
import { CommandDispatcher } from '../commands/dispatch.js';
import { InfoCounters } from '../commands/info-counters.js';
import type { ClientRegistry, ClientState, CommandTable, InfoSections, ReplicationView, ServerContext } from '../commands/types.js';
import { WatchRegistry } from '../commands/watch.js';
import { SlowLog } from '../commands/slowlog.js';
import { LatencyMonitor } from '../commands/latency.js';
import { CommandStats } from '../commands/command-stats.js';
import { CommandObserver } from '../commands/command-observer.js';
import type { NodeConfig } from '../config/schema.js';
import type { CommitScheduler, EngineStats, Keyspace } from '../engine/types.js';
import { PubSubHub } from '../pubsub/hub.js';
import { KeyspaceNotifier } from '../pubsub/keyspace-notifier.js';
import { pubsubHubOptions } from '../pubsub/config.js';
import { AclStore } from '../acl/store.js';
import { catalogFromTable } from '../acl/catalog.js';
import { diskAclFileIo } from '../acl/file-io.js';

export interface ServerContextDeps {
  /** Strong reads over RESP (IRIS.CONSISTENCY strong); absent (unit tests): reads are served as at the default level. */
  readonly confirmStrongRead?: () => Promise<void>;
  readonly keyspace: Keyspace;
  readonly commits: CommitScheduler;
  readonly config: NodeConfig;
  readonly commands: CommandTable;
  /** Read on every use: the RESP server that holds the clients may start after the context is built. */
  clients(): ClientRegistry;
  readonly nodeId: string;
  readonly runId: string;
  readonly startedAt: number;
  /** Read on every use: the listening port is known only once the RESP server listens. */
  respPort(): number;
  readonly announceHost: string;
  readonly cluster?: ClusterState;
  readonly replication?: ReplicationView;
  engineStats(): EngineStats;
  infoSections(): InfoSections;
  onHandlerError?(command: string, err: unknown): void;
  now(): number;
  /** How long a write waits for a slot fence to lift (default: the dispatcher's). */
  readonly fenceWaitMs?: number;
  /** A subscriber was disconnected at its pubsub output-buffer limit (log, metrics). */
  onPubSubLimitDisconnect?(client: ClientState, outputBytes: number): void;
}

export interface AssembledServer {
  readonly server: ServerContext;
  /** The RESP server tells it about closed connections (clientClosed). */
  readonly dispatcher: CommandDispatcher;
  /** The node's Pub/Sub (closed connections leave it; the runtime attaches the cluster forwarder). */
  readonly pubsub: PubSubHub<ClientState>;
  /** ACL users (RESP and HTTP check them; the runtime watches the aclfile). */
  readonly acl: AclStore;
}

export function createServerContext(deps: ServerContextDeps): AssembledServer {
  const watches = new WatchRegistry(deps.keyspace);
  const infoCounters = new InfoCounters();
  const slowlog = new SlowLog(deps.config.slowlogLogSlowerThan, deps.config.slowlogMaxLen);
  const latency = new LatencyMonitor(deps.config.latencyMonitorThreshold);
  const commandStats = new CommandStats();
  const observer = new CommandObserver(deps.commands, { slowlog, latency, stats: commandStats, now: () => deps.now() });
  const dispatcher = new CommandDispatcher(deps.commands, { watches, counters: infoCounters }, { fenceWaitMs: deps.fenceWaitMs });
  const pubsub = new PubSubHub<ClientState>(pubsubHubOptions(deps.config, (c, bytes) => deps.onPubSubLimitDisconnect?.(c, bytes)));
  const keyspaceEvents = new KeyspaceNotifier(pubsub, deps.keyspace, deps.commits);
  // Throws (the node does not start) when the aclfile does not parse, as Redis does.
  const acl = new AclStore(catalogFromTable(deps.commands), {
    requirePass: deps.config.requirePass, aclfile: deps.config.aclfile ?? '', logMaxLen: deps.config.acllogMaxLen ?? 128, io: diskAclFileIo,
  });
  const server: ServerContext = {
    acl,
    keyspace: deps.keyspace,
    commits: deps.commits,
    config: deps.config,
    get clients() { return deps.clients(); },
    commands: deps.commands,
    watches,
    pubsub,
    keyspaceEvents,
    infoCounters,
    slowlog,
    latency,
    commandStats,
    commandDone: (client, argv, command, durationUs, reply) => observer.commandDone(client, argv, command, durationUs, reply),
    nodeId: deps.nodeId,
    runId: deps.runId,
    startedAt: deps.startedAt,
    get respPort() { return deps.respPort(); },
    announceHost: deps.announceHost,
    cluster: deps.cluster,
    replication: deps.replication,
    confirmStrongRead: deps.confirmStrongRead,
    onHandlerError: deps.onHandlerError === undefined ? undefined : (command, err) => deps.onHandlerError!(command, err),
    engineStats: () => deps.engineStats(),
    infoSections: () => deps.infoSections(),
    execute: (client: ClientState, argv: Buffer[]) => dispatcher.execute(server, client, argv),
    now: () => deps.now(),
  };
  return { server, dispatcher, pubsub, acl };
}
