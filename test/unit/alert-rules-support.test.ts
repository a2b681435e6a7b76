/**
 * The pure helpers behind the alert and dashboard tests and the memory-limit
 * metric: the metric names a PromQL expression reads (test/support/
 * prometheus.ts), the generated scrape config, the nodes the control API
 * lists for Prometheus's service discovery, and the cgroup memory-limit
 * parser (node/runtime/memory-limit.ts).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { load } from 'js-yaml';
import { parseCgroupMemoryLimit } from '../../node/runtime/memory-limit.js';
import { prometheusTargets } from '../../operator/control-api/prometheus-targets.js';
import { STATUS } from '../support/control-api-fixture.js';
import { metricNamesIn, scrapeConfig } from '../support/prometheus.js';

describe('metric names in PromQL (test/support/prometheus.ts)', () => {
  const cases: Array<[string, string[]]> = [
    ['irisdb_controller_failover_blocked == 1', ['irisdb_controller_failover_blocked']],
    ['irisdb_controller_shard_primary_up == 0\nand on (namespace, cluster, shard) irisdb_controller_shard_slots > 0', ['irisdb_controller_shard_primary_up', 'irisdb_controller_shard_slots']],
    ['increase(irisdb_controller_failovers_total{kind="failover"}[10m]) > 0', ['irisdb_controller_failovers_total']],
    ['histogram_quantile(0.99, sum by (cluster, shard, le) (rate(redis_commands_duration_seconds_bucket{cluster=~"$cluster", pod=~"a|b"}[$__rate_interval])))', ['redis_commands_duration_seconds_bucket']],
    ['topk(10, sum by (cmd) (rate(redis_commands_total[1m])))', ['redis_commands_total']],
    ['sum by (cluster) (redis_db_keys * on (cluster, pod) group_left () irisdb_replication_role{role="primary"})', ['redis_db_keys', 'irisdb_replication_role']],
    ['time() - irisdb_controller_rebalance_last_progress_timestamp_seconds > 9e2', ['irisdb_controller_rebalance_last_progress_timestamp_seconds']],
    ['max without (quantile) (irisdb_event_loop_delay_seconds{quantile="0.99"} offset 5m) > bool 0.1', ['irisdb_event_loop_delay_seconds']],
    ['{__name__="x"}', []],
  ];
  for (const [expr, names] of cases) {
    it(expr.replace(/\s+/g, ' ').slice(0, 90), () => {
      expect(metricNamesIn(expr).sort()).to.deep.equal([...names].sort());
    });
  }
});

describe('scrape config (test/support/prometheus.ts)', () => {
  it('scrapes every target each second with its labels, the token file and the rule files', () => {
    const text = scrapeConfig([
      { job: 'nodes', targets: [{ address: '127.0.0.1:1', labels: { cluster: 'iris', shard: 'shard-0', pod: 'iris-shard-0-0' } }] },
      { job: 'controller', targets: [{ address: '127.0.0.1:2', labels: {} }], bearerTokenFile: '/d/token' },
      { job: 'discovered', httpSd: { url: 'http://127.0.0.1:2/prometheus/targets', bearerTokenFile: '/d/token' } },
    ], ['/r/irisdb.rules.yaml']);
    const doc = load(text) as {
      global: { scrape_interval: string };
      rule_files: string[];
      scrape_configs: Array<{
        job_name: string; honor_labels: boolean; authorization?: { type: string; credentials_file: string };
        static_configs?: Array<{ targets: string[]; labels: Record<string, string> }>;
        http_sd_configs?: Array<{ url: string; refresh_interval: string; authorization: { type: string; credentials_file: string } }>;
      }>;
    };
    expect(doc.global.scrape_interval).to.equal('1s');
    expect(doc.rule_files).to.deep.equal(['/r/irisdb.rules.yaml']);
    expect(doc.scrape_configs.map((j) => j.job_name)).to.deep.equal(['nodes', 'controller', 'discovered']);
    expect(doc.scrape_configs[2]!.http_sd_configs).to.deep.equal([
      { url: 'http://127.0.0.1:2/prometheus/targets', refresh_interval: '1s', authorization: { type: 'Bearer', credentials_file: '/d/token' } },
    ]);
    expect(doc.scrape_configs[2]!.static_configs).to.equal(undefined);
    expect(doc.scrape_configs[0]!.static_configs).to.deep.equal([{ targets: ['127.0.0.1:1'], labels: { cluster: 'iris', shard: 'shard-0', pod: 'iris-shard-0-0' } }]);
    expect(doc.scrape_configs[0]!.authorization).to.equal(undefined);
    expect(doc.scrape_configs[1]!.authorization).to.deep.equal({ type: 'Bearer', credentials_file: '/d/token' });
    expect(doc.scrape_configs.every((j) => j.honor_labels)).to.equal(true);
  });
});

describe('Prometheus service discovery targets (operator/control-api/prometheus-targets.ts)', () => {
  it('lists every node with an address, labelled cluster, shard and pod', () => {
    const shard = STATUS.shards[0]!;
    const status = {
      ...STATUS,
      shards: [
        shard,
        { ...shard, id: 'shard-1', nodes: [{ ...shard.nodes[0]!, name: 'iris-1-0', httpUrl: 'http://127.0.0.1:8001' }, { ...shard.nodes[0]!, name: 'iris-1-1', httpUrl: null }] },
      ],
    };
    expect(prometheusTargets(status)).to.deep.equal([
      { targets: ['127.0.0.1:8000'], labels: { cluster: 'iris', shard: 'shard-0', pod: 'iris-0-0' } },
      { targets: ['127.0.0.1:8001'], labels: { cluster: 'iris', shard: 'shard-1', pod: 'iris-1-0' } },
    ]);
  });
});

describe('cgroup memory limit (node/runtime/memory-limit.ts)', () => {
  const GiB = 1024 ** 3;
  it('reads a limit below the machine\'s memory', () => {
    expect(parseCgroupMemoryLimit('536870912\n', 8 * GiB)).to.equal(512 * 1024 ** 2);
  });
  it('treats "max", v1\'s huge number, garbage and zero as no limit', () => {
    for (const text of ['max\n', '9223372036854771712\n', '', 'abc', '0', '-5', '1e9']) expect(parseCgroupMemoryLimit(text, 8 * GiB), text).to.equal(null);
  });
  it('never returns a limit at or above the machine\'s memory (property)', () => {
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 2 ** 40 }), (text, machine) => {
      const v = parseCgroupMemoryLimit(text, machine);
      return v === null || (v > 0 && v < machine && Number.isSafeInteger(v));
    }));
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 40 }), (limit, machine) => {
      expect(parseCgroupMemoryLimit(`${limit}\n`, machine)).to.equal(limit < machine ? limit : null);
    }));
  });
});
