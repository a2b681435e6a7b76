/**
 * `irisctl --kube CLUSTER import` (issue #19): the command line, and the
 * nodes the import writes to read from the IrisCluster's record (its cluster
 * map: primaries, each node's RESP and HTTP address), the checkpoint's state
 * directory. Pure; the import itself is tested against local clusters
 * (test/integration/import-*.test.ts).
 */
import { expect } from 'chai';
import { CliError, UsageError } from '../../operator/cli/errors.js';
import { parseKubeCommandLine } from '../../operator/cli/kube-args.js';
import { importNodesOf, kubeCheckpointDir } from '../../operator/cli/kube-import.js';
import { initialState } from '../../operator/core/initial-state.js';
import { bootstrapMap } from '../../operator/core/slot-plan.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { ControllerState } from '../../operator/core/state.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';

function record(httpPort: number | undefined): ControllerState {
  const base = initialState('iris', { ...DEFAULT_SPEC, shards: 2, replicasPerShard: 1 });
  const nodes = base.shards.flatMap((s) => s.members.map((m, j) => ({ name: m, host: `10.0.${s.index}.${j}`, port: 6379, busPort: 16379, ...(httpPort !== undefined ? { httpPort } : {}) })));
  const map = bootstrapMap(base.shards.map((s) => ({ id: s.id, primary: s.currentPrimary, replicas: s.members.slice(1) })), nodes, 3);
  return { ...base, map };
}

function resource(rec: ControllerState | null): IrisCluster {
  return {
    metadata: { name: 'iris', namespace: 'db' },
    spec: { shards: 2, replicasPerShard: 1 },
    status: JSON.parse(JSON.stringify(rec === null ? {} : { controllerState: rec })) as IrisCluster['status'],
  };
}

describe('irisctl --kube import', () => {
  it('parses the local import flags after CLUSTER import, with kubectl flags anywhere; local-only flags are refused', () => {
    const c = parseKubeCommandLine(['-n', 'db', 'iris', 'import', '--from', 'redis://u:p@10.1.2.3:6380/2', '--batch', '500', '--json']);
    expect(c.kind).to.equal('import');
    if (c.kind !== 'import') return;
    expect(c.target).to.deep.equal({ cluster: 'iris', namespace: 'db' });
    expect([c.command.from.host, c.command.from.port, c.command.from.db, c.command.batch, c.command.json]).to.deep.equal(['10.1.2.3', 6380, 2, 500, true]);
    expect(() => parseKubeCommandLine(['iris', 'import', '--from', 'redis://h:1', '--dir', 'x'])).to.throw(UsageError, /--dir locates a local cluster/);
    expect(() => parseKubeCommandLine(['iris', 'import'])).to.throw(UsageError, /--from/);
  });

  it("reads each shard's primary and every node's HTTP address from the record's map", () => {
    const t = importNodesOf(resource(record(8080)), 'IrisCluster db/iris');
    expect(t.primaries).to.deep.equal([{ host: '10.0.0.0', port: 6379 }, { host: '10.0.1.0', port: 6379 }]);
    expect([...t.httpByAddress]).to.deep.equal([
      ['10.0.0.0:6379', 'http://10.0.0.0:8080'], ['10.0.0.1:6379', 'http://10.0.0.1:8080'],
      ['10.0.1.0:6379', 'http://10.0.1.0:8080'], ['10.0.1.1:6379', 'http://10.0.1.1:8080'],
    ]);
    // A map without HTTP ports (older operator): no bulk load, every key goes as SET.
    expect(importNodesOf(resource(record(undefined)), 'x').httpByAddress.size).to.equal(0);
    expect(() => importNodesOf(resource(null), 'IrisCluster db/iris')).to.throw(CliError, /no cluster map in its status yet/);
  });

  it('keeps the checkpoint under XDG_STATE_HOME (else ~/.local/state), one directory per IrisCluster', () => {
    expect(kubeCheckpointDir('db', 'iris', { XDG_STATE_HOME: '/s' }, '/home/u')).to.equal('/s/irisdb/import/db.iris');
    expect(kubeCheckpointDir('db', 'iris', {}, '/home/u')).to.equal('/home/u/.local/state/irisdb/import/db.iris');
  });
});
