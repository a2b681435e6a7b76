/**
 * Issue #18, tracing on the write path: with every command traced (sampler
 * 1) on a 1 primary + 1 replica shard (minSyncReplicas 1), kill -9 the
 * primary in the middle of a pipelined write load. Every write the primary
 * acknowledged is on the replica afterwards: the group commit's trace hooks
 * never release a reply before its commit and replica acknowledgement.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { OtelCollector } from '../support/otel-collector.js';
import { Shard, WriteLoad, connectReadonly, readAll } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

describe('tracing: kill -9 of a traced primary under load loses no acknowledged write', function () {
  this.timeout(180_000);
  let collector: OtelCollector | undefined;
  let shard: Shard | undefined;
  let reader: Redis | undefined;

  before(async function () {
    this.timeout(600_000); // a cold build of the Collector (scripts/otel-collector.sh) on first use
    collector = await OtelCollector.start();
    shard = await Shard.start({
      replicas: 1, minSyncReplicas: 1, ackTimeoutMs: 10_000, namePrefix: 'tfault-',
      args: ['--otel-exporter-otlp-endpoint', collector.endpoint, '--otel-traces-sampler-arg', '1'],
    });
  });
  after(async () => {
    reader?.disconnect();
    await shard?.stop();
    await collector?.destroy();
  });

  it('has every acknowledged write on the replica after the primary is killed mid-load', async () => {
    const s = shard!;
    const [primary, replica] = s.nodes;
    const load = new WriteLoad(primary!.node.port, { clients: 4, keysPerClient: 300, pipeline: 32, maxPipelines: 2000, deadlineMs: 60_000 });
    await waitFor('2000 acknowledged writes', async () => load.log.ackedWrites >= 2000, { timeoutMs: 60_000, intervalMs: 20 });
    await primary!.node.kill9();
    await load.done();
    const acked = load.log.ackedWrites;
    expect(acked).to.be.at.least(2000);

    reader = await connectReadonly(replica!.node.port);
    const stored = await readAll(reader, load.log);
    expect(load.log.check((k) => stored.get(k) ?? null)).to.deep.equal([]);

    // The load was traced end to end: SET spans with their replica applies reached the collector.
    await waitFor('traced SETs and replica applies at the collector', async () => {
      const spans = collector!.spans();
      return spans.some((x) => x.name === 'SET') && spans.some((x) => x.name === 'replication apply' && x.instance === replica!.name);
    }, { timeoutMs: 30_000, intervalMs: 200 });
  });
});
