/** A node's HTTP API over a real engine in a temporary directory, on a loopback port: for unit tests of node/http. */
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../common/logger.js';
import { SETTINGS, type NodeConfig } from '../../node/config/schema.js';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import { createHttpApp, type HttpApp } from '../../node/http/app.js';
import type { HttpDeps } from '../../node/http/deps.js';
import { createHttpServer } from '../../node/http/server.js';
import { createNodeMetrics, type NodeMetrics } from '../../node/observability/metrics.js';
import { makeTempDir } from './node-process.js';

/** Every setting at its default, then `overrides`. */
export function defaultNodeConfig(overrides: Partial<NodeConfig> = {}): NodeConfig {
  const c = Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as NodeConfig;
  return { ...c, ...overrides };
}

export interface HttpAppFixture {
  readonly url: string;
  readonly port: number;
  readonly app: HttpApp;
  readonly engine: SqliteEngine;
  readonly metrics: NodeMetrics;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Starts the app with `overrides` (fsync batch by default) and the deps `extra` returns for the opened engine. */
export async function startHttpApp(
  overrides: Partial<NodeConfig> = {},
  extra: (engine: SqliteEngine) => Partial<HttpDeps> = () => ({}),
): Promise<HttpAppFixture> {
  const dataDir = await makeTempDir('irisdb-http-');
  const config = defaultNodeConfig({ dataDir, fsync: 'batch', ...overrides });
  const engine = openEngine({
    dataDir, fsync: config.fsync,
    compression: { algorithm: 'zlib', thresholdBytes: 1024 },
    readCache: { maxEntries: 0, maxBytes: 0 },
    activeExpiry: { intervalMs: 100, maxKeysPerCycle: 100, maxCycleMs: 5 },
  }, {});
  const metrics = createNodeMetrics();
  const app = createHttpApp({
    keyspace: engine.keyspace, commits: engine.commits, config, logger: silentLogger(), metrics,
    isReady: () => true, now: () => Date.now(), ...extra(engine),
  });
  const server: http.Server = createHttpServer(app, config);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, app, engine, metrics, dataDir,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      engine.close();
      metrics.close();
      await fs.promises.rm(dataDir, { recursive: true, force: true });
    },
  };
}
