/**
 * The operator's Prometheus metrics and its probe endpoints on
 * IRIS_METRICS_PORT: /healthz (the process is up), /readyz (up, leader or
 * standby: a standby is ready to take over) and /metrics.
 */
import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createControllerMetrics, type ControllerMetrics } from '../controller/metrics.js';

export interface OperatorMetrics {
  readonly registry: Registry;
  /** Reconcile passes per cluster and outcome (ok, error). */
  readonly reconcileTotal: Counter<'namespace' | 'cluster' | 'result'>;
  readonly leader: Gauge;
  /** Failovers started (FailoverStarted events). */
  readonly failoversTotal: Counter<'namespace' | 'cluster'>;
  /** Every Event the operator recorded, by reason. */
  readonly eventsTotal: Counter<'reason' | 'type'>;
  /** Clusters this operator runs a controller for. */
  readonly managedClusters: Gauge;
  /** Pods restarted by rolling updates. */
  readonly rolloutRestartsTotal: Counter<'namespace' | 'cluster'>;
  /** When the nodes' TLS certificate (kind="server") and the operator's CA (kind="ca") of a cluster with spec.tls expire (cert-manager's certificate_expiration_timestamp_seconds). */
  readonly tlsCertificateExpiry: Gauge<'namespace' | 'cluster' | 'kind'>;
  /** The irisdb_controller_* metrics of every cluster this instance runs a controller for (the chart's alerts). */
  readonly controllers: ControllerMetrics;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'irisdb_operator_process_' });
  return {
    registry,
    reconcileTotal: new Counter({ name: 'irisdb_operator_reconcile_total', help: 'Reconcile passes per cluster and result', labelNames: ['namespace', 'cluster', 'result'] as const, registers: [registry] }),
    leader: new Gauge({ name: 'irisdb_operator_leader', help: '1 while this operator instance holds the leader lease', registers: [registry] }),
    failoversTotal: new Counter({ name: 'irisdb_operator_failovers_total', help: 'Failovers started by the controller', labelNames: ['namespace', 'cluster'] as const, registers: [registry] }),
    eventsTotal: new Counter({ name: 'irisdb_operator_events_total', help: 'Events recorded on IrisClusters, by reason', labelNames: ['reason', 'type'] as const, registers: [registry] }),
    managedClusters: new Gauge({ name: 'irisdb_operator_managed_clusters', help: 'IrisClusters this instance runs a controller for', registers: [registry] }),
    rolloutRestartsTotal: new Counter({ name: 'irisdb_operator_rollout_restarts_total', help: 'Pods restarted by rolling updates', labelNames: ['namespace', 'cluster'] as const, registers: [registry] }),
    tlsCertificateExpiry: new Gauge({ name: 'irisdb_operator_tls_certificate_expiration_timestamp_seconds', help: 'Expiry (Unix time) of the TLS certificate the nodes of a cluster serve (kind="server": the user\'s, cert-manager\'s or the operator-issued one) and of the operator\'s own CA (kind="ca")', labelNames: ['namespace', 'cluster', 'kind'] as const, registers: [registry] }),
    controllers: createControllerMetrics(registry),
  };
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves /healthz, /readyz and /metrics on `port` (0: a free one) on every address. */
export function serveHealth(port: number, registry: Registry, ready: () => boolean, host?: string): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === '/readyz') return ready() ? send(res, 200, 'ok\n') : send(res, 503, 'not ready\n');
    if (path === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(text);
      }, (err: Error) => send(res, 500, `${err.message}\n`));
      return;
    }
    send(res, 404, 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr !== null ? addr.port : port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

function send(res: http.ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain' });
  res.end(body);
}
