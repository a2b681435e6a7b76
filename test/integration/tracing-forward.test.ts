/**
 * Issue #18, tracing across HTTP forwarding: node A receives a PUT with a
 * traceparent for a slot node B serves and forwards it; at a real
 * OpenTelemetry Collector, A's request span continues the client's trace and
 * B's request span is A's child (forward.ts passes A's own span on), with
 * B's group commit under it. Two in-process HTTP apps over real engines.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { parseClusterMap, type ClusterMap } from '../../common/cluster-map.js';
import { silentLogger } from '../../common/logger.js';
import { keySlot } from '../../common/slot.js';
import { createTracing, type Tracing } from '../../common/tracing/provider.js';
import { createCommandTable } from '../../node/commands/table.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import type { HttpDeps } from '../../node/http/deps.js';
import { HttpTracing } from '../../node/tracing/http-tracing.js';
import { NodeTracing } from '../../node/tracing/node-tracing.js';
import { startHttpApp, type HttpAppFixture } from '../support/http-app-fixture.js';
import { OtelCollector, type ReceivedSpan } from '../support/otel-collector.js';
import { waitFor } from '../support/wait.js';

describe('tracing: a forwarded HTTP request stays in the caller\'s trace (OpenTelemetry Collector)', function () {
  this.timeout(60_000);
  const elsewhere = keySlot('elsewhere');
  let collector: OtelCollector | undefined;
  const tracings: Tracing[] = [];
  const apps: HttpAppFixture[] = [];

  function traced(instance: string, more: Partial<HttpDeps> = {}): (engine: SqliteEngine) => Partial<HttpDeps> {
    return (engine) => {
      const tracing = createTracing({ tracesUrl: `${collector!.endpoint}/v1/traces`, serviceName: 'irisdb-node', ratio: 1 }, { instance, version: 'test' });
      tracings.push(tracing);
      const node = new NodeTracing({ tracing, commits: engine.commits, commands: createCommandTable(), logger: silentLogger(), minSyncReplicas: () => 0 });
      return { tracing: new HttpTracing(node), ...more };
    };
  }

  before(async function () {
    this.timeout(600_000); // a cold build of the Collector on first use
    collector = await OtelCollector.start();
    const b = await startHttpApp({ httpForwardTimeoutMs: 5000 }, traced('b'));
    apps.push(b);
    const map = (): ClusterMap => parseClusterMap({
      epoch: 1,
      nodes: [{ name: 'b', host: '127.0.0.1', port: 7001, busPort: 17001, httpPort: b.port }],
      shards: [{ id: 'shard-1', slots: [[elsewhere, elsewhere]], primary: 'b', replicas: [] }],
    });
    apps.push(await startHttpApp({ httpForwardTimeoutMs: 5000 }, traced('a', {
      clusterMap: map,
      keyRouter: {
        clustered: () => true,
        route: (slot) => (slot === elsewhere ? { kind: 'error', message: `MOVED ${slot} 127.0.0.1:7001`, movedTo: { host: '127.0.0.1', port: 7001 } } : { kind: 'serve' }),
        whenLifted: async () => {},
      },
    })));
  });
  after(async () => {
    for (const a of apps) await a.close();
    for (const t of tracings) await t.shutdown();
    await collector?.destroy();
  });

  it('links client → A\'s request → B\'s request → B\'s group commit', async () => {
    const [b, a] = apps;
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const res = await fetch(`${a!.url}/v1/kv/elsewhere`, { method: 'PUT', body: 'v', headers: { traceparent: `00-${traceId}-${clientSpan}-01` } });
    expect(res.status).to.equal(200);
    expect(b!.engine.keyspace.get(Buffer.from('elsewhere'), Date.now())?.value.toString()).to.equal('v');
    for (const t of tracings) await t.flush();
    const spans = await waitFor('the forwarded request\'s spans at the collector', async () => {
      const s = collector!.spans().filter((x) => x.traceId === traceId);
      return s.filter((x) => x.name === 'PUT /v1/kv/{key}').length === 2 && s.some((x) => x.name === 'group commit') ? s : null;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const byInstance = (i: string, name: string): ReceivedSpan => spans.find((x) => x.instance === i && x.name === name)!;
    const onA = byInstance('a', 'PUT /v1/kv/{key}');
    const onB = byInstance('b', 'PUT /v1/kv/{key}');
    expect(onA.parentSpanId).to.equal(clientSpan);
    expect(onB.parentSpanId).to.equal(onA.spanId);
    expect(onA.attributes['http.response.status_code']).to.equal(200);
    expect(byInstance('b', 'group commit').parentSpanId).to.equal(onB.spanId);
    // A wrote nothing itself: no commit of its own in this trace.
    expect(spans.filter((x) => x.instance === 'a' && x.name === 'group commit')).to.deep.equal([]);
  });
});
