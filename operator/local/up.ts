/**
 * `irisctl local up` (and `npm start`): a local cluster in the foreground.
 * Wires the platform-free controller to the process platform, the state
 * file and the control API; prints progress and, once the cluster is Ready,
 * how to connect; prints every controller event as a line. A second start on
 * the same directory resumes the recorded cluster and adopts node processes
 * still running from a controller that died.
 */
import { placementFunction, type NodePlacement } from './netns-placement.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import type { Logger } from '../../common/logger.js';
import { listenControlApi, type ListeningControlApi } from '../control-api/server.js';
import { controllerSource } from '../dashboard/controller-source.js';
import { dashboardRouter, singleCluster } from '../dashboard/routes.js';
import type { ClusterStatus } from '../core/observation.js';
import type { ClusterSpec } from '../core/spec.js';
import type { FailoverStage } from '../core/state.js';
import { Controller } from '../controller/controller.js';
import type { ControllerEvent } from '../controller/context.js';
import { createControllerMetrics } from '../controller/metrics.js';
import { Registry } from 'prom-client';
import { FileStateStore } from './file-state-store.js';
import { clusterPaths, controlPort, readOrCreateToken } from './layout.js';
import { LocalStateFile, readLocalState } from './local-state.js';
import { isAlive } from '../../common/process-alive.js';
import { ProcessPlatform } from './process-platform.js';
import { restoreLocalCluster } from './restore.js';
import { settleArchiveDestination } from './archive-setting.js';
import { localKeyring, settleEncryptionKeyFile } from './encryption-setting.js';
import { RecoverabilityWatcher } from '../controller/recoverability-watcher.js';
import { ArchivePruner } from '../controller/archive-pruner.js';
import { watchRecoverabilityMetrics } from '../controller/recoverability-metrics.js';
import { ensureLocalTls, localNodeFetch, localTlsExists } from './tls-files.js';
import { MigrationAdminClient } from '../../common/migration-admin-client.js';
import { DEFAULT_SAMPLER_OPTIONS, NodeSampler, metricsFetcherVia } from '../dashboard/node-sampler.js';
import { prepareLocalAclfile } from './acl-file.js';
import { backupRoutes } from '../control-api/backup-routes.js';
import { createTracing } from '../../common/tracing/provider.js';
import { tracingSettingsFromEnv } from '../../common/tracing/settings.js';
import { IRISDB_VERSION } from '../../common/version.js';
import type { S3Options } from '../../common/backup/destination-url.js';
import { openControllerAudit } from '../audit/controller-audit.js';
import type { AuditFileLog } from '../../common/audit/file-log.js';

export interface LocalUpOptions {
  readonly dir: string;
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly minSyncReplicas: number;
  readonly basePort: number;
  readonly heartbeatMs: number;
  readonly failureThreshold: number;
  readonly dataDurability: ClusterSpec['dataDurability'];
  /** Progress, endpoint and event lines for the user. */
  readonly out: NodeJS.WritableStream;
  /** Log level of D/logs/controller.log (default info). */
  readonly logLevel?: string;
  /** Tests only: the controller stops every change of primary before this stage (ControllerOptions.holdFailoverStage). */
  readonly holdFailoverStage?: FailoverStage | null;
  /** Tests only (--test-netns-placement): node k runs inside the network namespace of entry k. */
  readonly netnsPlacement?: readonly NodePlacement[];
  /** Create the cluster from a backup (docs/backup.md): refused over an existing cluster. */
  readonly restore?: { readonly from: string; readonly backupId?: string; readonly s3?: S3Options; readonly pointInTime?: number };
  /** Continuous log archiving to this URL (docs/backup.md), recorded with the cluster. */
  readonly archiveDestination?: string;
  /** Scheduled backups (`--backup-schedule CRON --backup-destination URL [--backup-keep N]`), recorded with the cluster. */
  readonly backupSchedule?: { readonly cron: string; readonly destination: string; readonly keep: number };
  /** RESP over TLS only on every node, with a CA and certificate made under DIR/tls (kept on while DIR/tls/ca.crt exists). */
  readonly tls?: boolean;
  /** With tls: plain RESP ports beside the TLS ones (Redis's port + tls-port; recorded, so a restart keeps both). */
  readonly tlsKeepPlain?: boolean;
  /** ACL users for every node: copied to DIR/users.acl, which the nodes read (kept while it exists). */
  readonly aclfile?: string;
  /** Encryption at rest: the keyring file every node reads (its path recorded in DIR/encryption.json). */
  readonly encryptionKeyFile?: string;
}

export interface RunningLocalCluster {
  readonly controlUrl: string;
  readonly controller: Controller;
  readonly platform: ProcessPlatform;
  /** Resolves when the cluster has stopped. */
  readonly done: Promise<void>;
  /** Stops the controller, then every node (gracefully); the data stays. */
  stop(): Promise<void>;
}

export class LocalUpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalUpError';
  }
}

const CLUSTER_NAME = 'iris';
const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/node/main.js, from dist/operator/local. */
export const NODE_MAIN = path.resolve(here, '../../node/main.js');

export async function localUp(opts: LocalUpOptions): Promise<RunningLocalCluster> {
  const paths = clusterPaths(opts.dir);
  // The directory holds the cluster token, the data and the logs: private to the user, as the node's files are.
  for (const d of [paths.dir, paths.logsDir]) {
    await fs.promises.mkdir(d, { recursive: true, mode: 0o700 });
    await fs.promises.chmod(d, 0o700);
  }
  await (await fs.promises.open(paths.controllerLog, 'a', 0o600)).close();
  await fs.promises.chmod(paths.controllerLog, 0o600);
  const recorded = await readLocalState(paths.dir);
  if (recorded?.controller != null && recorded.controller.pid !== process.pid && isAlive(recorded.controller.pid)) {
    throw new LocalUpError(`a controller (pid ${recorded.controller.pid}) already runs this cluster at ${recorded.controller.url}: use \`irisctl status --dir ${opts.dir}\`, or stop it with \`irisctl local down --dir ${opts.dir}\``);
  }
  // Ports of an existing cluster stay as they were recorded.
  const basePort = recorded?.basePort ?? opts.basePort;
  const logger = fileLogger(paths.controllerLog, opts.logLevel ?? 'info');
  const token = await readOrCreateToken(paths.dir);
  const say = (line: string) => opts.out.write(`${line}\n`);
  let archiveDestination: string | null;
  try {
    archiveDestination = await settleArchiveDestination(paths.dir, opts.archiveDestination, !fs.existsSync(paths.controllerState));
  } catch (err) {
    logger.close();
    throw new LocalUpError((err as Error).message);
  }
  if (opts.restore !== undefined) {
    try {
      await restoreLocalCluster({
        dir: paths.dir, cluster: CLUSTER_NAME, shards: opts.shards, from: opts.restore.from, backupId: opts.restore.backupId, s3: opts.restore.s3, say,
        ...(opts.restore.pointInTime !== undefined ? { pointInTime: opts.restore.pointInTime } : {}),
        keyring: await localKeyring(paths.dir, opts.encryptionKeyFile),
      });
    } catch (err) {
      logger.close();
      throw new LocalUpError(`restore from ${opts.restore.from} failed, no cluster was started: ${(err as Error).message}`);
    }
  }

  const requested: ClusterSpec = {
    shards: opts.shards, replicasPerShard: opts.replicasPerShard, minSyncReplicas: opts.minSyncReplicas,
    heartbeatMs: opts.heartbeatMs, failureThreshold: opts.failureThreshold, dataDurability: opts.dataDurability,
  };
  const store = new FileStateStore(paths.dir);
  // An existing cluster keeps its recorded spec: its nodes must wait for the acknowledgements the controller counts on.
  const spec = (await store.load())?.spec ?? requested;
  const stateFile = new LocalStateFile(paths.dir);
  // A cluster started with --tls stays on TLS when resumed without it: its clients trust DIR/tls/ca.crt.
  const tls = opts.tls === true || localTlsExists(paths.dir) ? await ensureLocalTls(paths.dir, ['127.0.0.1', 'localhost'], opts.tlsKeepPlain === true) : undefined;
  const aclfile = await prepareLocalAclfile(paths.dir, opts.aclfile);
  const keyFile = await settleEncryptionKeyFile(paths.dir, opts.encryptionKeyFile);
  const platform = new ProcessPlatform({
    dir: paths.dir, basePort, token, nodeMain: NODE_MAIN, logger, stateFile,
    nodeArgs: ['--min-sync-replicas', String(spec.minSyncReplicas), ...(archiveDestination !== null ? ['--archive-destination', archiveDestination] : []),
      ...(aclfile !== undefined ? ['--aclfile', aclfile] : []), ...(keyFile !== undefined ? ['--encryption-key-file', keyFile] : [])],
    ...(tls !== undefined ? { tls } : {}),
    ...(opts.netnsPlacement !== undefined ? { placement: placementFunction(opts.netnsPlacement) } : {}),
  });
  await platform.start();
  let controller: Controller;
  let api: ListeningControlApi;
  let audit: AuditFileLog | undefined;
  try {
    // Tracing (docs/tracing.md): the nodes inherit the same OTEL_* variables.
    const traced = tracingSettingsFromEnv(process.env, 'irisdb-controller');
    const tracing = traced === null ? null : createTracing(traced, { instance: `local-controller:${basePort}`, version: IRISDB_VERSION });
    // With --tls the nodes serve HTTPS only: every node client of the controller trusts DIR/tls/ca.crt.
    const nodeFetch = localNodeFetch(tls);
    controller = await Controller.start({
      cluster: CLUSTER_NAME, spec, platform, store, token, logger, holdFailoverStage: opts.holdFailoverStage ?? null, tracing,
      nodeApi: (url, t, timeoutMs) => new MigrationAdminClient(url, t, timeoutMs, nodeFetch), nodeFetch,
    });
    const dashboard = dashboardRouter(singleCluster(CLUSTER_NAME, controllerSource(controller)), {
      actions: true, newSampler: () => new NodeSampler({ ...DEFAULT_SAMPLER_OPTIONS, fetchMetrics: metricsFetcherVia(nodeFetch) }),
    });
    // The controller's gauges at GET /metrics (token-protected) so a Prometheus can watch a local cluster too.
    const metrics = new Registry();
    createControllerMetrics(metrics).watch(controller, '');
    watchRecoverabilityMetrics(metrics, () => controller.status());
    audit = openControllerAudit(paths.dir, metrics, logger);
    api = await listenControlApi(controller, { host: '127.0.0.1', port: controlPort(basePort), token }, logger, dashboard, metrics, backupRoutes(controller), audit);
  } catch (err) {
    audit?.close();
    await platform.stopAll();
    throw err;
  }
  await stateFile.recordController({ url: api.url, pid: process.pid }, basePort);
  if (archiveDestination !== null) {
    // Archive retention (docs/backup.md) runs with each read of the window; never while a backup is being taken.
    const pruner = new ArchivePruner(logger, () => controller.backups.some((b) => b.phase === 'Running'));
    controller.watchRecoverability(new RecoverabilityWatcher({ destination: archiveDestination, logger, beforeRead: (d) => pruner.prune(d) }));
  }
  if (opts.backupSchedule !== undefined) await controller.setBackupSchedule({ ...opts.backupSchedule });

  const recordedSpec = controller.state.spec;
  if (JSON.stringify(recordedSpec) !== JSON.stringify({ ...recordedSpec, ...requested })) {
    say(`resuming the cluster in ${paths.dir} as recorded (${recordedSpec.shards} shards × ${recordedSpec.replicasPerShard} replicas, minSyncReplicas ${recordedSpec.minSyncReplicas}, dataDurability ${recordedSpec.dataDurability}); use \`irisctl scale\` to change the shape`);
  }
  controller.onEvent((e) => say(eventLine(e)));
  for (const e of controller.events) say(eventLine(e));

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      say('stopping: controller first, then every node (the data stays)');
      await controller.stop();
      await api.close();
      audit?.close();
      await platform.stopAll();
      await stateFile.recordController(null, basePort);
      say(`stopped; \`npm start\` (or \`irisctl local up --dir ${opts.dir}\`) resumes this cluster`);
      logger.close();
      resolveDone();
    })();
    return stopping;
  };

  void announceWhenReady(controller, api.url, paths.dir, say, done, tls?.caFile);
  return { controlUrl: api.url, controller, platform, done, stop };
}

/** Prints bootstrap progress until the cluster is first Ready, then how to connect. */
async function announceWhenReady(controller: Controller, controlUrl: string, dir: string, say: (l: string) => void, done: Promise<void>, tlsCaFile?: string): Promise<void> {
  let stopped = false;
  void done.then(() => (stopped = true));
  let last = '';
  while (!stopped) {
    const st = controller.status();
    if (st.phase === 'Ready') {
      for (const line of connectLines(st, controlUrl, dir, tlsCaFile)) say(line);
      return;
    }
    const line = `${st.phase}: ${st.messages[0] ?? ''}`;
    if (line !== last) say(line);
    last = line;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** tlsCaFile: the cluster serves RESP over TLS only (local up --tls); clients verify the nodes against it. */
export function connectLines(st: ClusterStatus, controlUrl: string, dir: string, tlsCaFile?: string): string[] {
  const nodes = st.shards.flatMap((s) => s.nodes);
  const primary = st.shards[0]?.nodes.find((n) => n.name === st.shards[0]!.primary);
  // The lowest port, not shard 0's primary: any node redirects, and the line stays the same across restarts and failovers.
  const ports = nodes.flatMap((n) => (n.port === null ? [] : [n.port]));
  const port = ports.length === 0 ? undefined : Math.min(...ports);
  // --tls-keep-plain: `port` is the plain port and tlsPort the TLS one.
  const tlsPorts = nodes.flatMap((n) => (n.tlsPort === undefined ? [] : [n.tlsPort]));
  const tlsPort = tlsPorts.length === 0 ? undefined : Math.min(...tlsPorts);
  const http = primary?.httpUrl ?? nodes[0]?.httpUrl;
  return [
    '',
    `IrisDB is up: ${st.shards.length} shards, ${nodes.length} nodes, all ${st.slotsAssigned} slots served (map epoch ${st.mapEpoch})`,
    ...(tlsCaFile !== undefined && tlsPort !== undefined
      ? [`  connect:   redis-cli --tls --cacert ${tlsCaFile} -c -p ${tlsPort}   (TLS; any node; -c follows MOVED redirects to TLS ports)`,
        `  or plain:  redis-cli -c -p ${port}          (plain-text RESP beside TLS; MOVED names plain ports)`]
      : [tlsCaFile === undefined
        ? `  connect:   redis-cli -c -p ${port}          (any node; -c follows MOVED redirects)`
        : `  connect:   redis-cli --tls --cacert ${tlsCaFile} -c -p ${port}   (TLS only; any node; -c follows MOVED redirects)`]),
    `  nodes:     ${nodes.map((n) => `${n.host}:${n.port}${n.tlsPort === undefined ? '' : ` (TLS ${n.tlsPort})`}`).join(' ')}`,
    `  HTTP API:  ${http}/v1/kv/<key>   (any node: requests are forwarded to the key's shard)`,
    `  status:    npm run -s irisctl -- status --dir ${dir}      (control API ${controlUrl}/status, Bearer token in ${path.join(dir, 'token')})`,
    `  dashboard: ${controlUrl}/`,
    `  data in ${dir}, logs in ${path.join(dir, 'logs')}; Ctrl-C stops the cluster, the next start resumes it`,
    '',
  ];
}

function eventLine(e: ControllerEvent): string {
  return `${new Date(e.at).toISOString()} ${e.type === 'Warning' ? 'WARN ' : ''}${e.reason}: ${e.message}`;
}

function fileLogger(file: string, level: string): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component: 'controller' },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.File({ filename: file })],
  });
}
