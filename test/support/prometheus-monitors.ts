/**
 * The chart's PodMonitor and ServiceMonitor as Prometheus scrape configs,
 * generated the way the Prometheus operator generates them (keep rules for
 * the selector's labels and the port name; namespace, pod, container,
 * service, job and endpoint target labels; then the monitor's own
 * relabelings), so a plain Prometheus scrapes what kube-prometheus-stack
 * would from the rendered objects. Debian's Prometheus is built without
 * kubernetes_sd, so the discovery itself is a file_sd file this module
 * fills from the API server's pods and endpoints with the same
 * __meta_kubernetes_* labels kubernetes_sd sets (roles pod and endpoints).
 * The subset of fields the chart uses; anything else is refused. Pure.
 */

interface Relabeling {
  sourceLabels?: string[];
  targetLabel?: string;
  regex?: string;
  replacement?: string;
  action?: string;
}

/** The SafeTLSConfig subset the chart's values may carry (metrics.podMonitor.tlsConfig). */
interface TlsConfig {
  ca?: { secret?: { name: string; key: string } };
  serverName?: string;
}

interface Endpoint {
  port: string;
  path?: string;
  scheme?: string;
  tlsConfig?: TlsConfig;
  interval?: string;
  honorLabels?: boolean;
  relabelings?: Relabeling[];
}

export interface MonitorObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
    podMetricsEndpoints?: Endpoint[];
    endpoints?: Endpoint[];
  };
}

/** Prometheus's label-name form of a Kubernetes label key. */
const sanitize = (k: string): string => k.replace(/[^a-zA-Z0-9_]/g, '_');

/** One scrape job per endpoint of the monitor, as YAML lines indented for `scrape_configs:`; `sdFile` holds its role's targets. */
export function monitorScrapeConfig(m: MonitorObject, sdFile: string, interval = '1s', secretFile?: (namespace: string, name: string, key: string) => string): string[] {
  const pod = m.kind === 'PodMonitor';
  if (!pod && m.kind !== 'ServiceMonitor') throw new Error(`not a monitor: ${m.kind}`);
  if (m.spec.selector.matchExpressions !== undefined) throw new Error('matchExpressions are not translated');
  const ns = m.metadata.namespace ?? 'default';
  const role = pod ? 'pod' : 'endpoints';
  const meta = pod ? '__meta_kubernetes_pod' : '__meta_kubernetes_service';
  const endpoints = (pod ? m.spec.podMetricsEndpoints : m.spec.endpoints) ?? [];
  const lines: string[] = [];
  endpoints.forEach((e, i) => {
    lines.push(`  - job_name: ${JSON.stringify(`${pod ? 'podMonitor' : 'serviceMonitor'}/${ns}/${m.metadata.name}/${i}`)}`);
    lines.push(`    honor_labels: ${e.honorLabels === true}`, `    metrics_path: ${JSON.stringify(e.path ?? '/metrics')}`, `    scrape_interval: ${interval}`);
    lines.push(`    # role ${role}`, '    file_sd_configs:', `      - files: [${JSON.stringify(sdFile)}]`, '        refresh_interval: 1s');
    if (e.scheme !== undefined) lines.push(`    scheme: ${JSON.stringify(e.scheme)}`);
    if (e.tlsConfig !== undefined) lines.push(...tlsConfigLines(e.tlsConfig, ns, secretFile));
    const names = m.spec.namespaceSelector?.any === true ? null : (m.spec.namespaceSelector?.matchNames ?? [ns]);
    const relabel: Relabeling[] = [];
    // kubernetes_sd's namespaces list, as a keep rule over the file's targets.
    if (names !== null) relabel.push({ action: 'keep', sourceLabels: ['__meta_kubernetes_namespace'], regex: `(${names.join('|')})` });
    for (const [k, v] of Object.entries(m.spec.selector.matchLabels ?? {})) {
      relabel.push({ action: 'keep', sourceLabels: [`${meta}_label_${sanitize(k)}`, `${meta}_labelpresent_${sanitize(k)}`], regex: `(${v});true` });
    }
    relabel.push({ action: 'keep', sourceLabels: [pod ? '__meta_kubernetes_pod_container_port_name' : '__meta_kubernetes_endpoint_port_name'], regex: e.port });
    relabel.push({ sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace' });
    if (!pod) relabel.push({ sourceLabels: ['__meta_kubernetes_service_name'], targetLabel: 'service' });
    relabel.push({ sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' });
    relabel.push({ sourceLabels: ['__meta_kubernetes_pod_container_name'], targetLabel: 'container' });
    relabel.push(pod
      ? { targetLabel: 'job', replacement: `${ns}/${m.metadata.name}` }
      : { sourceLabels: ['__meta_kubernetes_service_name'], targetLabel: 'job' });
    relabel.push({ targetLabel: 'endpoint', replacement: e.port });
    relabel.push(...(e.relabelings ?? []));
    lines.push('    relabel_configs:');
    for (const r of relabel) {
      if (r.action !== undefined && r.action !== 'keep' && r.action !== 'replace') throw new Error(`relabel action ${r.action} is not translated`);
      lines.push(`      - action: ${r.action ?? 'replace'}`);
      if (r.sourceLabels !== undefined) lines.push(`        source_labels: ${JSON.stringify(r.sourceLabels)}`);
      if (r.targetLabel !== undefined) lines.push(`        target_label: ${JSON.stringify(r.targetLabel)}`);
      if (r.regex !== undefined) lines.push(`        regex: ${JSON.stringify(r.regex)}`);
      if (r.replacement !== undefined) lines.push(`        replacement: ${JSON.stringify(r.replacement)}`);
    }
  });
  return lines;
}

/** tls_config as the Prometheus operator writes it: a CA Secret (in the monitor's namespace) becomes a file. */
function tlsConfigLines(t: TlsConfig, ns: string, secretFile: ((namespace: string, name: string, key: string) => string) | undefined): string[] {
  const unknown = Object.keys(t).filter((k) => k !== 'ca' && k !== 'serverName');
  if (unknown.length > 0) throw new Error(`tlsConfig ${unknown.join(', ')} is not translated`);
  const out = ['    tls_config:'];
  const secret = t.ca?.secret;
  if (secret !== undefined) {
    if (secretFile === undefined) throw new Error('tlsConfig.ca.secret needs a secretFile to write the Secret to');
    out.push(`      ca_file: ${JSON.stringify(secretFile(ns, secret.name, secret.key))}`);
  }
  if (t.serverName !== undefined) out.push(`      server_name: ${JSON.stringify(t.serverName)}`);
  return out;
}

/** The parts of a Pod, Service and Endpoints the discovery reads. */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { containers: Array<{ name: string; ports?: Array<{ name?: string; containerPort: number }> }> };
  status?: { podIP?: string };
}
export interface ServiceLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { selector?: Record<string, string>; ports?: Array<{ name?: string; port: number; targetPort?: string | number }> };
}
export interface EndpointsLike {
  metadata?: { name?: string; namespace?: string };
  subsets?: Array<{ addresses?: Array<{ ip: string; targetRef?: { kind?: string; name?: string } }>; ports?: Array<{ name?: string; port: number }> }>;
}

type TargetGroup = { targets: string[]; labels: Record<string, string> };

function labelMeta(prefix: string, labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    out[`${prefix}_label_${sanitize(k)}`] = v;
    out[`${prefix}_labelpresent_${sanitize(k)}`] = 'true';
  }
  return out;
}

/** kubernetes_sd role pod: one target per container port of every pod with an IP. */
export function podTargets(pods: readonly PodLike[]): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (ip === undefined) continue;
    for (const c of p.spec?.containers ?? []) {
      for (const port of c.ports ?? []) {
        out.push({
          targets: [`${ip}:${port.containerPort}`],
          labels: {
            __meta_kubernetes_namespace: p.metadata?.namespace ?? '', __meta_kubernetes_pod_name: p.metadata?.name ?? '',
            __meta_kubernetes_pod_ip: ip, __meta_kubernetes_pod_container_name: c.name, __meta_kubernetes_pod_container_port_name: port.name ?? '',
            __meta_kubernetes_pod_container_port_number: String(port.containerPort), ...labelMeta('__meta_kubernetes_pod', p.metadata?.labels),
          },
        });
      }
    }
  }
  return out;
}

/** kubernetes_sd role endpoints: one target per address and port of every Endpoints object, with its Service's labels. */
export function endpointTargets(endpoints: readonly EndpointsLike[], services: readonly ServiceLike[], pods: readonly PodLike[]): TargetGroup[] {
  const out: TargetGroup[] = [];
  for (const e of endpoints) {
    const ns = e.metadata?.namespace ?? '';
    const svc = services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === e.metadata?.name);
    for (const subset of e.subsets ?? []) {
      for (const a of subset.addresses ?? []) {
        for (const port of subset.ports ?? []) {
          const podName = a.targetRef?.kind === 'Pod' ? a.targetRef.name : undefined;
          const pod = pods.find((p) => p.metadata?.namespace === ns && p.metadata?.name === podName);
          const container = pod?.spec?.containers.find((c) => (c.ports ?? []).some((cp) => cp.containerPort === port.port));
          out.push({
            targets: [`${a.ip}:${port.port}`],
            labels: {
              __meta_kubernetes_namespace: ns, __meta_kubernetes_service_name: e.metadata?.name ?? '', __meta_kubernetes_endpoint_port_name: port.name ?? '',
              ...labelMeta('__meta_kubernetes_service', svc?.metadata?.labels),
              ...(podName !== undefined ? { __meta_kubernetes_pod_name: podName, ...labelMeta('__meta_kubernetes_pod', pod?.metadata?.labels) } : {}),
              ...(container !== undefined ? { __meta_kubernetes_pod_container_name: container.name } : {}),
            },
          });
        }
      }
    }
  }
  return out;
}

/**
 * The Endpoints the endpoints controller would keep for each Service with a
 * selector: its pods with an IP, each Service port resolved to the pod's
 * port (targetPort by name or number). For environments whose endpoints
 * controller does not see the pods' addresses (the e2e test kubelet's).
 */
export function endpointsFromServices(services: readonly ServiceLike[], pods: readonly PodLike[]): EndpointsLike[] {
  return services.flatMap((svc) => {
    const selector = svc.spec?.selector;
    if (selector === undefined || Object.keys(selector).length === 0) return [];
    const ns = svc.metadata?.namespace;
    const chosen = pods.filter((p) => p.metadata?.namespace === ns && p.status?.podIP !== undefined
      && Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v));
    const subsets = chosen.flatMap((p) => {
      const ports = (svc.spec?.ports ?? []).flatMap((sp) => {
        const target = sp.targetPort ?? sp.port;
        const cp = p.spec?.containers.flatMap((c) => c.ports ?? []).find((x) => (typeof target === 'number' ? x.containerPort === target : x.name === target));
        return cp === undefined ? [] : [{ name: sp.name, port: cp.containerPort }];
      });
      return ports.length === 0 ? [] : [{ addresses: [{ ip: p.status!.podIP!, targetRef: { kind: 'Pod', name: p.metadata?.name } }], ports }];
    });
    return [{ metadata: { name: svc.metadata?.name, namespace: ns }, subsets }];
  });
}
