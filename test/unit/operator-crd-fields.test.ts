/**
 * No CRD field is accepted and ignored (issue #14 item 3): every leaf of the
 * IrisCluster and IrisBackup schemas is in the audit table
 * (test/support/crd-audit.ts) — honoured by named operator code with a unit
 * test, refused at admission by a CEL rule saying it is not supported yet,
 * status the operator writes, or the API server's own. A field added to a
 * schema without an entry fails here. The API server's refusals are proven
 * in test/e2e/iriscluster-crd.test.ts.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../support/kube/binaries.js';
import { type CrdKind, type FieldAudit, GATES, IRISBACKUP_FIELDS, IRISCLUSTER_FIELDS } from '../support/crd-audit.js';

interface Rule { rule: string; message?: string; fieldPath?: string }
interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  'x-kubernetes-validations'?: Rule[];
}

function schemaOf(file: string): Schema {
  const crd = load(fs.readFileSync(path.join(REPO_ROOT, 'helm/irisdb/crds', file), 'utf8')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

/** Every leaf: a schema without properties (scalars, maps, preserved objects, arrays of those); "[]" steps into array items with properties. */
export function leaves(s: Schema, p = ''): string[] {
  const props = Object.entries(s.properties ?? {});
  if (props.length > 0) return props.flatMap(([k, v]) => leaves(v, p === '' ? k : `${p}.${k}`));
  if (s.items !== undefined && Object.keys(s.items.properties ?? {}).length > 0) return leaves(s.items, `${p}[]`);
  return [p];
}

/** Every CEL rule of the schema, with the path of the schema node it sits on. */
function rules(s: Schema, p = ''): Array<Rule & { at: string }> {
  const own = (s['x-kubernetes-validations'] ?? []).map((r) => ({ ...r, at: p }));
  const children = Object.entries(s.properties ?? {}).flatMap(([k, v]) => rules(v, p === '' ? k : `${p}.${k}`));
  return [...own, ...(s.items !== undefined ? rules(s.items, `${p}[]`) : []), ...children];
}

const KINDS: Array<[CrdKind, string, Readonly<Record<string, FieldAudit>>]> = [
  ['IrisCluster', 'irisclusters.irisdb.io.yaml', IRISCLUSTER_FIELDS],
  ['IrisBackup', 'irisbackups.irisdb.io.yaml', IRISBACKUP_FIELDS],
];

const source = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

describe('CRD field audit: every field is honoured or rejected at admission', () => {
  for (const [kind, file, table] of KINDS) {
    const root = schemaOf(file);

    it(`${kind}: the table lists exactly the schema's leaves`, () => {
      const fields = leaves(root);
      const missing = fields.filter((f) => table[f] === undefined);
      expect(missing, `schema fields with no audit entry in test/support/crd-audit.ts (honoured by what? or rejected?)`).to.deep.equal([]);
      expect(Object.keys(table).filter((f) => !fields.includes(f)), 'audit entries for fields the schema does not have').to.deep.equal([]);
    });

    it(`${kind}: every honoured field is used by the file named and shown by its unit test`, () => {
      for (const [field, a] of Object.entries(table)) {
        if (a.kind !== 'honoured') continue;
        expect(source(a.by), `${field}: ${a.by} should mention ${a.token}`).to.contain(a.token);
        expect(source(a.test), `${field}: ${a.test} should mention ${a.token}`).to.contain(a.token);
      }
    });

    it(`${kind}: every status field is written by the file named, or by nothing while its feature is refused`, () => {
      for (const [field, a] of Object.entries(table)) {
        if (a.kind !== 'status') continue;
        expect(field, 'status entries are under status').to.match(/^status\./);
        if (a.by !== null) expect(source(a.by), `${field}: ${a.by} should mention ${a.token}`).to.contain(a.token);
      }
    });

    it(`${kind}: every rejected field is under a gate whose CEL rule says it is not supported yet`, () => {
      const all = rules(root);
      for (const [field, a] of Object.entries(table)) {
        if (a.kind !== 'rejected') continue;
        const gate = GATES[a.gate];
        expect(gate, `${field}: unknown gate ${a.gate}`).to.not.equal(undefined);
        expect(gate!.kind, field).to.equal(kind);
        if (a.gate !== kind) expect(field.startsWith(`${a.gate}.`), `${field} is not under its gate ${a.gate}`).to.equal(true);
        const rule = all.find((r) => r.message?.startsWith(gate!.message) === true);
        expect(rule, `${field}: no CEL rule with the message "${gate!.message}…"`).to.not.equal(undefined);
        // Non-transition rules: they refuse a create too, not only an update.
        expect(rule!.rule, `${a.gate}: the rule must not depend on oldSelf`).to.not.contain('oldSelf');
      }
    });
  }

  it('every gate is used, and its examples only set fields it rejects', () => {
    const used = new Set([...Object.values(IRISCLUSTER_FIELDS), ...Object.values(IRISBACKUP_FIELDS)].flatMap((a) => (a.kind === 'rejected' ? [a.gate] : [])));
    expect([...used].sort()).to.deep.equal(Object.keys(GATES).sort());
    for (const [name, gate] of Object.entries(GATES)) {
      expect(gate.examples.length, name).to.be.greaterThan(0);
      if (gate.kind === 'IrisCluster') {
        // Each example sets one top-level field, the one the gate is on or under.
        for (const ex of gate.examples) expect(Object.keys(ex).map((k) => name === `spec.${k}` || name.startsWith(`spec.${k}.`)), name).to.deep.equal([true]);
      }
    }
  });

  it('accepts IrisBackup objects (their controller exists, issue #15): no rule refuses them whole', () => {
    const spec = schemaOf('irisbackups.irisdb.io.yaml').properties!.spec!;
    expect(Object.keys(spec.properties ?? {})).to.have.members(['cluster', 'destination', 'maxBytesPerSecond']);
    expect((spec['x-kubernetes-validations'] ?? []).map((r) => r.rule)).to.not.include('false');
  });
});
