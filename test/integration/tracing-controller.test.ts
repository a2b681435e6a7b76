/**
 * Issue #18, tracing of the control plane: `irisctl local up` with
 * OTEL_EXPORTER_OTLP_ENDPOINT set exports a failover (kill -9 of a primary)
 * to a real OpenTelemetry Collector as one trace: a `failover` root span for
 * the shard with a child span per stage (fence, promote, publish); a
 * rescale is a `rebalance` trace with a span per slot move.
 */
import { expect } from 'chai';
import { LocalCluster } from '../support/local-cluster.js';
import { OtelCollector, type ReceivedSpan } from '../support/otel-collector.js';
import { waitFor } from '../support/wait.js';

describe('tracing: a failover on a local cluster is one trace with a span per stage (OpenTelemetry Collector)', function () {
  this.timeout(400_000);
  let collector: OtelCollector | undefined;
  let cluster: LocalCluster | undefined;

  before(async function () {
    this.timeout(600_000); // a cold build of the Collector (scripts/otel-collector.sh) on first use
    collector = await OtelCollector.start();
    cluster = await LocalCluster.start({ shards: 1, replicas: 1, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } });
  });
  after(async () => {
    await cluster?.destroy();
    await collector?.destroy();
  });

  it('exports the failover of a killed primary with its fence, promote and publish stages', async () => {
    const c = cluster!;
    const before = (await c.status()).shards[0]!;
    const shardId = before.id;
    const old = before.primary!;
    process.kill(await c.pidOf(old), 'SIGKILL');
    await waitFor(`${shardId} to promote a replica in place of ${old}`, async () => {
      const s = await c.shard(shardId);
      return s.primary !== old && s.failover === null;
    }, { timeoutMs: 60_000, intervalMs: 100 });

    // The root span ends when the failover leaves the recorded state; the controller exports every second.
    const root = await waitFor('the failover trace at the collector', async () => collector!.spans().find((s) => s.name === 'failover' && s.attributes['irisdb.shard'] === shardId) ?? null, { timeoutMs: 30_000, intervalMs: 200 });
    expect(root.service).to.equal('irisdb-controller');
    expect(root.parentSpanId).to.equal('');
    expect(root.attributes['irisdb.failover.old_primary']).to.equal(old);
    expect(root.attributes['irisdb.operation.resumed']).to.equal(false);
    const stages = await waitFor('the failover\'s stage spans', async () => {
      const children = collector!.spans().filter((s: ReceivedSpan) => s.traceId === root.traceId && s.parentSpanId === root.spanId);
      const names = children.map((s) => s.name);
      return ['failover fence', 'failover promote', 'failover publish'].every((n) => names.includes(n)) ? children : null;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    for (const s of stages) {
      expect(s.attributes['irisdb.operation.stage'], s.name).to.equal(s.name.slice('failover '.length));
      expect(s.attributes['irisdb.shard']).to.equal(shardId);
    }
    // The nodes inherit the variables: a client's command reaches the same collector under the nodes' service name
    // (the controller's own admin calls are not traced without a traceparent).
    await c.waitReady(60_000);
    expect(await c.getAll(['traced-probe'])).to.deep.equal([null]);
    // getAll reads with MGET per slot (GET before): either command's span shows the node exporting.
    await waitFor('a node\'s GET/MGET span at the collector', async () => collector!.spans().some((s) => s.service === 'irisdb-node' && (s.name === 'GET' || s.name === 'MGET')), { timeoutMs: 30_000, intervalMs: 200 });
    expect(collector!.spans().filter((s) => s.service === 'irisdb-node' && s.name.includes('/admin'))).to.deep.equal([]);
  });

  it('exports a rescale 1 → 2 shards as a rebalance trace: add, one span per slot move, remove', async () => {
    const c = cluster!;
    await c.waitReady(60_000);
    const accepted = await c.client.scale({ shards: 2 });
    await c.waitReady(300_000);
    const root = await waitFor('the rebalance trace at the collector', async () => collector!.spans().find((s) => s.name === 'rebalance' && s.attributes['irisdb.operation.id'] === accepted.id) ?? null, { timeoutMs: 30_000, intervalMs: 200 });
    expect(root.parentSpanId).to.equal('');
    const moves = root.attributes['irisdb.rebalance.moves'] as number;
    expect(moves).to.be.at.least(1);
    const children = collector!.spans().filter((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId);
    const names = children.map((s) => s.name);
    expect(names).to.include('rebalance add');
    const migrations = names.filter((n) => n.startsWith('rebalance migrate '));
    expect(migrations).to.have.length(moves);
    for (const n of migrations) expect(n).to.match(/^rebalance migrate \d+\/\d+ \S+→\S+$/);
    expect(names).to.include('rebalance remove');
  });
});
