/**
 * The pod template and StatefulSet builders (operator/kube/build/): what
 * every node pod runs with, the defaults, and the rule that the template
 * depends on the IrisCluster spec only — upgrading the operator never
 * rewrites a running cluster's templates (docs/architecture.md §5).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { allowedHosts, podTemplate, DATA_DIR } from '../../operator/kube/build/pod-template.js';
import { hostAllowed } from '../../common/http-browser-guard.js';
import { podSpecHash } from '../../operator/kube/build/spec-hash.js';
import { statefulSet, templateOutdated, withTemplateOf } from '../../operator/kube/build/statefulset.js';
import type { IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';
import { ANNOTATION_SPEC_HASH } from '../../operator/kube/names.js';

const CR: IrisCluster = { metadata: { name: 'iris', namespace: 'db', uid: 'uid-1', generation: 3 }, spec: { image: 'registry.example/irisdb/node:1.2.3' } };

function nodeContainer(t: V1PodTemplateSpec): V1Container {
  return t.spec!.containers.find((c) => c.name === 'node')!;
}

function envOf(c: V1Container): Record<string, unknown> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
}

describe('operator/kube pod template', () => {
  it('lets HTTP clients name the cluster\'s Services and pods by their short and namespaced names, nothing else', () => {
    const c = nodeContainer(podTemplate('iris', 0, CR.spec!));
    const env = envOf(c);
    expect(env.IRIS_HTTP_ALLOWED_HOSTS).to.equal(allowedHosts('iris'));
    expect(env.POD_NAMESPACE).to.deep.equal({ fieldRef: { fieldPath: 'metadata.namespace' } });
    // As the kubelet expands $(POD_NAMESPACE) in namespace db:
    const patterns = allowedHosts('iris').replaceAll('$(POD_NAMESPACE)', 'db').split(',');
    for (const host of ['iris', 'iris:8080', 'iris.db', 'iris.db.svc', 'iris.db.svc.cluster.local', 'iris-nodes.db', 'iris-shard-0-1.iris-nodes', 'iris-shard-0-1.iris-nodes.db:8080']) {
      expect(hostAllowed(host, patterns), host).to.equal(true);
    }
    for (const host of ['evil.example', 'iris.evil', 'iris.other', 'xiris', 'iris-nodes.evil.example']) {
      expect(hostAllowed(host, patterns), host).to.equal(false);
    }
  });

  it('runs the image of the spec with the node flags, identity from the downward API and the token from the Secret', () => {
    const t = podTemplate('iris', 2, CR.spec!);
    const c = nodeContainer(t);
    expect(c.image).to.equal('registry.example/irisdb/node:1.2.3');
    expect(c.args).to.deep.equal(['--port', '6379', '--http-port', '8080', '--bus-port', '16379', '--data-dir', DATA_DIR]);
    expect(DATA_DIR).to.equal('/var/lib/irisdb/data');
    const env = envOf(c);
    expect(env.IRIS_BIND).to.deep.equal({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(env.IRIS_ANNOUNCE_HOST).to.deep.equal({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(env.IRIS_NODE_NAME).to.deep.equal({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.IRIS_CLUSTER_ENABLED).to.equal('yes');
    expect(env.IRIS_ADMIN_TOKEN).to.deep.equal({ secretKeyRef: { name: 'iris-token', key: 'token' } });
    expect([env.IRIS_MIN_SYNC_REPLICAS, env.IRIS_FSYNC, env.IRIS_ACK_TIMEOUT_MS]).to.deep.equal(['1', 'always', '2000']);
    expect(t.metadata?.labels).to.include({ 'app.kubernetes.io/name': 'irisdb', 'app.kubernetes.io/instance': 'iris', 'irisdb.io/shard': '2' });
    // Service links would inject IRIS_PORT=tcp://... for a Service named "iris": a node setting.
    expect(t.spec?.enableServiceLinks).to.equal(false);
  });

  it('takes replication settings and resources from the spec', () => {
    const spec: IrisClusterSpec = {
      replication: { minSyncReplicas: 2, fsync: 'batch', ackTimeoutMs: 500 },
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
    };
    const c = nodeContainer(podTemplate('iris', 0, spec));
    const env = envOf(c);
    expect([env.IRIS_MIN_SYNC_REPLICAS, env.IRIS_FSYNC, env.IRIS_ACK_TIMEOUT_MS]).to.deep.equal(['2', 'batch', '500']);
    expect(c.resources).to.deep.equal(spec.resources);
    expect(c.image).to.equal('irisdb/node:0.1.0');
  });

  it('takes the image pull policy from the spec, and leaves it to Kubernetes when unset', () => {
    expect(nodeContainer(podTemplate('iris', 0, { imagePullPolicy: 'Never' })).imagePullPolicy).to.equal('Never');
    expect(nodeContainer(podTemplate('iris', 0, {}))).to.not.have.property('imagePullPolicy');
  });

  it('probes /readyz and /healthz on the HTTP port and runs locked down', () => {
    const t = podTemplate('iris', 0, {});
    const c = nodeContainer(t);
    expect(c.readinessProbe?.httpGet).to.deep.equal({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'http' });
    expect(c.ports?.find((p) => p.name === 'http')?.containerPort).to.equal(8080);
    expect(c.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.securityContext?.capabilities?.drop).to.deep.equal(['ALL']);
    expect(t.spec?.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 65532 });
    expect(c.volumeMounts?.map((m) => m.mountPath)).to.include.members(['/var/lib/irisdb', '/tmp']);
  });

  it('spreads a shard\'s pods across Kubernetes nodes by default, and takes the spec\'s scheduling as given', () => {
    const dflt = podTemplate('iris', 1, {}).spec!.affinity!;
    const term = dflt.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution![0]!;
    expect(term.podAffinityTerm.topologyKey).to.equal('kubernetes.io/hostname');
    expect(term.podAffinityTerm.labelSelector?.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'irisdb', 'app.kubernetes.io/instance': 'iris', 'irisdb.io/shard': '1' });
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }] } } };
    const spec: IrisClusterSpec = { scheduling: { affinity, tolerations: [{ key: 'db', operator: 'Exists' }], nodeSelector: { pool: 'db' }, topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' }] } };
    const s = podTemplate('iris', 1, spec).spec!;
    expect(s.affinity).to.deep.equal(affinity);
    expect(s.tolerations).to.deep.equal(spec.scheduling!.tolerations);
    expect(s.nodeSelector).to.deep.equal({ pool: 'db' });
    expect(s.topologySpreadConstraints).to.deep.equal(spec.scheduling!.topologySpreadConstraints);
  });

  it('is a function of the spec alone: the image is always the spec\'s, never the operator\'s', () => {
    const specArb = fc.record({
      image: fc.option(fc.stringMatching(/^[a-z]{1,8}\/[a-z]{1,8}:[0-9]\.[0-9]$/), { nil: undefined }),
      replication: fc.option(fc.record({ minSyncReplicas: fc.integer({ min: 0, max: 5 }), fsync: fc.constantFrom('always' as const, 'batch' as const) }), { nil: undefined }),
    });
    fc.assert(fc.property(specArb, fc.integer({ min: 0, max: 127 }), (spec, shard) => {
      const a = podTemplate('iris', shard, spec);
      const b = podTemplate('iris', shard, JSON.parse(JSON.stringify(spec)) as IrisClusterSpec);
      expect(a).to.deep.equal(b);
      expect(nodeContainer(a).image).to.equal(spec.image ?? 'irisdb/node:0.1.0');
      expect(JSON.stringify(a)).to.not.contain('irisdb/operator');
    }));
  });
});

describe('operator/kube StatefulSet', () => {
  it('is one per shard: Parallel, OnDelete, claims deleted with their pods, owned by the IrisCluster', () => {
    const sts = statefulSet({ ...CR, spec: { ...CR.spec, storage: { size: '5Gi', storageClassName: 'fast' } } }, 1, 3);
    expect(sts.metadata?.name).to.equal('iris-shard-1');
    expect(sts.spec).to.deep.include({ replicas: 3, serviceName: 'iris-nodes', podManagementPolicy: 'Parallel' });
    expect(sts.spec?.updateStrategy).to.deep.equal({ type: 'OnDelete' });
    expect(sts.spec?.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: 'Delete', whenScaled: 'Delete' });
    expect(sts.spec?.selector.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'irisdb', 'app.kubernetes.io/instance': 'iris', 'irisdb.io/shard': '1' });
    const claim = sts.spec!.volumeClaimTemplates![0]!;
    expect(claim.metadata?.name).to.equal('data');
    expect(claim.spec?.resources?.requests).to.deep.equal({ storage: '5Gi' });
    expect(claim.spec?.storageClassName).to.equal('fast');
    expect(sts.metadata?.ownerReferences).to.deep.equal([{ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', name: 'iris', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    expect(sts.metadata?.annotations?.[ANNOTATION_SPEC_HASH]).to.equal(podSpecHash(CR.spec!));
  });

  it('rewrites a template only when the spec changed, whatever the current operator would build', () => {
    const running = statefulSet(CR, 0, 2);
    // A template written by another operator version: different content, same spec hash.
    const older = { ...running, spec: { ...running.spec!, template: { ...running.spec!.template, spec: { ...running.spec!.template.spec!, terminationGracePeriodSeconds: 99 } } } };
    expect(templateOutdated(older, CR), 'same spec, other operator version').to.equal(false);
    const changed: IrisCluster = { ...CR, spec: { ...CR.spec, image: 'irisdb/node:2.0.0' } };
    expect(templateOutdated(older, changed)).to.equal(true);
    // Key order and unrelated fields do not count.
    expect(podSpecHash({ image: 'a', replication: { fsync: 'batch', minSyncReplicas: 1 } })).to.equal(podSpecHash({ replication: { minSyncReplicas: 1, fsync: 'batch' }, image: 'a', shards: 9, paused: true }));
  });

  it('keeps replicas and claim templates when the template is rewritten', () => {
    const current = { ...statefulSet(CR, 0, 4), spec: { ...statefulSet(CR, 0, 4).spec!, replicas: 5 } };
    const desired = statefulSet({ ...CR, spec: { image: 'irisdb/node:2.0.0', storage: { size: '9Gi' } } }, 0, 1);
    const next = withTemplateOf(current, desired);
    expect(next.spec?.replicas).to.equal(5);
    expect(next.spec?.volumeClaimTemplates).to.deep.equal(current.spec.volumeClaimTemplates);
    expect(nodeContainer(next.spec!.template).image).to.equal('irisdb/node:2.0.0');
    expect(next.metadata?.annotations?.[ANNOTATION_SPEC_HASH]).to.equal(podSpecHash({ image: 'irisdb/node:2.0.0', storage: { size: '9Gi' } }));
  });
});
