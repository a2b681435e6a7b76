/**
 * Issue #18, tracing: nodes export OpenTelemetry spans to a real
 * OpenTelemetry Collector (otelcol-irisdb, built from the Collector's Go
 * modules by scripts/otel-collector.sh). On a 1 primary + 1 replica shard
 * (minSyncReplicas 1) an HTTP PUT carrying a W3C traceparent and a RESP SET
 * each give one trace: request/command on the primary → group commit and
 * replication ack wait → the replica's apply, with the parent links right.
 * With the sampler at 0 (or no endpoint) nothing is exported.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { keySlot } from '../../common/slot.js';
import { OtelCollector, type ReceivedSpan } from '../support/otel-collector.js';
import { Shard, startNamedNode, type ShardNode } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const SERVER = 2;
const CONSUMER = 5;

describe('tracing: a write traced from the client through the primary to the replica (OpenTelemetry Collector)', function () {
  this.timeout(120_000);
  let collector: OtelCollector | undefined;
  let shard: Shard | undefined;
  const extra: ShardNode[] = [];

  before(async function () {
    this.timeout(600_000); // a cold build of the Collector (scripts/otel-collector.sh) on first use
    collector = await OtelCollector.start();
    shard = await Shard.start({
      replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 10_000, namePrefix: 'trace-',
      args: ['--otel-exporter-otlp-endpoint', collector.endpoint],
    });
  });
  after(async () => {
    await Promise.all(extra.map((n) => n.node.kill9()));
    await shard?.stop();
    await collector?.destroy();
  });

  /** The trace's spans once `names` are all in it (the exporters send every second). */
  async function traceWith(traceId: string, names: readonly string[]): Promise<ReceivedSpan[]> {
    return waitFor(`spans ${names.join(', ')} of trace ${traceId} at the collector`, async () => {
      const spans = collector!.spans().filter((s) => s.traceId === traceId);
      return names.every((n) => spans.some((s) => s.name === n)) ? spans : null;
    }, { timeoutMs: 30_000, intervalMs: 200 });
  }

  function one(spans: readonly ReceivedSpan[], name: string, parent: ReceivedSpan | string): ReceivedSpan {
    const parentId = typeof parent === 'string' ? parent : parent.spanId;
    const found = spans.filter((s) => s.name === name && s.parentSpanId === parentId);
    expect(found, `${name} under ${parentId} in ${JSON.stringify(spans.map((s) => [s.name, s.spanId, s.parentSpanId]))}`).to.have.length(1);
    return found[0]!;
  }

  /** commit and ack wait under `parent` on the primary, the replica's apply under the ack wait. */
  function expectReplicatedChildren(spans: readonly ReceivedSpan[], parent: ReceivedSpan): void {
    const [primary, replica] = shard!.nodes;
    const commit = one(spans, 'group commit', parent);
    expect(commit.instance).to.equal(primary!.name);
    expect(commit.attributes['irisdb.commit.writes']).to.be.at.least(1);
    const ack = one(spans, 'replication ack wait', parent);
    expect(ack.instance).to.equal(primary!.name);
    expect(ack.attributes['irisdb.replication.min_sync_replicas']).to.equal(1);
    expect(ack.statusCode).to.not.equal(2);
    const apply = one(spans, 'replication apply', ack);
    expect(apply.instance).to.equal(replica!.name);
    expect(apply.kind).to.equal(CONSUMER);
    expect(apply.attributes['irisdb.replication.primary']).to.equal(primary!.name);
    expect(apply.attributes['irisdb.replication.applied_seq']).to.be.at.least(apply.attributes['irisdb.replication.seq'] as number);
  }

  it('continues an HTTP PUT\'s traceparent: PUT span → group commit, replication ack wait → replica apply', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const res = await fetch(`${shard!.primary.node.url}/v1/kv/traced-http`, {
      method: 'PUT', body: 'v1', headers: { traceparent: `00-${traceId}-${clientSpan}-01` },
    });
    expect(res.status).to.be.oneOf([200, 201, 204]);
    const spans = await traceWith(traceId, ['PUT /v1/kv/{key}', 'group commit', 'replication ack wait', 'replication apply']);
    const put = one(spans, 'PUT /v1/kv/{key}', clientSpan);
    expect(put.kind).to.equal(SERVER);
    expect(put.instance).to.equal(shard!.primary.name);
    expect(put.attributes['http.route']).to.equal('/v1/kv/{key}');
    expect(put.attributes['http.response.status_code']).to.equal(res.status);
    expectReplicatedChildren(spans, put);
  });

  it('traces a RESP SET as a root span with db.system redis and its slot, down to the replica', async () => {
    const key = `traced-resp-${randomBytes(4).toString('hex')}`;
    const client = new Redis({ host: '127.0.0.1', port: shard!.primary.node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.set(key, 'v')).to.equal('OK');
    } finally {
      client.disconnect();
    }
    const slot = keySlot(key);
    const set = await waitFor('the SET span at the collector', async () => collector!.spans().find((s) => s.name === 'SET' && s.attributes['irisdb.slot'] === slot) ?? null, { timeoutMs: 30_000, intervalMs: 200 });
    expect(set.parentSpanId).to.equal('');
    expect(set.kind).to.equal(SERVER);
    expect(set.attributes['db.system.name']).to.equal('redis');
    expect(set.attributes['db.operation.name']).to.equal('SET');
    const spans = await traceWith(set.traceId, ['SET', 'group commit', 'replication ack wait', 'replication apply']);
    expectReplicatedChildren(spans, set);
  });

  it('exports nothing with the sampler at 0 or without an endpoint, and still follows a sampled traceparent', async () => {
    const zero = await startNamedNode('trace-zero', { minSyncReplicas: 0, args: ['--otel-exporter-otlp-endpoint', collector!.endpoint, '--otel-traces-sampler-arg', '0'] });
    extra.push(zero);
    const off = await startNamedNode('trace-off', { minSyncReplicas: 0 });
    extra.push(off);
    for (const n of [zero, off]) {
      const c = new Redis({ host: '127.0.0.1', port: n.node.port, lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await c.connect();
        for (let i = 0; i < 20; i++) await c.set(`k${i}`, 'v');
        await c.get('k1');
      } finally {
        c.disconnect();
      }
      expect((await fetch(`${n.node.url}/v1/kv/plain`, { method: 'PUT', body: 'v' })).ok).to.equal(true);
    }
    // A sampled incoming traceparent is followed even at ratio 0: the caller decided to trace.
    const traceId = randomBytes(16).toString('hex');
    const followed = await fetch(`${zero.node.url}/v1/kv/followed`, { method: 'PUT', body: 'v', headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
    expect(followed.ok).to.equal(true);
    // A graceful stop exports whatever the node still buffers.
    expect(await zero.node.stop()).to.equal(0);
    expect(await off.node.stop()).to.equal(0);
    const spans = await traceWith(traceId, ['PUT /v1/kv/{key}']);
    // A primary without replicas still has its (instant) ack wait: where an asynchronous replica's apply would hang.
    expect(spans.map((s) => s.name).sort()).to.deep.equal(['PUT /v1/kv/{key}', 'group commit', 'replication ack wait']);
    const fromOff = collector!.spans().filter((s) => s.instance === 'trace-off' || (s.instance === 'trace-zero' && s.traceId !== traceId));
    expect(fromOff, 'spans from untraced work').to.deep.equal([]);
  });
});
