/**
 * The Helm chart (helm/irisdb) with the real helm binary, against the
 * environment's real API server (issue #7, "It must show" 1): `helm lint`
 * and `helm template` pass; values.schema.json rejects bad values; what the
 * chart renders (default, ServiceMonitor, Grafana dashboard and watchNamespaces variants) is
 * accepted by `kubectl apply --dry-run=server`; a real `helm install` (with
 * no operator pods) gives the operator's ServiceAccount exactly the access it
 * needs, checked with `kubectl auth can-i --as`.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { DASHBOARD_FILE, PROMTOOL_BIN, RULES_FILE } from '../support/prometheus.js';
import { run } from '../support/run.js';
import { CHART, openHelm, parseManifests, type Helm, type Rendered } from '../support/kube/helm.js';
import { waitFor } from '../support/wait.js';
import { createNamespace, deleteNamespace, ENV_TIMEOUT_MS, kubeEnv, type KubeEnv } from './helpers.js';

const APP_VERSION = (load(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;

interface RbacRule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Container {
  name: string; image: string; imagePullPolicy: string; command?: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  resources?: unknown;
}
interface Deployment extends Rendered {
  spec: { replicas: number; template: { spec: { serviceAccountName: string; securityContext: { runAsNonRoot?: boolean; runAsUser?: number }; containers: Container[] } } };
}

function byKind(objs: Rendered[], kind: string): Rendered[] {
  return objs.filter((o) => o.kind === kind);
}

describe('e2e: Helm chart helm/irisdb', function () {
  this.timeout(180000);
  let env: KubeEnv;
  let helm: Helm;
  /** Where the releases go, and the namespaces a namespaced release watches. */
  let releaseNs: string;
  let watchedA: string;
  let watchedB: string;
  let unwatched: string;
  const suffix = crypto.randomBytes(3).toString('hex');
  const releaseAll = `e2e-all-${suffix}`;
  const releaseScoped = `e2e-scoped-${suffix}`;
  const installed: string[] = [];

  const template = async (release: string, extra: string[] = []): Promise<Rendered[]> =>
    parseManifests(await helm.template(release, releaseNs, extra));

  before(async function () {
    this.timeout(ENV_TIMEOUT_MS);
    env = await kubeEnv();
    helm = openHelm(env.helmPath, env.kubeconfig);
    [releaseNs, watchedA, watchedB, unwatched] = await Promise.all(
      ['helm', 'helm-wa', 'helm-wb', 'helm-other'].map((p) => createNamespace(env, p)));
  });

  after(async function () {
    if (env === undefined) return;
    for (const r of installed) await helm.run(['uninstall', r, '--namespace', releaseNs]).catch(() => undefined);
    for (const ns of [releaseNs, watchedA, watchedB, unwatched]) if (ns !== undefined) await deleteNamespace(env, ns);
    helm?.close();
  });

  it('passes helm lint --strict with the default values and with every variant', async () => {
    for (const extra of [[], ['--set', 'metrics.serviceMonitor.enabled=true'], ['--set', 'metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true,metrics.podMonitor.enabled=true'], ['--set', `watchNamespaces={${watchedA},${watchedB}}`], ['--set', 'metrics.enabled=false,rbac.aggregateToDefaultRoles=false']]) {
      const out = await helm.ok(['lint', '--strict', CHART, ...extra]);
      expect(out, extra.join(' ')).to.contain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('renders the operator Deployment, ServiceAccount, RBAC and metrics Service (defaults)', async () => {
    const objs = await template(releaseAll);
    expect(objs.map((o) => o.kind)).to.have.members([
      'ServiceAccount', 'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'Deployment',
    ]);
    expect(byKind(objs, 'ServiceMonitor')).to.have.length(0);

    const dep = byKind(objs, 'Deployment')[0] as Deployment;
    const sa = byKind(objs, 'ServiceAccount')[0]!;
    expect(dep.metadata.namespace).to.equal(releaseNs);
    expect(dep.spec.replicas, 'two operator pods, one leader').to.equal(2);
    expect(dep.spec.template.spec.serviceAccountName).to.equal(sa.metadata.name);
    const c = dep.spec.template.spec.containers[0]!;
    expect(c.image).to.equal(`irisdb/operator:${APP_VERSION}`);
    expect(c.command, 'the image entrypoint runs dist/operator/main.js').to.equal(undefined);
    const envVars = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath}`]));
    expect(envVars).to.deep.equal({
      IRIS_OPERATOR_NAMESPACE: 'fieldRef:metadata.namespace', POD_NAME: 'fieldRef:metadata.name', IRIS_WATCH_NAMESPACES: '',
      IRIS_LOG_LEVEL: 'info', IRIS_LEADER_ELECTION_ID: 'irisdb-operator', IRIS_METRICS_PORT: '9090', IRIS_DASHBOARD_PORT: '8090', IRIS_OPERATOR_CA_DAYS: '3650',
    });
    expect(c.ports).to.deep.include({ name: 'metrics', containerPort: 9090, protocol: 'TCP' });
    expect(c.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'metrics' });
    expect(c.securityContext).to.deep.include({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(dep.spec.template.spec.securityContext).to.include({ runAsNonRoot: true, runAsUser: 65532 });
    expect(c.resources).to.be.an('object');

    const svc = byKind(objs, 'Service')[0] as Rendered & { spec: { ports: Array<{ port: number }> } };
    expect(svc.spec.ports[0]!.port).to.equal(9090);
  });

  it('renders --include-crds with the same CRDs as crds/', async () => {
    const objs = await template(releaseAll, ['--include-crds']);
    const crds = byKind(objs, 'CustomResourceDefinition').map((o) => o.metadata.name).sort();
    expect(crds).to.deep.equal(['irisbackups.irisdb.io', 'irisclusters.irisdb.io']);
    for (const name of crds) {
      const fromFile = load(fs.readFileSync(path.join(REPO_ROOT, 'crds', `${name}.yaml`), 'utf8'));
      expect(byKind(objs, 'CustomResourceDefinition').find((o) => o.metadata.name === name)).to.deep.equal(fromFile);
    }
  });

  it('renders a ServiceMonitor only when metrics.serviceMonitor.enabled', async () => {
    const objs = await template(releaseAll, ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=prom', '--set', 'metrics.serviceMonitor.interval=15s']);
    const sm = byKind(objs, 'ServiceMonitor') as Array<Rendered & { spec: { endpoints: Array<{ port: string; interval: string }> } }>;
    expect(sm).to.have.length(1);
    expect(sm[0]!.apiVersion).to.equal('monitoring.coreos.com/v1');
    expect(sm[0]!.metadata.labels).to.include({ release: 'prom' });
    expect(sm[0]!.spec.endpoints[0]).to.include({ port: 'metrics', interval: '15s' });
    const noMetrics = await template(releaseAll, ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.enabled=false']);
    expect(noMetrics.map((o) => o.kind)).not.to.include.members(['ServiceMonitor', 'Service']);
  });

  it('renders the PrometheusRule, PodMonitor and Grafana dashboard ConfigMap only when enabled', async () => {
    const none = await template(releaseAll);
    expect(none.map((o) => o.kind)).not.to.include.members(['PrometheusRule']);
    expect(none.map((o) => o.kind)).not.to.include.members(['PodMonitor']);
    expect(none.map((o) => o.kind)).not.to.include.members(['ConfigMap']);

    const objs = await template(releaseAll, [
      '--set', 'metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true,metrics.podMonitor.enabled=true',
      '--set', 'metrics.prometheusRule.labels.release=prom', '--set', 'metrics.prometheusRule.runbookBaseUrl=https://wiki.example/irisdb/alerts/',
      '--set-string', 'metrics.grafanaDashboard.annotations.grafana_folder=IrisDB',
    ]);
    // The PrometheusRule holds the rules file's groups, runbook links moved to the configured base; promtool accepts them.
    const rule = byKind(objs, 'PrometheusRule') as Array<Rendered & { spec: { groups: Array<{ rules: Array<{ annotations: Record<string, string> }> }> } }>;
    expect(rule).to.have.length(1);
    expect(rule[0]!.apiVersion).to.equal('monitoring.coreos.com/v1');
    expect(rule[0]!.metadata.labels).to.include({ release: 'prom' });
    const source = load(fs.readFileSync(RULES_FILE, 'utf8').replaceAll('https://github.com/irisdb/irisdb/blob/main/docs/alerts.md', 'https://wiki.example/irisdb/alerts')) as { groups: unknown };
    expect(rule[0]!.spec.groups).to.deep.equal(source.groups);
    expect(rule[0]!.spec.groups[0]!.rules[0]!.annotations.runbook_url).to.match(/^https:\/\/wiki\.example\/irisdb\/alerts#irisdb/);
    const rendered = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-helm-rules-')), 'rules.json');
    try {
      fs.writeFileSync(rendered, JSON.stringify({ groups: rule[0]!.spec.groups }));
      const check = await run(PROMTOOL_BIN, ['check', 'rules', rendered]);
      expect(check.code, check.stdout + check.stderr).to.equal(0);
    } finally {
      fs.rmSync(path.dirname(rendered), { recursive: true, force: true });
    }
    // The dashboard ConfigMap carries the sidecar's label and the dashboard JSON as it is in the chart.
    const cm = byKind(objs, 'ConfigMap') as Array<Rendered & { data: Record<string, string>; metadata: { annotations?: Record<string, string> } }>;
    expect(cm).to.have.length(1);
    expect(cm[0]!.metadata.labels).to.include({ grafana_dashboard: '1' });
    expect(cm[0]!.metadata.annotations).to.deep.equal({ grafana_folder: 'IrisDB' });
    expect(JSON.parse(cm[0]!.data['irisdb.json']!)).to.deep.equal(JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')));
    // The PodMonitor scrapes every node pod's http port, in every namespace (or the watched ones), naming cluster and shard.
    const pm = byKind(objs, 'PodMonitor') as Array<Rendered & { spec: { namespaceSelector: unknown; selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Array<{ port: string; relabelings: Array<{ targetLabel: string }> }> } }>;
    expect(pm).to.have.length(1);
    expect(pm[0]!.spec.namespaceSelector).to.deep.equal({ any: true });
    expect(pm[0]!.spec.selector.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'irisdb', 'app.kubernetes.io/managed-by': 'irisdb-operator', 'app.kubernetes.io/component': 'node' });
    expect(pm[0]!.spec.podMetricsEndpoints[0]!.port).to.equal('http');
    expect(pm[0]!.spec.podMetricsEndpoints[0]!.relabelings.map((r) => r.targetLabel)).to.deep.equal(['cluster', 'shard']);
    const scoped = byKind(await template(releaseScoped, ['--set', 'metrics.podMonitor.enabled=true', '--set', `watchNamespaces={${watchedA},${watchedB}}`]), 'PodMonitor') as typeof pm;
    expect(scoped[0]!.spec.namespaceSelector).to.deep.equal({ matchNames: [watchedA, watchedB] });
    expect(pm[0]!.spec.podMetricsEndpoints[0], 'plain http by default').to.not.have.any.keys('scheme', 'tlsConfig');
    // spec.tls clusters serve /metrics over HTTPS only: scheme and tlsConfig pass through to the endpoint.
    const tlsConfig = { ca: { secret: { name: 'iris-ca', key: 'ca.crt' } }, serverName: 'iris.db.svc' };
    const secure = byKind(await template(releaseAll, ['--set', 'metrics.podMonitor.enabled=true,metrics.podMonitor.scheme=https', '--set-json', `metrics.podMonitor.tlsConfig=${JSON.stringify(tlsConfig)}`]), 'PodMonitor') as typeof pm;
    expect(secure[0]!.spec.podMetricsEndpoints[0]).to.deep.include({ port: 'http', path: '/metrics', scheme: 'https', tlsConfig });
  });

  it('renders a Role per watched namespace and nothing cluster-wide for the operator when watchNamespaces is set', async () => {
    const objs = await template(releaseScoped, ['--set', `watchNamespaces={${watchedA},${watchedB}}`]);
    const clusterRoles = byKind(objs, 'ClusterRole').map((o) => o.metadata.name);
    expect(clusterRoles.every((n) => n.endsWith('-edit') || n.endsWith('-view')), `only the aggregated user roles: ${clusterRoles.join(', ')}`).to.equal(true);
    expect(byKind(objs, 'ClusterRoleBinding')).to.have.length(0);
    expect(byKind(objs, 'Role').map((o) => o.metadata.namespace)).to.have.members([watchedA, watchedB, releaseNs]);
    expect(byKind(objs, 'RoleBinding').map((o) => o.metadata.namespace)).to.have.members([watchedA, watchedB, releaseNs]);
    const dep = byKind(objs, 'Deployment')[0] as Deployment;
    expect(dep.spec.template.spec.containers[0]!.env.find((e) => e.name === 'IRIS_WATCH_NAMESPACES')?.value).to.equal(`${watchedA},${watchedB}`);
  });

  it('keeps the Lease access to the release namespace and the one Lease name', async () => {
    const objs = await template(releaseAll, ['--set', 'leaderElectionId=my-lease']);
    const roles = byKind(objs, 'Role') as Array<Rendered & { rules: RbacRule[] }>;
    expect(roles).to.have.length(1);
    expect(roles[0]!.metadata.namespace).to.equal(releaseNs);
    const leaseRules = roles[0]!.rules.filter((r) => r.resources.includes('leases'));
    expect(leaseRules).to.deep.equal([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['my-lease'], verbs: ['get', 'update'] },
    ]);
    const operatorRole = byKind(objs, 'ClusterRole').find((o) => o.metadata.name.endsWith('-operator')) as Rendered & { rules: RbacRule[] };
    expect(operatorRole.rules.some((r) => r.resources.includes('leases')), 'no cluster-wide Lease access').to.equal(false);
  });

  it('rejects values that break values.schema.json, naming the value', async () => {
    const cases: Array<[string, RegExp]> = [
      ['logLevel=verbose', /logLevel must be one of the following: "error", "warn", "info", "debug"/],
      ['replicaCount=-1', /replicaCount: Must be greater than or equal to 0/],
      ['metrics.port=80', /metrics\.port: Must be greater than or equal to 1024/],
      ['imagePullPolicy=Sometimes', /imagePullPolicy must be one of the following/],
      ['watchNamespaces={Bad_NS}', /watchNamespaces\.0: Does not match pattern/],
      ['replicas=2', /Additional property replicas is not allowed/],
      ['metrics.prometheusRule.runbookBaseUrl=docs/alerts.md', /metrics\.prometheusRule\.runbookBaseUrl: Does not match pattern/],
    ];
    for (const [set, message] of cases) {
      const r = await helm.run(['template', 'x', CHART, '--set', set]);
      expect(r.code, set).to.equal(1);
      expect(r.stderr, set).to.match(message);
    }
  });

  it('renders objects the API server accepts (kubectl apply --dry-run=server), CRDs included', async () => {
    const hasServiceMonitorCrd = (await env.rest.find('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com')) !== null;
    const variants: Array<[string, string[]]> = [
      ['defaults', ['--include-crds']],
      ['serviceMonitor', ['--set', 'metrics.serviceMonitor.enabled=true']],
      ['watchNamespaces', ['--set', `watchNamespaces={${watchedA},${watchedB}}`]],
      ['grafanaDashboard', ['--set', 'metrics.grafanaDashboard.enabled=true']],
    ];
    for (const [what, extra] of variants) {
      const objs = (await template(releaseAll, extra)).filter((o) => o.kind !== 'ServiceMonitor' || hasServiceMonitorCrd);
      const out = await env.kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));
      const lines = out.trim().split('\n');
      expect(lines, `${what}: one line per object`).to.have.length(objs.length);
      for (const l of lines) expect(l, what).to.match(/ (created|configured|unchanged) \(server dry run\)$/);
    }
    // A dry run stores nothing.
    expect(await env.rest.find(`/apis/apps/v1/namespaces/${releaseNs}/deployments/${releaseAll}-irisdb-operator`)).to.equal(null);
  });

  describe('installed with helm install (no operator pods)', () => {
    let saAll: string;
    let saScoped: string;
    const canI = async (as: string, args: string[]): Promise<'yes' | 'no'> => {
      const r = await env.kubectlResult(['auth', 'can-i', ...args, `--as=${as}`]);
      const answer = r.stdout.trim();
      if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i ${args.join(' ')} --as=${as}: exit ${r.code}, ${r.stdout}${r.stderr}`);
      return answer;
    };
    const expectAll = async (as: string, want: 'yes' | 'no', checks: string[][]): Promise<void> => {
      const got = await Promise.all(checks.map(async (c) => [c.join(' '), await canI(as, c)] as const));
      const wrong = got.filter(([, a]) => a !== want).map(([c]) => c);
      expect(wrong, `${as} should answer ${want} for these`).to.deep.equal([]);
    };

    before(async function () {
      // replicaCount=0: the RBAC, ServiceAccount and Deployment are real; no operator runs (test/e2e's operator specs run it).
      await helm.ok(['install', releaseAll, CHART, '--namespace', releaseNs, '--set', 'replicaCount=0']);
      installed.push(releaseAll);
      await helm.ok(['install', releaseScoped, CHART, '--namespace', releaseNs, '--set', 'replicaCount=0',
        '--set', `watchNamespaces={${watchedA},${watchedB}}`, '--set', 'leaderElectionId=scoped-lease', '--set', 'rbac.aggregateToDefaultRoles=false']);
      installed.push(releaseScoped);
      saAll = `system:serviceaccount:${releaseNs}:${releaseAll}-irisdb-operator`;
      saScoped = `system:serviceaccount:${releaseNs}:${releaseScoped}-irisdb-operator`;
    });

    it('installed the CRDs, the ServiceAccount and a Deployment of the chart', async () => {
      for (const crd of ['irisclusters.irisdb.io', 'irisbackups.irisdb.io']) {
        expect(await env.rest.find(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`), crd).not.to.equal(null);
      }
      expect(await env.rest.find(`/api/v1/namespaces/${releaseNs}/serviceaccounts/${releaseAll}-irisdb-operator`)).not.to.equal(null);
      const dep = await env.rest.get<Deployment>(`/apis/apps/v1/namespaces/${releaseNs}/deployments/${releaseAll}-irisdb-operator`);
      expect(dep.spec.template.spec.containers[0]!.image).to.equal(`irisdb/operator:${APP_VERSION}`);
      const status = await helm.ok(['status', releaseAll, '--namespace', releaseNs]);
      expect(status).to.contain('STATUS: deployed');
      expect(status, 'NOTES.txt').to.contain('kind: IrisCluster');
    });

    it('lets the all-namespaces operator do what it needs, in any namespace', async () => {
      await expectAll(saAll, 'yes', [
        ['list', 'irisclusters.irisdb.io', '--all-namespaces'],
        ['watch', 'irisclusters.irisdb.io', '--all-namespaces'],
        ['watch', 'irisbackups.irisdb.io', '--all-namespaces'],
        ['patch', 'irisclusters.irisdb.io', '-n', unwatched],
        ['update', 'irisclusters.irisdb.io', '--subresource=status', '-n', unwatched],
        ['update', 'irisbackups.irisdb.io', '--subresource=status', '-n', unwatched],
        ['update', 'irisclusters.irisdb.io', '--subresource=finalizers', '-n', unwatched],
        ['watch', 'statefulsets.apps', '--all-namespaces'],
        ['create', 'statefulsets.apps', '-n', unwatched],
        ['delete', 'statefulsets.apps', '-n', unwatched],
        ['create', 'services', '-n', unwatched],
        ['create', 'secrets', '-n', unwatched],
        ['update', 'configmaps', '-n', unwatched],
        ['create', 'poddisruptionbudgets.policy', '-n', unwatched],
        ['watch', 'pods', '--all-namespaces'],
        ['patch', 'pods', '-n', unwatched],
        ['delete', 'pods', '-n', unwatched],
        ['watch', 'persistentvolumeclaims', '--all-namespaces'],
        ['delete', 'persistentvolumeclaims', '-n', unwatched],
        ['create', 'events', '-n', unwatched],
        ['create', 'events.events.k8s.io', '-n', unwatched],
        ['create', 'leases.coordination.k8s.io', '-n', releaseNs],
        ['get', 'leases.coordination.k8s.io/irisdb-operator', '-n', releaseNs],
        ['update', 'leases.coordination.k8s.io/irisdb-operator', '-n', releaseNs],
      ]);
    });

    it('denies the all-namespaces operator everything else', async () => {
      await expectAll(saAll, 'no', [
        ['delete', 'nodes'],
        ['get', 'nodes'],
        ['create', 'namespaces'],
        ['create', 'clusterroles.rbac.authorization.k8s.io'],
        ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', unwatched],
        ['delete', 'customresourcedefinitions.apiextensions.k8s.io'],
        ['create', 'irisclusters.irisdb.io', '-n', unwatched],
        ['delete', 'irisclusters.irisdb.io', '-n', unwatched],
        ['create', 'pods', '-n', unwatched],
        ['create', 'pods', '--subresource=exec', '-n', unwatched],
        ['create', 'persistentvolumeclaims', '-n', unwatched],
        ['delete', 'persistentvolumes'],
        ['create', 'deployments.apps', '-n', unwatched],
        ['create', 'leases.coordination.k8s.io', '-n', unwatched],
        ['update', 'leases.coordination.k8s.io/irisdb-operator', '-n', unwatched],
        ['update', 'leases.coordination.k8s.io/another-lease', '-n', releaseNs],
        ['list', 'leases.coordination.k8s.io', '-n', releaseNs],
        ['create', 'serviceaccounts', '--subresource=token', '-n', unwatched],
        ['impersonate', 'serviceaccounts', '-n', unwatched],
      ]);
    });

    it('confines the watchNamespaces operator to its namespaces (and its Lease to its own)', async () => {
      for (const ns of [watchedA, watchedB]) {
        await expectAll(saScoped, 'yes', [
          ['watch', 'irisclusters.irisdb.io', '-n', ns],
          ['update', 'irisclusters.irisdb.io', '--subresource=status', '-n', ns],
          ['create', 'statefulsets.apps', '-n', ns],
          ['get', 'secrets', '-n', ns],
          ['patch', 'pods', '-n', ns],
          ['delete', 'persistentvolumeclaims', '-n', ns],
          ['create', 'events', '-n', ns],
        ]);
      }
      await expectAll(saScoped, 'yes', [
        ['update', 'leases.coordination.k8s.io/scoped-lease', '-n', releaseNs],
        ['create', 'events', '-n', releaseNs],
      ]);
      await expectAll(saScoped, 'no', [
        ['get', 'secrets', '-n', unwatched],
        ['list', 'secrets', '--all-namespaces'],
        ['list', 'irisclusters.irisdb.io', '--all-namespaces'],
        ['watch', 'irisclusters.irisdb.io', '-n', unwatched],
        ['get', 'irisclusters.irisdb.io', '-n', releaseNs],
        ['create', 'statefulsets.apps', '-n', unwatched],
        ['delete', 'pods', '-n', unwatched],
        ['update', 'leases.coordination.k8s.io/irisdb-operator', '-n', releaseNs],
        ['create', 'leases.coordination.k8s.io', '-n', watchedA],
        ['delete', 'nodes'],
        ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ]);
    });

    it('lets namespace editors and viewers use IrisClusters through the aggregated roles', async () => {
      const user = `e2e-editor-${suffix}`;
      const viewer = `e2e-viewer-${suffix}`;
      await env.kubectl(['create', 'rolebinding', 'e2e-edit', '--clusterrole=edit', `--user=${user}`, '-n', unwatched]);
      await env.kubectl(['create', 'rolebinding', 'e2e-view', '--clusterrole=view', `--user=${viewer}`, '-n', unwatched]);
      // The controller manager's clusterrole-aggregation controller merges the rules in.
      await waitFor('edit to include irisclusters', async () => (await canI(user, ['create', 'irisclusters.irisdb.io', '-n', unwatched])) === 'yes',
        { timeoutMs: 30000, intervalMs: 200 });
      await waitFor('view to include irisclusters', async () => (await canI(viewer, ['list', 'irisbackups.irisdb.io', '-n', unwatched])) === 'yes',
        { timeoutMs: 30000, intervalMs: 200 });
      expect(await canI(viewer, ['create', 'irisclusters.irisdb.io', '-n', unwatched])).to.equal('no');
      expect(await canI(user, ['update', 'irisclusters.irisdb.io', '--subresource=status', '-n', unwatched]), 'status belongs to the operator').to.equal('no');
    });

    it('helm uninstall removes the cluster-scoped RBAC and keeps the CRDs', async () => {
      await helm.ok(['uninstall', releaseScoped, '--namespace', releaseNs]);
      await helm.ok(['uninstall', releaseAll, '--namespace', releaseNs]);
      installed.splice(0);
      for (const name of [`${releaseAll}-irisdb-operator`, `${releaseAll}-irisdb-edit`, `${releaseAll}-irisdb-view`]) {
        expect(await env.rest.find(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`), name).to.equal(null);
      }
      expect(await env.rest.find(`/apis/rbac.authorization.k8s.io/v1/namespaces/${watchedA}/roles/${releaseScoped}-irisdb-operator`)).to.equal(null);
      // Helm never deletes CRDs (that would delete every IrisCluster).
      expect(await env.rest.find('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/irisclusters.irisdb.io')).not.to.equal(null);
    });
  });
});
