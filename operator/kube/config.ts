/**
 * The operator's settings from its environment (set by the Helm chart's
 * Deployment). Pure: takes the environment, throws ConfigError naming the
 * variable.
 */

export interface OperatorConfig {
  /** Where the operator runs: its Lease lives here. */
  readonly namespace: string;
  /** Namespaces whose IrisClusters it manages; empty: all. */
  readonly watchNamespaces: readonly string[];
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
  readonly leaderElectionId: string;
  readonly metricsPort: number;
  /** The web dashboard's port on the pod's loopback (kubectl port-forward reaches it); null: off (IRIS_DASHBOARD_PORT=0). */
  readonly dashboardPort: number | null;
  /** This instance's identity in the Lease: the pod name. */
  readonly identity: string;
  /** Lifetime in days of a CA the operator makes for a cluster's TLS (IRIS_OPERATOR_CA_DAYS); rotated when a third is left. */
  readonly caDays: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;
/** Bounds of IRIS_OPERATOR_CA_DAYS: a CA must outlive a server certificate's renewal; 100 years is the most X.509 tooling is happy with. */
export const MIN_CA_DAYS = 1;
export const MAX_CA_DAYS = 36500;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function operatorConfig(env: Readonly<Record<string, string | undefined>>, fallbackIdentity: string): OperatorConfig {
  const namespace = (env.IRIS_OPERATOR_NAMESPACE ?? '').trim() || 'default';
  if (!DNS_NAME.test(namespace)) throw new ConfigError('IRIS_OPERATOR_NAMESPACE', `not a namespace name: ${JSON.stringify(namespace)}`);
  const watchNamespaces = (env.IRIS_WATCH_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const ns of watchNamespaces) if (!DNS_NAME.test(ns)) throw new ConfigError('IRIS_WATCH_NAMESPACES', `not a namespace name: ${JSON.stringify(ns)}`);
  const logLevel = (env.IRIS_LOG_LEVEL ?? '').trim() || 'info';
  if (!(LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError('IRIS_LOG_LEVEL', `expected one of ${LEVELS.join(', ')} (got ${JSON.stringify(logLevel)})`);
  const leaderElectionId = (env.IRIS_LEADER_ELECTION_ID ?? '').trim() || 'irisdb-operator';
  if (!DNS_NAME.test(leaderElectionId)) throw new ConfigError('IRIS_LEADER_ELECTION_ID', `not a valid Lease name: ${JSON.stringify(leaderElectionId)}`);
  const portText = (env.IRIS_METRICS_PORT ?? '').trim() || '9090';
  const metricsPort = Number(portText);
  if (!/^\d+$/.test(portText) || metricsPort > 65535) throw new ConfigError('IRIS_METRICS_PORT', `expected a port number (got ${JSON.stringify(portText)})`);
  const dashboardText = (env.IRIS_DASHBOARD_PORT ?? '').trim() || '8090';
  const dashboardPort = Number(dashboardText);
  if (!/^\d+$/.test(dashboardText) || dashboardPort > 65535) throw new ConfigError('IRIS_DASHBOARD_PORT', `expected a port number, or 0 for no dashboard (got ${JSON.stringify(dashboardText)})`);
  const identity = (env.POD_NAME ?? env.HOSTNAME ?? '').trim() || fallbackIdentity;
  const caDaysText = (env.IRIS_OPERATOR_CA_DAYS ?? '').trim() || '3650';
  const caDays = Number(caDaysText);
  if (!/^\d+$/.test(caDaysText) || caDays < MIN_CA_DAYS || caDays > MAX_CA_DAYS) {
    throw new ConfigError('IRIS_OPERATOR_CA_DAYS', `expected a whole number of days from ${MIN_CA_DAYS} to ${MAX_CA_DAYS} (got ${JSON.stringify(caDaysText)})`);
  }
  return {
    namespace, watchNamespaces: [...new Set(watchNamespaces)], logLevel: logLevel as OperatorConfig['logLevel'], leaderElectionId, metricsPort,
    dashboardPort: dashboardPort === 0 ? null : dashboardPort, identity, caDays,
  };
}
