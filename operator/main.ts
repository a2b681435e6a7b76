/**
 * The operator's entry point (image irisdb/operator): reads its settings
 * from the environment the Helm chart sets (kube/config.ts), serves
 * /healthz, /readyz and /metrics on IRIS_METRICS_PORT, the web dashboard on
 * loopback port IRIS_DASHBOARD_PORT (kubectl port-forward), and runs the
 * operator (kube/operator.ts) until SIGTERM, when it stops every cluster's
 * controller and releases its lease so a standby takes over at once.
 */
import os from 'node:os';
import { createLogger } from '../common/logger.js';
import { KubeClient } from './kube/client.js';
import { ConfigError, operatorConfig } from './kube/config.js';
import { errorText } from './kube/errors.js';
import { createOperatorMetrics, serveHealth } from './kube/metrics.js';
import { listenDashboard } from './dashboard/server.js';
import { Operator } from './kube/operator.js';

async function main(): Promise<void> {
  let config;
  try {
    config = operatorConfig(process.env, `${os.hostname()}-${process.pid}`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`irisdb-operator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { component: 'operator', identity: config.identity });
  const metrics = createOperatorMetrics();
  // Without a network namespace (the test kubelet) the pod's own address; in a pod, every address.
  const bindHost = process.env.IRIS_BIND !== undefined && process.env.IRIS_BIND !== '' ? process.env.IRIS_BIND : undefined;
  const health = await serveHealth(config.metricsPort, metrics.registry, () => true, bindHost);
  const client = await KubeClient.load();
  const operator = new Operator({ config, client, logger, metrics });
  // Loopback only: reached through kubectl port-forward, which the API server authorizes. A port
  // taken (pods sharing a network) costs the dashboard, not the operator.
  const dashboardPort = config.dashboardPort;
  const dashboard = dashboardPort === null ? null : await listenDashboard(() => operator.dashboardSources(), { host: '127.0.0.1', port: dashboardPort }, logger)
    .catch((err: unknown) => {
      logger.warn('the dashboard could not listen; running without it', { port: dashboardPort, error: errorText(err) });
      return null;
    });
  logger.info('operator starting', {
    namespace: config.namespace, watch: config.watchNamespaces.length === 0 ? 'all namespaces' : config.watchNamespaces, lease: config.leaderElectionId,
    metricsPort: health.port, dashboard: dashboard?.url ?? 'off', server: client.server,
  });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    void (async () => {
      try {
        await operator.stop();
      } catch (err) {
        logger.error('stopping failed', { error: errorText(err) });
      }
      await health.close();
      await dashboard?.close();
      client.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await operator.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`irisdb-operator: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
