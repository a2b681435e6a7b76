/**
 * Wires one storage node together: engine, command dispatcher, RESP server,
 * HTTP app, metrics. Owns startup order and graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { NodeConfig } from '../config/schema.js';
import type { Logger } from '../../common/logger.js';
import { createNodeMetrics, type NodeMetrics } from '../observability/metrics.js';
import { registerHostMetrics } from '../observability/host-metrics.js';
import { memoryLimit } from './memory-limit.js';
import { pageCacheBytes } from '../engine/page-cache-size.js';
import { journalEventLogger, registerJournalMetrics } from '../engine/journal-metrics.js';
import { openEngine } from '../engine/open.js';
import type { Engine } from '../engine/types.js';
import { createCommandTable } from '../commands/table.js';
import { RespServer } from '../server/resp-server.js';
import { createHttpApp } from '../http/app.js';
import { createReadConfirmer, httpReadConsistency } from '../cluster/read-confirmer-wiring.js';
import { createHttpServer } from '../http/server.js';
import { runtimeInfoSections } from './info.js';
import { createServerContext } from './server-context.js';
import { watchAclFile } from '../acl/file-io.js';
import { disconnectUsers } from '../commands/acl-users.js';
import { attachPubSubToCluster } from '../pubsub/cluster-wiring.js';
import { registerPubSubMetrics } from '../pubsub/metrics.js';
import { ReplicationManager } from '../replication/manager.js';
import { adminRouter } from '../replication/admin-routes.js';
import express from 'express';
import { adminAuth } from '../http/admin-auth.js';
import { DurableClusterState } from '../cluster/cluster-state.js';
import { CLUSTERDOWN_STATE_MSG, route, routeStateOf } from '../cluster/routing.js';
import { clusterAdminRouter } from '../cluster/admin-routes.js';
import { createClusterMetrics } from '../cluster/metrics.js';
import { MigrationManager } from '../migration/manager.js';
import { createMigrationMetrics } from '../migration/metrics.js';
import { migrationAdminRouter } from '../migration/admin-routes.js';
import { DEFAULT_FENCE_TIMEOUT_MS } from '../migration/deps.js';
import { OwnershipStore } from '../changes/ownership-store.js';
import { changeLogSource } from '../changes/log-source.js';
import { ownershipBusHandler, primaryJournalFetcher } from '../changes/ownership-bus.js';
import { startNodeTracing } from '../tracing/setup.js';
import { replicationTracing } from '../tracing/replication-tracing.js';
import { NodeTracing } from '../tracing/node-tracing.js';
import { HttpTracing } from '../tracing/http-tracing.js';
import { plainRespEnabled, tlsEnabled } from '../tls/settings.js';
import { TlsMaterial } from '../tls/material.js';
import { tlsPolicyOf } from '../tls/policy.js';
import type { TlsServerSetup } from '../tls/server.js';
import { busTlsFiles } from '../tls/bus-transport.js';
import { BackupManager } from '../backup/manager.js';
import { backupAdminRouter } from '../backup/admin-routes.js';
import { backupVolumeRouter } from '../backup/volume-routes.js';
import { createBackupMetrics } from '../backup/metrics.js';
import { startLogArchiver } from '../backup/archive-wiring.js';
import { shardOfNode } from '../../common/cluster-map.js';
import { openNodeAudit } from '../audit/node-audit.js';
import { auditAdminRequests } from '../audit/http-audit.js';
import { openNodeKeyring, startNodeEncryption } from '../crypto/wiring.js';
import { tlsAdminRouter } from '../tls/admin-routes.js';

export interface NodeRuntime {
  /** The plain RESP port, or the TLS port when plain RESP is off (--port 0 with --tls-port). */
  readonly respPort: number;
  /** The RESP-over-TLS port (0: none). */
  readonly tlsPort: number;
  readonly httpPort: number;
  readonly engine: Engine;
  readonly metrics: NodeMetrics;
  readonly busPort: number;
  readonly replication: ReplicationManager;
  readonly cluster: DurableClusterState;
  readonly migrations: MigrationManager;
  /** Stops accepting work, drains clients for up to shutdownTimeoutMs, commits, closes the database. */
  close(): Promise<void>;
}

export async function startNodeRuntime(config: NodeConfig, logger: Logger): Promise<NodeRuntime> {
  // TLS files are read (and checked) before anything else starts: a bad certificate stops startup.
  const tlsSetup: TlsServerSetup | null = tlsEnabled(config)
    ? { material: new TlsMaterial({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, caFile: config.tlsCaCertFile }, logger), authClients: config.tlsAuthClients, policy: tlsPolicyOf(config) }
    : null;
  // The RESP port clients are told about: the TLS one when plain RESP is off.
  const clientRespPort = plainRespEnabled(config) ? config.port : config.tlsPort;
  const metrics = createNodeMetrics();
  // The audit log (docs/security.md) opens first: a file it cannot continue stops the node before it serves anything.
  const audit = openNodeAudit(config, (name) => table.lookup(name), metrics.registry, logger, () => metrics.close());
  const memory = memoryLimit();
  const sqliteCacheBytes = pageCacheBytes(config.sqliteCacheBytes, memory);
  logger.info('sqlite page cache', { sqliteCacheBytes, sizedFrom: config.sqliteCacheBytes > 0 ? 'sqliteCacheBytes' : `memory limit (${memory.source})`, memoryLimitBytes: memory.bytes });
  const engine = openEngine(
    {
      dataDir: config.dataDir,
      fsync: config.fsync,
      checkpoints: config.checkpoints,
      journal: config.writeJournal ? { commitMs: config.journalCommitMs, maxTurns: config.journalCommitTurns, maxBytes: config.journalCommitBytes, commitTargetMs: config.journalCommitTargetMs, commitTargetDense: config.journalCommitTargetDense } : null,
      encryption: openNodeKeyring(config, logger),
      compression: { algorithm: config.compression, thresholdBytes: config.compressionThresholdBytes },
      readCache: { maxEntries: config.readCacheEntries, maxBytes: config.readCacheBytes, absentKeys: config.readCacheAbsentKeys },
      sqlite: { pageSize: Number(config.sqlitePageSize), mmapBytes: config.sqliteMmapBytes, cacheBytes: sqliteCacheBytes },
      walWaitBytes: config.walWaitBytes,
      activeExpiry: {
        intervalMs: config.activeExpiryIntervalMs,
        maxKeysPerCycle: config.activeExpiryMaxKeys,
        maxCycleMs: config.activeExpiryMaxMs,
      },
    },
    {
      onCommit(seconds, writes) {
        metrics.commitDuration.observe(seconds);
        metrics.committedWrites.inc(writes);
      },
      onJournalBatchCommit(seconds) {
        metrics.journalBatchCommitDuration.observe(seconds);
      },
      onExpired(count, seconds) {
        if (count > 0) metrics.expiredKeys.inc(count);
        metrics.expiryCycleDuration.observe(seconds);
      },
      onLazyExpired(count) {
        metrics.expiredKeys.inc(count);
      },
      onJournalEvent: journalEventLogger(logger),
      onCheckpointError(err) {
        logger.warn('background WAL checkpointer failed; checkpointing on the main connection instead', { err: err.message });
      },
      onCommitError(err) {
        metrics.commitFailures.inc();
        logger.error('group commit failed; the writes of this turn were rolled back and their clients told so', { err: err.message });
      },
    },
  );
  metrics.bindEngine(() => engine.stats());
  registerHostMetrics(metrics.registry, config.dataDir, memory.bytes);
  registerJournalMetrics(metrics.registry, () => engine.journal?.stats() ?? null);
  // null unless an OTLP endpoint is configured (docs/tracing.md).
  const tracing = startNodeTracing(config, process.env, logger);

  let cluster: DurableClusterState;
  try {
    // The map is read before any client is served: routing depends on it from the first command.
    cluster = new DurableClusterState({ meta: engine.meta, commits: engine.commits, nodeName: config.nodeName, clusterEnabled: config.clusterEnabled, logger });
  } catch (err) {
    engine.close();
    metrics.close();
    throw err;
  }
  const clusterMetrics = createClusterMetrics(metrics.registry, {
    epoch: () => cluster.map?.epoch ?? 0,
    slotsOwned: () => cluster.slotsOwned,
  });
  if (cluster.map !== null) {
    logger.info('cluster map loaded', { epoch: cluster.map.epoch, slotsOwned: cluster.slotsOwned, role: cluster.myMapRole });
  }

  const announceHost = config.announceHost || (config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind);
  let replication: ReplicationManager;
  let busPort: number;
  try {
    // Before any client is served: the role, epoch and a new term are durable first.
    replication = new ReplicationManager(engine, config, logger, metrics.registry, {
      respHost: announceHost, respPort: config.announcePort || clientRespPort, busHost: announceHost, busPort: config.busPort,
    }, tracing === null ? null : replicationTracing(tracing, engine.commits));
    busPort = await replication.listen(config.busPort, config.bind, config.tlsCluster && tlsSetup !== null ? tlsSetup : undefined, (remote, claimed, why) => audit.busRefused(remote, claimed, why));
  } catch (err) {
    engine.close();
    metrics.close();
    throw err;
  }
  replication.writability.setMapless(() => config.clusterEnabled && cluster.map === null);

  // Slot migrations: before any client is served, slots whose flip is unresolved are fenced again.
  const migrations = new MigrationManager({
    name: config.nodeName,
    token: config.adminToken,
    busTls: busTlsFiles(config),
    keyspace: engine.keyspace,
    commits: engine.commits,
    meta: engine.meta,
    dbFile: engine.file,
    commitNow: () => engine.commitNow(),
    subscribeCommitted: (listener) => replication.log.subscribe(listener),
    asMigration: (fn) => replication.log.asMigration(fn),
    cluster,
    replication: {
      role: () => replication.roleView().role,
      effectiveMinSyncReplicas: () => replication.status().effectiveMinSyncReplicas,
      waitForReplicas: (n, timeoutMs) => replication.waitForReplicas(n, timeoutMs),
    },
    logger,
    metrics: createMigrationMetrics(metrics.registry),
    options: {
      fenceTimeoutMs: DEFAULT_FENCE_TIMEOUT_MS,
      // TEST ONLY (crash-while-fenced tests): 0 unless a test sets it.
      testFenceHoldMs: config.testMigrationFenceHoldMs,
    },
    now: () => Date.now(),
  });
  migrations.restore();
  // Change feed: which slots this shard owned at each log position (a migration's copies and cleanups are not changes).
  const changeOwnership = new OwnershipStore({
    meta: engine.meta, cluster, logger,
    lastSeq: () => engine.keyspace.lastSeq,
    role: () => replication.roleView().role,
    history: () => replication.status().history,
    primaryJournal: primaryJournalFetcher({ cluster, creds: { secret: config.adminToken, name: config.nodeName, tls: busTlsFiles(config) } }),
  });
  replication.addBusHandler(ownershipBusHandler(() => changeOwnership.entries()));
  const changeFeeds = changeLogSource({ replication, cluster, ownership: changeOwnership, lastSeq: () => engine.keyspace.lastSeq, registry: metrics.registry });
  const unregisterBus = replication.addBusHandler((bus, frame) => migrations.onBusFrame(bus, frame));

  const table = createCommandTable();
  let ready = false;
  let resp: RespServer | undefined;
  let respPort = clientRespPort;
  let tlsPort = 0;
  // Strong reads (docs/consistency.md), RESP and HTTP: one shared confirmation round at a time.
  const readConfirmer = createReadConfirmer(config, replication);
  const { server, dispatcher, pubsub, acl } = createServerContext({
    confirmStrongRead: () => readConfirmer.confirm(),
    keyspace: engine.keyspace,
    commits: engine.commits,
    config,
    commands: table,
    clients: () => {
      if (!resp) throw new Error('RESP server not started');
      return resp;
    },
    nodeId: engine.nodeId,
    runId: randomBytes(20).toString('hex'),
    startedAt: Date.now(),
    // The listening port (INFO tcp_port); the cluster view applies announcePort for clients.
    respPort: () => respPort,
    announceHost,
    cluster,
    replication: {
      role: () => replication.roleView(),
      infoFields: () => replication.infoFields(),
      waitForReplicas: (n, timeoutMs) => replication.waitForReplicas(n, timeoutMs),
    },
    onHandlerError: (command, err) => {
      const e = err instanceof Error ? err : new Error(String(err));
      logger.error('command failed inside its handler; the client got an error reply', { command, err: e.message, stack: e.stack });
    },
    engineStats: () => engine.stats(),
    infoSections: () => runtimeInfoSections(config, engine.stats(), { memory, sqliteCacheBytes }),
    now: () => Date.now(),
    onPubSubLimitDisconnect: (client, outputBytes) => {
      metrics.rejectedConnections.inc({ reason: 'pubsub_output_buffer' });
      logger.warn('closing subscriber: client-output-buffer-limit pubsub reached', { client: client.id, addr: client.addr, outputBytes });
    },
  });

  // Every node of a cluster reads the same aclfile: an edit applies within aclfileCheckMs (docs/security.md).
  const stopAclWatch = config.aclfile !== '' && config.aclfileCheckMs > 0
    ? watchAclFile(acl, config.aclfileCheckMs, logger, (names) => disconnectUsers(server, names), (r) => audit.aclfileReloaded(r))
    : () => {};
  // PUBLISH reaches every node of the cluster map, SPUBLISH the shard's members, over the authenticated bus.
  const pubsubCluster = attachPubSubToCluster({
    hub: pubsub, cluster, logger,
    creds: { secret: config.adminToken, name: config.nodeName, tls: busTlsFiles(config) },
    backlogBytes: config.pubsubPeerBacklogBytes,
    addBusHandler: (h) => replication.addBusHandler(h),
    replicaPeers: () => {
      const st = replication.status();
      return st.role !== 'primary' ? [] : st.replicas.filter((r) => r.connected).map((r) => ({ name: r.name, host: r.host, busPort: r.busPort }));
    },
  });
  registerPubSubMetrics(metrics.registry, {
    kindCount: (kind) => pubsub.kindCount(kind),
    get outputLimitDisconnections() { return pubsub.outputLimitDisconnections; },
    droppedForwards: () => pubsubCluster.bus.dropped,
  });

  const nodeTracing = tracing === null ? null
    : new NodeTracing({ tracing, commits: engine.commits, commands: table, logger, minSyncReplicas: () => config.minSyncReplicas });
  resp = new RespServer({
    tracing: nodeTracing,
    config,
    commits: engine.commits,
    execute: server.execute,
    defaultOpen: () => acl.defaultOpen(),
    onClientClosed: (client) => {
      dispatcher.clientClosed(client);
      pubsub.removeSubscriber(client);
    },
    onCommandDone: (client, argv, command, durationUs, reply) => {
      server.commandDone(client, argv, command, durationUs, reply);
      audit.commandDone(client, argv, command, reply);
    },
    logger,
    metrics,
    commandLabel: (name) => (table.lookup(name.toLowerCase()) ? name.toLowerCase() : 'unknown'),
  });

  try {
    if (plainRespEnabled(config)) respPort = await resp.listen(config.port, config.bind);
    if (tlsSetup !== null && config.tlsPort !== 0) {
      tlsPort = await resp.listenTls(config.tlsPort, config.bind, tlsSetup);
      if (!plainRespEnabled(config)) respPort = tlsPort;
    }
  } catch (err) {
    await resp.close(0);
    await replication.close();
    engine.close();
    metrics.close();
    throw err;
  }

  // Backups (docs/backup.md): a snapshot of the shard this node serves, streamed to a destination.
  const backups = new BackupManager({
    nodeName: config.nodeName,
    dbFile: engine.file,
    commitNow: () => engine.commitNow(),
    encryption: engine.encryption,
    niceness: config.backupNice,
    cpuPercent: config.backupCpuPercent,
    s3CredentialsDir: config.s3CredentialsDir,
    shard: () => {
      const map = cluster.map;
      const s = map === null ? null : shardOfNode(map, config.nodeName);
      return map === null || s === null ? null : { id: s.id, slots: s.slots, mapEpoch: map.epoch };
    },
    shardEpoch: () => replication.status().epoch,
    loading: () => replication.roleView().loading,
    logger,
    now: () => Date.now(),
    metrics: createBackupMetrics(metrics.registry),
  });
  // Continuous log archiving (docs/backup.md): on while this node is its shard's primary.
  const archiver = startLogArchiver({
    config, log: replication.log, logger, registry: metrics.registry, encryption: engine.encryption,
    shardId: () => {
      const map = cluster.map;
      return map === null ? null : shardOfNode(map, config.nodeName)?.id ?? null;
    },
    isPrimary: () => replication.roleView().role === 'primary',
    epoch: () => replication.status().epoch,
    headSeq: () => engine.keyspace.lastSeq,
  });
  const encryption = startNodeEncryption(engine, config, metrics.registry, logger);
  // One bearer-token check in front of every admin router.
  const adminRoutes = (token: string): express.Router => {
    const router = express.Router();
    router.use(auditAdminRequests(audit.sink));
    router.use(adminAuth(token));
    router.use(adminRouter(replication, token));
    router.use(clusterAdminRouter(cluster, clusterMetrics));
    router.use(migrationAdminRouter(migrations));
    router.use(backupAdminRouter(backups));
    router.use(backupVolumeRouter({ root: config.backupVolume, maxObjectBytes: config.backupVolumeMaxObjectBytes }));
    router.use(encryption.router);
    router.use(tlsAdminRouter(tlsSetup?.material ?? null));
    return router;
  };
  const app = createHttpApp({
    keyspace: engine.keyspace,
    commits: engine.commits,
    config,
    logger,
    metrics,
    // A cluster member is ready only with a map: before it, a Service must not send it clients (issue #13).
    isReady: () => ready && (!config.clusterEnabled || cluster.map !== null),
    now: () => Date.now(),
    replication: {
      role: () => replication.roleView(),
    },
    clusterMap: () => cluster.map,
    keyRouter: {
      clustered: () => cluster.map !== null || cluster.clusterEnabled,
      down: () => (cluster.clusterEnabled && cluster.map === null ? CLUSTERDOWN_STATE_MSG : null),
      route: (slot, write, readonly = false) => route({ slot, write, readonly, asking: false }, routeStateOf(cluster, replication.roleView(), slot)),
      whenLifted: (slot) => cluster.whenLifted(slot),
    },
    changes: changeFeeds,
    acl,
    audit: audit.sink,
    consistency: httpReadConsistency(replication, readConfirmer),
    admin: config.adminToken !== '' ? adminRoutes(config.adminToken) : undefined,
    tracing: nodeTracing === null ? undefined : new HttpTracing(nodeTracing),
  });
  // Sized for maxKeyBytes keys in URLs; answers unparseable requests with JSON errors.
  const httpServer = createHttpServer(app, config, config.tlsHttp && tlsSetup !== null ? tlsSetup : undefined, () => acl.defaultOpen());
  httpServer.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.httpPort, config.bind, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await resp.close(0);
    await replication.close();
    engine.close();
    metrics.close();
    throw err;
  }
  const httpPort = (httpServer.address() as AddressInfo).port;

  // Starts the link to the primary (replica) or the active expiry cycle (primary).
  replication.start({ respPort: config.announcePort || respPort, busPort });
  migrations.start();
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    respPort,
    tlsPort,
    httpPort,
    engine,
    metrics,
    busPort,
    replication,
    cluster,
    migrations,
    close() {
      closing ??= (async () => {
        ready = false;
        stopAclWatch();
        engine.stopActiveExpiry();
        // Change feed streams never end by themselves: end them, or the HTTP server would wait for shutdownTimeoutMs.
        changeFeeds.shutdown();
        changeOwnership.close();
        const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        httpServer.closeIdleConnections();
        await resp!.close(config.shutdownTimeoutMs);
        const forceHttp = setTimeout(() => httpServer.closeAllConnections(), config.shutdownTimeoutMs);
        await httpClosed;
        clearTimeout(forceHttp);
        unregisterBus();
        pubsubCluster.close();
        await migrations.close();
        await archiver?.close();
        await encryption.close();
        await replication.close();
        engine.close();
        metrics.close();
        audit.close();
        // Last: the spans of the drained requests go out before the process exits.
        await tracing?.shutdown().catch((err: unknown) => logger.warn('exporting the last spans failed', { err: String(err) }));
      })();
      return closing;
    },
  };
}
