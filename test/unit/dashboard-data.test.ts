/**
 * The dashboard's pure data code: the Prometheus text reader (property
 * tested against its own rendering, and against prom-client's real output),
 * the per-node rates between two scrapes, the sampler's history (scrapes
 * served by an injected fetcher), and the slots a rebalance moves now.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { countersOf, METRIC_NAMES, pointBetween, type NodeCounters } from '../../operator/dashboard/node-rates.js';
import { NodeSampler } from '../../operator/dashboard/node-sampler.js';
import { parsePromText, PromTextError, sumOf, type PromSample } from '../../operator/dashboard/prom-text.js';
import { backupSummary, buildView, migratingSlots, VIEW_EVENTS } from '../../operator/dashboard/view.js';
import type { BackupRecord } from '../../operator/core/backup-state.js';
import type { RebalanceOp } from '../../operator/core/state.js';
import { STATUS } from '../support/control-api-fixture.js';

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const render = (s: PromSample): string => {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',');
  const value = s.value === Infinity ? '+Inf' : s.value === -Infinity ? '-Inf' : String(s.value);
  return `${s.name}${labels === '' ? '' : `{${labels}}`} ${value}`;
};

const sample: fc.Arbitrary<PromSample> = fc.record({
  name: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/),
  labels: fc.dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 4 }),
  value: fc.double({ noNaN: true }),
});

describe('dashboard: Prometheus text', () => {
  it('reads back every sample it is given, labels unescaped (property)', () => {
    fc.assert(fc.property(fc.array(sample, { maxLength: 20 }), fc.array(fc.constantFrom('# HELP x y', '# TYPE x counter', ''), { maxLength: 3 }), (samples, noise) => {
      const text = [...noise, ...samples.map(render), ...noise].join('\n');
      const got = parsePromText(text);
      expect(got.map((g) => g.name)).to.deep.equal(samples.map((s) => s.name));
      got.forEach((g, i) => {
        expect(g.labels).to.deep.equal(samples[i]!.labels);
        expect(Object.is(g.value, samples[i]!.value) || g.value === samples[i]!.value).to.equal(true);
      });
    }));
  });

  it('throws PromTextError naming the line for anything malformed, never something else (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }).map((s) => s.replace(/\n/g, ' ')), (line) => {
      try {
        parsePromText(`ok 1\n${line}`);
      } catch (err) {
        expect(err).to.be.instanceOf(PromTextError);
        expect((err as PromTextError).line).to.equal(2);
      }
    }));
    for (const bad of ['x{a="1" 2', 'x{a=1} 2', 'x{a="\\q"} 1', 'x 12abc', 'x', '{a="b"} 1', 'x{a="b"}1']) {
      expect(() => parsePromText(bad), bad).to.throw(PromTextError);
    }
  });

  it('reads prom-client\'s own output (counters with odd label values, histograms, gauges)', async () => {
    const registry = new Registry();
    const c = new Counter({ name: METRIC_NAMES.commands, help: 'h', labelNames: ['cmd'], registers: [registry] });
    const h = new Histogram({ name: 'redis_commands_duration_seconds', help: 'h', labelNames: ['cmd'], buckets: [0.001, 0.01], registers: [registry] });
    const g = new Gauge({ name: METRIC_NAMES.memory, help: 'h', registers: [registry] });
    c.inc({ cmd: 'get' }, 5);
    c.inc({ cmd: 'we"ird\\\nname' }, 2);
    h.observe({ cmd: 'get' }, 0.002);
    h.observe({ cmd: 'set' }, 0.004);
    g.set(123456);
    const samples = parsePromText(await registry.metrics());
    expect(samples.find((s) => s.labels.cmd === 'we"ird\\\nname')?.value).to.equal(2);
    const counters = countersOf(samples, 1000);
    expect(counters).to.deep.include({ commands: 7, durationCount: 2, memoryBytes: 123456 });
    expect(counters.durationSum).to.be.closeTo(0.006, 1e-9);
    expect(sumOf(samples, 'absent')).to.equal(null);
  });
});

describe('dashboard: node rates', () => {
  const at = (t: number, commands: number, sum = 0, count = 0): NodeCounters => ({ at: t, commands, durationSum: sum, durationCount: count, memoryBytes: 10 });

  it('gives commands per second and the mean latency of the interval', () => {
    const p = pointBetween(at(1000, 100, 1, 100), at(3000, 500, 1.4, 500))!;
    expect(p).to.deep.include({ at: 3000, opsPerSec: 200, memoryBytes: 10 });
    expect(p.latencyMs).to.be.closeTo(1, 1e-9);
    expect(pointBetween(at(1000, 100), at(2000, 100))).to.deep.include({ opsPerSec: 0, latencyMs: null });
  });

  it('gives no point across a restart (counters went back) or without an interval', () => {
    expect(pointBetween(at(1000, 100), at(2000, 5))).to.equal(null);
    expect(pointBetween(at(1000, 100), at(1000, 200))).to.equal(null);
  });
});

describe('dashboard: node sampler', () => {
  it('keeps a bounded history per node, scrapes at most once per interval, and records failures', async () => {
    let now = 0;
    const served = new Map<string, number>();
    let scrapes = 0;
    const sampler = new NodeSampler({
      intervalMs: 1000, historyPoints: 3, timeoutMs: 100, now: () => now,
      fetchMetrics: async (url) => {
        scrapes++;
        if (url.includes('down')) throw new Error('connection refused');
        const n = (served.get(url) ?? 0) + 10;
        served.set(url, n);
        return `${METRIC_NAMES.commands}{cmd="get"} ${n}\n`;
      },
    });
    const nodes = [{ name: 'a', httpUrl: 'http://a' }, { name: 'b', httpUrl: 'http://down' }, { name: 'c', httpUrl: null }];
    for (let i = 0; i < 6; i++) {
      await sampler.refresh(nodes);
      await sampler.refresh(nodes); // within the interval: no scrape
      now += 1000;
    }
    expect(scrapes).to.equal(12);
    expect(sampler.history('a').map((p) => p.opsPerSec)).to.deep.equal([10, 10, 10]);
    expect(sampler.error('a')).to.equal(null);
    expect(sampler.error('b')).to.match(/connection refused/);
    expect(sampler.error('c')).to.equal('no address');
    // A node gone from the cluster loses its history.
    await sampler.refresh([{ name: 'b', httpUrl: 'http://down' }]);
    expect(sampler.history('a')).to.deep.equal([]);
  });
});

describe('dashboard: view', () => {
  const op = (stage: RebalanceOp['stage'], done: number): RebalanceOp => ({
    kind: 'rebalance', id: 'op-1', reason: 'scale', stage, shardsAfter: ['shard-0', 'shard-1'], done, migration: null,
    moves: [{ slots: [[0, 9]], from: 'shard-0', to: 'shard-1' }, { slots: [[20, 29], [40, 41]], from: 'shard-0', to: 'shard-1' }],
    keysMoved: 0, bytesMoved: 0, startedAt: 0, updatedAt: 0, error: null,
  } as RebalanceOp);

  it('shows the move under way during the migrate stage only', () => {
    expect(migratingSlots(null)).to.equal(null);
    expect(migratingSlots(op('add', 0))).to.equal(null);
    expect(migratingSlots(op('migrate', 1))).to.deep.equal({ from: 'shard-0', to: 'shard-1', slots: [[20, 29], [40, 41]] });
    expect(migratingSlots(op('migrate', 2))).to.equal(null);
  });

  it('sums a backup\'s shards and shows its destination URL only (no S3 settings or credentials)', () => {
    const shard = (id: string, state: 'pending' | 'running' | 'done', keys: number) => ({
      shard: id, state, node: null, attempts: 1, manifest: null, seq: null, keys, keysTotal: 100, bytes: keys * 10, lastError: null, seenAt: 0,
    });
    const b = {
      id: 'backup-3', phase: 'Running', compression: 'gzip', map: { epoch: 1 }, message: null, startedAt: 1, updatedAt: 2, finishedAt: null,
      destination: { kind: 's3', url: 's3://bucket/p', bucket: 'bucket', prefix: 'p', s3: { endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'AK', secretAccessKey: 'SECRET' } } },
      shards: [shard('shard-0', 'done', 100), shard('shard-1', 'running', 40)],
    } as unknown as BackupRecord;
    const s = backupSummary(b);
    expect(s).to.deep.include({ id: 'backup-3', phase: 'Running', destination: 's3://bucket/p', shardsDone: 1, shardsTotal: 2, keys: 140, keysTotal: 200, bytes: 1400 });
    expect(JSON.stringify(s)).to.not.match(/SECRET|AK|endpoint/);
  });

  it('carries the newest events first, at most VIEW_EVENTS', () => {
    const events = Array.from({ length: VIEW_EVENTS + 5 }, (_, i) => ({ at: i, type: 'Normal' as const, reason: `R${i}`, message: '' }));
    const v = buildView({ actions: false, cluster: 'iris', clusters: ['iris'], status: STATUS, events, operation: null, backups: [], charts: [], now: 5 });
    expect(v.events).to.have.length(VIEW_EVENTS);
    expect(v.events[0]!.reason).to.equal(`R${VIEW_EVENTS + 4}`);
    expect(v.slotCount).to.equal(16384);
  });
});
