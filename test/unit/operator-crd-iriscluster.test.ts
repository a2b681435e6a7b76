/**
 * The IrisCluster CRD (helm/irisdb/crds/irisclusters.irisdb.io.yaml) read as
 * plain data: every spec field of docs/architecture.md §5 with its default and limits, the
 * CEL rules, the status fields and printer columns. Defaults and ranges are
 * compared with the code that enforces them (operator/core/spec.ts,
 * node/config/schema.ts, operator/core/naming.ts), so the two cannot drift.
 * The API server's own behaviour is test/e2e/iriscluster-crd.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { MAX_CLUSTER_NAME } from '../../operator/core/naming.js';
import { DEFAULT_SPEC, SPEC_LIMITS } from '../../operator/core/spec.js';
import { SETTINGS } from '../../node/config/schema.js';
import { REPO_ROOT } from '../support/kube/binaries.js';

interface Rule { rule: string; message?: string; fieldPath?: string }
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: unknown[];
  nullable?: boolean;
  anyOf?: Schema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: Rule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}
interface Column { name: string; type: string; jsonPath: string; priority?: number }
interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string };
    versions: Array<{
      name: string; served: boolean; storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: Column[];
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

const crd = load(fs.readFileSync(path.join(REPO_ROOT, 'helm/irisdb/crds/irisclusters.irisdb.io.yaml'), 'utf8')) as Crd;
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;

/** The schema at a dotted path ("spec.replication.fsync"); array items by "[]". */
function at(p: string): Schema {
  let s: Schema = root;
  for (const part of p.split('.')) {
    const next = part === '[]' ? s.items : s.properties?.[part];
    if (next === undefined) throw new Error(`the IrisCluster schema has no ${p} (stopped at ${part})`);
    s = next;
  }
  return s;
}

/** The node setting `key` from node/config/schema.ts. */
function setting(key: string): { default: unknown; min?: number; max?: number; values?: readonly string[] } {
  const def = SETTINGS.find((d) => d.key === key);
  if (def === undefined) throw new Error(`node setting ${key} is missing`);
  return def as unknown as { default: unknown; min?: number; max?: number; values?: readonly string[] };
}

/** Every schema node below `s`, with its path, to look for forbidden keywords. */
function* walk(s: Schema, p = ''): Generator<[string, Schema]> {
  yield [p, s];
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* walk(v, p === '' ? k : `${p}.${k}`);
  if (s.items !== undefined) yield* walk(s.items, `${p}.[]`);
  if (typeof s.additionalProperties === 'object') yield* walk(s.additionalProperties, `${p}.*`);
  for (const a of s.anyOf ?? []) yield* walk(a, p);
}

describe('CRD irisclusters.irisdb.io (schema as data)', () => {
  it('is v1alpha1, namespaced, served and stored, with the status subresource', () => {
    expect(crd.metadata.name).to.equal('irisclusters.irisdb.io');
    expect(crd.spec.group).to.equal('irisdb.io');
    expect(crd.spec.scope).to.equal('Namespaced');
    expect(crd.spec.names).to.include({ kind: 'IrisCluster', plural: 'irisclusters' });
    expect(crd.spec.versions).to.have.length(1);
    expect(version).to.include({ name: 'v1alpha1', served: true, storage: true });
    expect(version.subresources?.status).to.deep.equal({});
  });

  it('has every spec field of the design', () => {
    expect(Object.keys(at('spec').properties ?? {})).to.have.members([
      'shards', 'replicasPerShard', 'image', 'imagePullPolicy', 'storage', 'resources', 'replication', 'failover',
      'backup', 'bootstrap', 'auth', 'tls', 'encryption', 'monitoring', 'scheduling', 'paused',
    ]);
  });

  it('defaults and limits the shape as operator/core/spec.ts does', () => {
    expect(at('spec.shards')).to.include({ type: 'integer', default: DEFAULT_SPEC.shards, minimum: SPEC_LIMITS.shards.min, maximum: SPEC_LIMITS.shards.max });
    expect(at('spec.shards')).to.include({ default: 3, minimum: 1, maximum: 128 });
    expect(at('spec.replicasPerShard')).to.include({ type: 'integer', default: DEFAULT_SPEC.replicasPerShard, minimum: SPEC_LIMITS.replicasPerShard.min, maximum: SPEC_LIMITS.replicasPerShard.max });
    expect(at('spec.replicasPerShard')).to.include({ default: 1, minimum: 0, maximum: 5 });
    expect(at('spec.replication.minSyncReplicas')).to.include({ type: 'integer', default: DEFAULT_SPEC.minSyncReplicas, minimum: SPEC_LIMITS.minSyncReplicas.min, maximum: SPEC_LIMITS.minSyncReplicas.max });
    expect(at('spec.failover.heartbeatMs')).to.include({ type: 'integer', default: DEFAULT_SPEC.heartbeatMs, minimum: SPEC_LIMITS.heartbeatMs.min, maximum: SPEC_LIMITS.heartbeatMs.max });
    expect(at('spec.failover.heartbeatMs')).to.include({ default: 500, minimum: 50, maximum: 60000 });
    expect(at('spec.failover.failureThreshold')).to.include({ type: 'integer', default: DEFAULT_SPEC.failureThreshold, minimum: SPEC_LIMITS.failureThreshold.min, maximum: SPEC_LIMITS.failureThreshold.max });
    expect(at('spec.failover.failureThreshold')).to.include({ default: 3, minimum: 1, maximum: 100 });
    expect(at('spec.paused')).to.include({ type: 'boolean', default: false });
  });

  it('does not tie minSyncReplicas to replicasPerShard: the nodes cap it (documented)', () => {
    const rules = [...walk(at('spec'))].flatMap(([, s]) => s['x-kubernetes-validations'] ?? []);
    expect(rules.map((r) => r.rule).join('\n')).not.to.contain('minSyncReplicas');
    expect(JSON.stringify(at('spec.replication.minSyncReplicas'))).to.match(/[Cc]apped at replicasPerShard/);
  });

  it('defaults and limits replication as the node settings (node/config/schema.ts)', () => {
    expect(at('spec.replication.fsync')).to.include({ type: 'string', default: setting('fsync').default });
    expect(at('spec.replication.fsync').enum).to.deep.equal([...(setting('fsync').values ?? [])]);
    expect(at('spec.replication.fsync').enum).to.deep.equal(['always', 'batch']);
    // As the core's dataDurability (operator/core/spec.ts): strict unless asked otherwise.
    expect(at('spec.replication.dataDurability')).to.include({ type: 'string', default: 'required' });
    expect(at('spec.replication.dataDurability').enum).to.deep.equal(['required', 'preferred']);
    const ack = setting('ackTimeoutMs');
    expect(at('spec.replication.ackTimeoutMs')).to.include({ type: 'integer', default: ack.default, minimum: ack.min, maximum: ack.max });
    // The node accepts more replicas than a shard may have; the CRD's tighter bound is the shard's.
    expect(at('spec.replication.minSyncReplicas').maximum).to.be.at.most(setting('minSyncReplicas').max!);
  });

  it('defaults the image and enumerates the pull policy', () => {
    expect(at('spec.image')).to.include({ type: 'string', default: 'irisdb/node:0.1.0', minLength: 1 });
    expect(at('spec.imagePullPolicy').enum).to.have.members(['Always', 'IfNotPresent', 'Never']);
    expect(at('spec.imagePullPolicy').default, 'unset follows Kubernetes').to.equal(undefined);
  });

  it('gives objects with defaulted children a default of {}, so an empty spec is fully defaulted', () => {
    for (const p of ['spec', 'spec.storage', 'spec.replication', 'spec.failover', 'spec.tls', 'spec.monitoring']) {
      expect(at(p).default, p).to.deep.equal({});
    }
    // Optional features stay absent unless asked for.
    for (const p of ['spec.backup', 'spec.bootstrap', 'spec.auth', 'spec.resources', 'spec.scheduling']) {
      expect(at(p).default, p).to.equal(undefined);
    }
  });

  it('takes storage sizes and resources as Kubernetes quantities', () => {
    for (const p of ['spec.storage.size', 'spec.resources.requests.cpu', 'spec.resources.requests.memory', 'spec.resources.limits.cpu', 'spec.resources.limits.memory']) {
      const q = at(p);
      expect(q['x-kubernetes-int-or-string'], p).to.equal(true);
      expect(q.anyOf, p).to.deep.equal([{ type: 'integer' }, { type: 'string' }]);
      expect(q.pattern, p).to.be.a('string');
    }
    expect(at('spec.storage.size').default).to.equal('1Gi');
    expect(Object.keys(at('spec.resources.requests').properties ?? {})).to.have.members(['cpu', 'memory']);
  });

  it('the quantity pattern accepts quantities and rejects other strings (property)', () => {
    const re = new RegExp(at('spec.storage.size').pattern!);
    const suffix = fc.constantFrom('', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E', 'e3', 'E-2');
    fc.assert(fc.property(fc.nat(), fc.option(fc.nat({ max: 999 }), { nil: undefined }), suffix, (n, frac, sfx) => {
      expect(re.test(`${n}${frac === undefined ? '' : `.${frac}`}${sfx}`)).to.equal(true);
    }));
    fc.assert(fc.property(fc.nat(), fc.constantFrom('Gb', 'gi', 'MB', 'x', ' Gi', 'Gi ', 'KiB', '--1'), (n, bad) => {
      expect(re.test(`${n}${bad}`)).to.equal(false);
    }));
    for (const bad of ['', 'lots', 'Gi', '1.2.3Gi']) expect(re.test(bad), bad).to.equal(false);
  });

  it('makes storageClassName and bootstrap immutable with CEL transition rules', () => {
    const storageRules = at('spec.storage')['x-kubernetes-validations'] ?? [];
    expect(storageRules).to.have.length(2);
    // Volumes are not resized, so a new size would be accepted and ignored: it is fixed at creation too.
    expect(storageRules[1]).to.include({ fieldPath: '.size' });
    expect(storageRules[1]!.rule).to.contain('self.size == oldSelf.size');
    expect(storageRules[1]!.message).to.match(/^storage\.size cannot change yet/);
    expect(storageRules[0]!.rule).to.contain('self.storageClassName == oldSelf.storageClassName');
    // Setting or removing the class counts as a change too, not only editing it.
    expect(storageRules[0]!.rule).to.contain('has(self.storageClassName) == has(oldSelf.storageClassName)');
    expect(storageRules[0]).to.include({ fieldPath: '.storageClassName' });
    expect(storageRules[0]!.message).to.match(/storageClassName is immutable/);
    expect(at('spec.storage.storageClassName')).to.include({ type: 'string', maxLength: 253 });

    const specRules = at('spec')['x-kubernetes-validations'] ?? [];
    const bootstrap = specRules.find((r) => r.fieldPath === '.bootstrap');
    expect(bootstrap?.rule).to.contain('self.bootstrap == oldSelf.bootstrap');
    expect(bootstrap?.rule).to.contain('has(self.bootstrap) == has(oldSelf.bootstrap)');
    expect(bootstrap?.message).to.match(/bootstrap is immutable/);
    // Exactly one of name (an IrisBackup here) or destination (a backup of another namespace, in S3 or on a claim re-bound here).
    expect((at('spec.bootstrap.fromBackup')['x-kubernetes-validations'] ?? []).map((r) => r.rule)).to.deep.equal(['has(self.name) != has(self.destination)', '!has(self.backupId) || has(self.destination)']);
    expect(Object.keys(at('spec.bootstrap.fromBackup.destination').properties ?? {})).to.have.members(['s3', 'pvc']);
  });

  it('limits the cluster name as operator/core/naming.ts does', () => {
    const name = at('metadata.name');
    expect(name.maxLength).to.equal(MAX_CLUSTER_NAME);
    expect(name['x-kubernetes-validations']?.[0]?.rule).to.contain('self.matches(');
  });

  it('describes scheduled backups with a cron schedule, a retention and exactly one destination', () => {
    expect(at('spec.backup').required).to.have.members(['schedule', 'destination']);
    const cron = new RegExp(at('spec.backup.schedule').pattern!);
    // A sixth, leading field is seconds, as the core's parser (and irisctl local up --backup-schedule) takes it.
    for (const good of ['0 3 * * *', '*/15 * * * 1-5', '@daily', '@hourly', '*/30 * * * * *']) expect(cron.test(good), good).to.equal(true);
    for (const bad of ['', '0 3 * *', '0 0 3 * * * *', '@often', 'daily']) expect(cron.test(bad), bad).to.equal(false);
    expect(at('spec.backup.retention')).to.include({ type: 'integer', minimum: 1, default: 7 });
    expect(Object.keys(at('spec.backup.destination').properties ?? {})).to.have.members(['s3', 'pvc']);
    expect(Object.keys(at('spec.backup.destination.s3').properties ?? {})).to.include.members(['bucket', 'prefix', 'endpoint', 'secretRef']);
    expect(at('spec.backup.destination.s3').required).to.deep.equal(['bucket']);
    expect(at('spec.backup.destination.pvc').required).to.deep.equal(['claimName']);
    expect(at('spec.backup.destination')['x-kubernetes-validations']?.[0]?.rule).to.equal('has(self.s3) != has(self.pvc)');
  });

  it('describes auth, tls and monitoring', () => {
    expect(at('spec.auth.secretRef').required).to.deep.equal(['name']);
    expect(at('spec.auth.secretRef.key')).to.include({ type: 'string', default: 'password' });
    expect(at('spec.tls.enabled')).to.include({ type: 'boolean', default: false });
    expect(at('spec.auth')['x-kubernetes-validations']?.[0]?.rule).to.equal('has(self.secretRef) || has(self.aclSecretRef)');
    expect(at('spec.auth.aclSecretRef.key')).to.include({ type: 'string', default: 'users.acl' });
    expect(at('spec.tls')['x-kubernetes-validations']?.[0]?.message).to.match(/tls\.secretRef needs tls\.enabled: true/);
    // spec.tls.certManager: an issuerRef (Issuer by default, cert-manager.io), needs TLS on, exclusive with secretRef.
    expect(at('spec.tls.certManager').required).to.deep.equal(['issuerRef']);
    expect(at('spec.tls.certManager.issuerRef').required).to.deep.equal(['name']);
    expect(at('spec.tls.certManager.issuerRef.kind')).to.deep.include({ default: 'Issuer', enum: ['Issuer', 'ClusterIssuer'] });
    expect(at('spec.tls.certManager.issuerRef.group')).to.include({ default: 'cert-manager.io' });
    const duration = new RegExp(at('spec.tls.certManager.duration').pattern ?? '');
    expect(['2160h', '1h30m', '90.5m'].every((d) => duration.test(d))).to.equal(true);
    expect(['90d', '1 h', '', 'h'].some((d) => duration.test(d))).to.equal(false);
    const tlsRules = (at('spec.tls')['x-kubernetes-validations'] ?? []).map((r) => r.message);
    expect(tlsRules).to.include.members(['tls.certManager needs tls.enabled: true']);
    expect(tlsRules.some((m) => /tls\.secretRef and tls\.certManager are exclusive/.test(m ?? ''))).to.equal(true);
    // spec.encryption: a keyring Secret (key defaults to "keyring"); once set it cannot be removed (a transition rule on spec).
    expect(at('spec.encryption').required).to.deep.equal(['keySecretRef']);
    expect(at('spec.encryption.keySecretRef').required).to.deep.equal(['name']);
    expect(at('spec.encryption.keySecretRef.key')).to.include({ type: 'string', default: 'keyring' });
    const removal = (at('spec')['x-kubernetes-validations'] ?? []).find((r) => r.fieldPath === '.encryption');
    expect(removal?.rule).to.equal('!has(oldSelf.encryption) || has(self.encryption)');
    expect(removal?.message).to.match(/^encryption cannot be removed/);
    expect(at('spec.monitoring.enabled')).to.include({ type: 'boolean', default: false });
    expect(at('spec.monitoring.serviceMonitor')).to.include({ type: 'boolean', default: false });
  });

  it('keeps unknown fields only inside core scheduling types and the controller record', () => {
    const preserved = [...walk(root)].filter(([, s]) => s['x-kubernetes-preserve-unknown-fields'] === true).map(([p]) => p);
    expect(preserved).to.have.members([
      'spec.scheduling.affinity', 'spec.scheduling.tolerations.[]', 'spec.scheduling.topologySpreadConstraints.[]', 'status.controllerState',
    ]);
    expect(at('spec.scheduling.nodeSelector').additionalProperties).to.deep.equal({ type: 'string' });
  });

  it('writes resources out field by field (no preserved unknown fields there)', () => {
    for (const [p, s] of walk(at('spec.resources'), 'spec.resources')) {
      expect(s['x-kubernetes-preserve-unknown-fields'], p).to.equal(undefined);
    }
  });

  it('describes the status fields', () => {
    expect(Object.keys(at('status').properties ?? {})).to.have.members([
      'phase', 'conditions', 'observedGeneration', 'ready', 'readyNodes', 'nodes', 'shards', 'migration', 'lastBackup', 'firstRecoverabilityPoint', 'lastArchivedTime',
      'request', 'tls', 'controllerState',
    ]);
    expect(at('status.phase').enum).to.deep.equal(['Bootstrapping', 'Ready', 'Degraded', 'Unavailable', 'Deleting']);
    const conditions = at('status.conditions');
    expect(conditions).to.include({ 'x-kubernetes-list-type': 'map' });
    expect(conditions['x-kubernetes-list-map-keys']).to.deep.equal(['type']);
    expect(Object.keys(at('status.conditions.[]').properties ?? {})).to.have.members(['type', 'status', 'reason', 'message', 'lastTransitionTime', 'observedGeneration']);
    expect(at('status.conditions.[].status').enum).to.deep.equal(['True', 'False', 'Unknown']);
    expect(Object.keys(at('status.shards.[]').properties ?? {})).to.have.members(['id', 'slots', 'slotCount', 'primary', 'primaryUp', 'targetPrimary', 'epoch', 'replicas', 'failover']);
    expect(Object.keys(at('status.shards.[].replicas.[]').properties ?? {})).to.have.members(['name', 'lagOps', 'lagMs', 'link']);
    expect(at('status.shards.[].failover')).to.include({ type: 'string', nullable: true });
    expect(Object.keys(at('status.migration').properties ?? {})).to.have.members(['operation', 'stage', 'movesDone', 'movesTotal', 'slotsDone', 'slotsTotal', 'keysMoved']);
    expect(Object.keys(at('status.lastBackup').properties ?? {})).to.have.members(['name', 'id', 'phase', 'time']);
    expect(at('status.readyNodes').type).to.equal('integer');
    expect(at('status.nodes').type).to.equal('integer');
    // Requests through the irisdb.io/request annotation, acknowledged by the operator (operator/kube/request.ts).
    expect(Object.keys(at('status.request').properties ?? {})).to.have.members(['annotation', 'phase', 'message', 'operation', 'time']);
    expect(at('status.request.phase').enum).to.deep.equal(['Handling', 'Started', 'Refused', 'Interrupted']);
    expect(at('status.controllerState')).to.include({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    // spec.tls: expiries and the operator CA's rotation (operator/kube/reconcile/tls-status.ts).
    expect(Object.keys(at('status.tls').properties ?? {})).to.have.members(['certificateNotAfter', 'caNotAfter', 'caRotation']);
    expect(Object.keys(at('status.tls.caRotation').properties ?? {})).to.have.members(['phase', 'message', 'reason', 'lastTransitionTime']);
    expect(at('status.tls.caRotation.phase').enum).to.deep.equal(['TrustBoth', 'ServeNew', 'DropOld', 'Done']);
  });

  it('has the printer columns Shards, Ready, Phase, Age', () => {
    const cols = (version.additionalPrinterColumns ?? []).filter((c) => (c.priority ?? 0) === 0);
    expect(cols.map((c) => [c.name, c.jsonPath])).to.deep.equal([
      ['Shards', '.spec.shards'], ['Ready', '.status.ready'], ['Phase', '.status.phase'], ['Age', '.metadata.creationTimestamp'],
    ]);
    expect(cols.map((c) => c.type)).to.deep.equal(['integer', 'string', 'string', 'date']);
  });
});
