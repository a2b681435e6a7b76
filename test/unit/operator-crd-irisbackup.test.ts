/**
 * The IrisBackup CRD (helm/irisdb/crds/irisbackups.irisdb.io.yaml) read as
 * plain data: a required, immutable cluster, an optional destination with
 * exactly one target, the status fields and printer columns.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../support/kube/binaries.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  format?: string;
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; fieldPath?: string }>;
}
interface Crd {
  metadata: { name: string };
  spec: {
    group: string; scope: string; names: { kind: string; plural: string };
    versions: Array<{
      name: string; served: boolean; storage: boolean; subresources?: { status?: object };
      additionalPrinterColumns?: Array<{ name: string; jsonPath: string; priority?: number }>;
      schema: { openAPIV3Schema: Schema };
    }>;
  };
}

const crd = load(fs.readFileSync(path.join(REPO_ROOT, 'helm/irisdb/crds/irisbackups.irisdb.io.yaml'), 'utf8')) as Crd;
const version = crd.spec.versions[0]!;

function at(p: string): Schema {
  let s: Schema = version.schema.openAPIV3Schema;
  for (const part of p.split('.')) {
    const next = s.properties?.[part];
    if (next === undefined) throw new Error(`the IrisBackup schema has no ${p} (stopped at ${part})`);
    s = next;
  }
  return s;
}

describe('CRD irisbackups.irisdb.io (schema as data)', () => {
  it('is v1alpha1, namespaced, with the status subresource', () => {
    expect(crd.metadata.name).to.equal('irisbackups.irisdb.io');
    expect(crd.spec).to.include({ group: 'irisdb.io', scope: 'Namespaced' });
    expect(crd.spec.names).to.include({ kind: 'IrisBackup', plural: 'irisbackups' });
    expect(version).to.include({ name: 'v1alpha1', served: true, storage: true });
    expect(version.subresources?.status).to.deep.equal({});
  });

  it('requires an immutable cluster and takes an optional, immutable destination', () => {
    expect(version.schema.openAPIV3Schema.required).to.deep.equal(['spec']);
    expect(at('spec').required).to.deep.equal(['cluster']);
    expect(Object.keys(at('spec').properties ?? {})).to.have.members(['cluster', 'destination', 'maxBytesPerSecond']);
    expect(at('spec.cluster')['x-kubernetes-validations']?.[0]).to.include({ rule: 'self == oldSelf' });
    expect(at('spec.cluster')['x-kubernetes-validations']?.[0]?.message).to.match(/cluster is immutable/);
    const dest = at('spec')['x-kubernetes-validations']?.find((r) => r.fieldPath === '.destination');
    expect(dest?.rule).to.contain('self.destination == oldSelf.destination');
    expect(Object.keys(at('spec.destination').properties ?? {})).to.have.members(['s3', 'pvc']);
    expect(at('spec.destination')['x-kubernetes-validations']?.[0]?.rule).to.equal('has(self.s3) != has(self.pvc)');
  });

  it('uses the same destination schema as IrisCluster spec.backup.destination', () => {
    const cluster = load(fs.readFileSync(path.join(REPO_ROOT, 'helm/irisdb/crds/irisclusters.irisdb.io.yaml'), 'utf8')) as Crd;
    const clusterDest = cluster.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.backup!.properties!.destination!;
    const strip = (s: Schema): string => JSON.stringify(s, (k, v: unknown) => (k === 'description' ? undefined : v));
    expect(strip(at('spec.destination'))).to.equal(strip(clusterDest));
  });

  it('describes the status fields', () => {
    expect(Object.keys(at('status').properties ?? {})).to.have.members(['phase', 'backupId', 'destination', 'shardsDone', 'shardsTotal', 'shards', 'startTime', 'completionTime', 'message', 'bytes', 'keys']);
    expect(at('status.phase').enum).to.deep.equal(['Pending', 'Running', 'Completed', 'Failed']);
    expect(at('status.startTime')).to.include({ type: 'string', format: 'date-time' });
    expect(at('status.completionTime')).to.include({ type: 'string', format: 'date-time' });
    expect(at('status.bytes').type).to.equal('integer');
    expect(at('status.keys').type).to.equal('integer');
  });

  it('has printer columns for the cluster, phase and age', () => {
    const cols = (version.additionalPrinterColumns ?? []).filter((c) => (c.priority ?? 0) === 0).map((c) => [c.name, c.jsonPath]);
    expect(cols).to.deep.include(['Cluster', '.spec.cluster']);
    expect(cols).to.deep.include(['Phase', '.status.phase']);
    expect(cols[cols.length - 1]).to.deep.equal(['Age', '.metadata.creationTimestamp']);
  });
});
