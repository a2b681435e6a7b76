/**
 * The Grafana dashboard's shape (helm/irisdb/dashboards/irisdb.json), what
 * Grafana and its sidecar need from it: every panel and query on the
 * `$datasource` variable, the cluster/shard/pod variables, unique ids, a
 * grid within 24 columns, every query filtered by cluster, and a row for
 * each area issue #18 asks for. That the queries return data is checked
 * against a real Prometheus (test/integration/prometheus-scrape.test.ts).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { DASHBOARD_FILE } from '../support/prometheus.js';

interface Target { expr: string; refId: string; datasource?: { type: string; uid: string } }
interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid: string }; targets?: Target[] }
interface Variable { name: string; type: string; query: unknown; datasource?: { uid: string } }
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } }

describe('Grafana dashboard (helm/irisdb/dashboards/irisdb.json)', () => {
  const d = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
  const panels = d.panels.filter((p) => p.type !== 'row');

  it('has a stable uid and the datasource, cluster, shard and pod variables', () => {
    expect(d.uid).to.equal('irisdb-overview');
    const vars = new Map(d.templating.list.map((v) => [v.name, v] as const));
    expect([...vars.keys()]).to.deep.equal(['datasource', 'cluster', 'shard', 'pod']);
    expect(vars.get('datasource')).to.include({ type: 'datasource', query: 'prometheus' });
    for (const name of ['cluster', 'shard', 'pod']) {
      expect(vars.get(name)!.type, name).to.equal('query');
      expect(vars.get(name)!.datasource?.uid, name).to.equal('${datasource}');
    }
  });

  it('puts every panel and query on $datasource, with unique ids and refIds', () => {
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size, 'panel ids').to.equal(ids.length);
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).to.equal('${datasource}');
      expect(p.targets, p.title).to.be.an('array').that.is.not.empty;
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${p.title} refIds`).to.equal(refIds.length);
      for (const t of p.targets!) expect(t.datasource?.uid, p.title).to.equal('${datasource}');
    }
  });

  it('lays panels out within the 24-column grid without overlaps', () => {
    const cells = new Set<string>();
    for (const p of d.panels) {
      const g = p.gridPos;
      expect(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title}: ${JSON.stringify(g)}`).to.equal(true);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).to.equal(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('filters every query by the cluster variable, and node graphs by shard and pod too (overview stats are cluster-wide)', () => {
    for (const p of panels) {
      for (const t of p.targets!) {
        expect(t.expr, p.title).to.contain('cluster=~"$cluster"');
        if (p.type === 'timeseries' && !t.expr.includes('irisdb_controller_')) expect(t.expr, p.title).to.contain('shard=~"$shard", pod=~"$pod"');
      }
    }
  });

  it('has a row for each area: overview, throughput/latency, replication, failovers, migrations, storage, backups, process, errors', () => {
    const rows = d.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).to.deep.equal(['Cluster overview', 'Throughput and latency', 'Replication', 'Failovers and topology', 'Migrations', 'Storage', 'Backups', 'Process', 'Errors']);
  });
});
