/**
 * Wires one storage node together: engine, command dispatcher, RESP server,
 * HTTP app, metrics. Owns startup order and graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { NodeConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { createNodeMetrics, type NodeMetrics } from '../observability/metrics.js';
import { openEngine } from '../engine/open.js';
import type { Engine } from '../engine/types.js';
import { createCommandTable } from '../commands/table.js';
import { CommandDispatcher } from '../commands/dispatch.js';
import type { ClientState, ServerContext } from '../commands/types.js';
import { RespServer } from '../server/resp-server.js';
import { createHttpApp } from '../http/app.js';
import { createHttpServer } from '../http/server.js';
import { runtimeInfoSections } from './info.js';

export interface NodeRuntime {
  readonly respPort: number;
  readonly httpPort: number;
  readonly engine: Engine;
  readonly metrics: NodeMetrics;
  /** Stops accepting work, drains clients for up to shutdownTimeoutMs, commits, closes the database. */
  close(): Promise<void>;
}

export async function startNodeRuntime(config: NodeConfig, logger: Logger): Promise<NodeRuntime> {
  const metrics = createNodeMetrics();
  const engine = openEngine(
    {
      dataDir: config.dataDir,
      fsync: config.fsync,
      checkpoints: config.checkpoints,
      compression: { algorithm: config.compression, thresholdBytes: config.compressionThresholdBytes },
      readCache: { maxEntries: config.readCacheEntries, maxBytes: config.readCacheBytes },
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
      onExpired(count, seconds) {
        if (count > 0) metrics.expiredKeys.inc(count);
        metrics.expiryCycleDuration.observe(seconds);
      },
      onLazyExpired(count) {
        metrics.expiredKeys.inc(count);
      },
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

  const table = createCommandTable();
  const dispatcher = new CommandDispatcher(table, engine.keyspace);
  let ready = false;
  let resp: RespServer | undefined;
  const respClients = () => {
    if (!resp) throw new Error('RESP server not started');
    return resp;
  };
  const runId = randomBytes(20).toString('hex');
  const startedAt = Date.now();
  let respPort = config.port;

  const server: ServerContext = {
    keyspace: engine.keyspace,
    commits: engine.commits,
    config,
    get clients() { return respClients(); },
    commands: table,
    nodeId: engine.nodeId,
    runId,
    startedAt,
    // The listening port (INFO tcp_port); the cluster view applies announcePort for clients.
    get respPort() { return respPort; },
    announceHost: config.announceHost || (config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind),
    onHandlerError: (command, err) => {
      const e = err instanceof Error ? err : new Error(String(err));
      logger.error('command failed inside its handler; the client got an error reply', { command, err: e.message, stack: e.stack });
    },
    engineStats: () => engine.stats(),
    infoSections: () => runtimeInfoSections(config, engine.stats()),
    execute: (client: ClientState, argv: Buffer[]) => dispatcher.execute(server, client, argv),
    now: () => Date.now(),
  };

  resp = new RespServer({
    config,
    commits: engine.commits,
    execute: server.execute,
    onClientClosed: (client) => dispatcher.clientClosed(client),
    logger,
    metrics,
    commandLabel: (name) => (table.lookup(name.toLowerCase()) ? name.toLowerCase() : 'unknown'),
  });

  try {
    respPort = await resp.listen(config.port, config.bind);
  } catch (err) {
    engine.close();
    metrics.close();
    throw err;
  }

  const app = createHttpApp({
    keyspace: engine.keyspace,
    commits: engine.commits,
    config,
    logger,
    metrics,
    isReady: () => ready,
    now: () => Date.now(),
  });
  // Sized for maxKeyBytes keys in URLs; answers unparseable requests with JSON errors.
  const httpServer = createHttpServer(app, config);
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
    engine.close();
    metrics.close();
    throw err;
  }
  const httpPort = (httpServer.address() as AddressInfo).port;

  engine.startActiveExpiry();
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    respPort,
    httpPort,
    engine,
    metrics,
    close() {
      closing ??= (async () => {
        ready = false;
        engine.stopActiveExpiry();
        const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        httpServer.closeIdleConnections();
        await resp!.close(config.shutdownTimeoutMs);
        const forceHttp = setTimeout(() => httpServer.closeAllConnections(), config.shutdownTimeoutMs);
        await httpClosed;
        clearTimeout(forceHttp);
        engine.close();
        metrics.close();
      })();
      return closing;
    },
  };
}
