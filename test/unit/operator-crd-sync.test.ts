/**
 * One source of truth for the CRDs: helm/irisdb/crds/ (Helm installs CRDs
 * only from a chart's own crds/ directory). crds/ at the repository root is a
 * byte-for-byte copy for `kubectl apply -f crds/`; after editing the chart's
 * files run `cp helm/irisdb/crds/*.yaml crds/`.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../support/kube/binaries.js';

const CHART_CRDS = path.join(REPO_ROOT, 'helm/irisdb/crds');
const TOP_CRDS = path.join(REPO_ROOT, 'crds');

const yamlFiles = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('CRDs: crds/ is a copy of helm/irisdb/crds/', () => {
  it('holds the same files', () => {
    expect(yamlFiles(TOP_CRDS)).to.deep.equal(yamlFiles(CHART_CRDS));
    expect(yamlFiles(CHART_CRDS)).to.deep.equal(['irisbackups.irisdb.io.yaml', 'irisclusters.irisdb.io.yaml']);
  });

  for (const file of ['irisbackups.irisdb.io.yaml', 'irisclusters.irisdb.io.yaml']) {
    it(`${file} is identical in both places`, () => {
      const chart = fs.readFileSync(path.join(CHART_CRDS, file), 'utf8');
      const top = fs.readFileSync(path.join(TOP_CRDS, file), 'utf8');
      expect(top === chart, `crds/${file} differs from helm/irisdb/crds/${file}: run cp helm/irisdb/crds/*.yaml crds/`).to.equal(true);
    });

    it(`${file} is one CRD named after its file`, () => {
      const doc = load(fs.readFileSync(path.join(CHART_CRDS, file), 'utf8')) as { kind?: string; metadata?: { name?: string } };
      expect(doc.kind).to.equal('CustomResourceDefinition');
      expect(`${doc.metadata?.name}.yaml`).to.equal(file);
    });
  }
});
