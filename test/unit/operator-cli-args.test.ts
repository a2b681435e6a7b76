/** irisctl's command line: every verb, its flags and defaults, and the usage errors. Pure. */
import { expect } from 'chai';
import fc from 'fast-check';
import { type Command, parseCommandLine } from '../../operator/cli/args.js';
import { formatDuration, parseDuration } from '../../operator/cli/duration.js';
import { UsageError } from '../../operator/cli/errors.js';
import { VERBS, mainUsage, verbUsage } from '../../operator/cli/usage.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';

const parse = (line: string): Command => parseCommandLine(line === '' ? [] : line.split(' '));

function usageError(line: string, pattern: RegExp): UsageError {
  let caught: unknown;
  try {
    parse(line);
  } catch (err) {
    caught = err;
  }
  expect(caught, line).to.be.instanceOf(UsageError);
  expect((caught as UsageError).message, line).to.match(pattern);
  return caught as UsageError;
}

describe('irisctl command line', () => {
  describe('help and version', () => {
    it('prints the main usage with no verb, --help, -h and help', () => {
      for (const line of ['', '--help', '-h', 'help', 'local --help']) {
        expect(parse(line), line).to.deep.equal({ kind: 'help', text: mainUsage() });
      }
    });

    it('lists every verb in the main usage', () => {
      const text = mainUsage();
      for (const v of VERBS) expect(text).to.contain(v.name);
    });

    it('prints a verb usage naming every flag of it', () => {
      for (const v of VERBS) {
        const line = `${v.name} --help`;
        const cmd = parse(line);
        expect(cmd, line).to.deep.equal({ kind: 'help', text: verbUsage(v) });
        for (const f of v.flags) expect(verbUsage(v), line).to.contain(`--${f.name}`);
        expect(parse(`help ${v.name}`)).to.deep.equal(cmd);
        expect(parse(`${v.name} -h`)).to.deep.equal(cmd);
      }
    });

    it('--help wins over other flags and missing arguments', () => {
      expect(parse('failover --help').kind).to.equal('help');
      expect(parse('scale --shards 0 --help').kind).to.equal('help');
    });

    it('parses --version', () => {
      expect(parse('--version')).to.deep.equal({ kind: 'version' });
    });
  });

  describe('local up', () => {
    it('defaults to DEFAULT_SPEC, ./.irisdb and base port 7000', () => {
      expect(parse('local up')).to.deep.equal({ kind: 'local-up', dir: '.irisdb', spec: DEFAULT_SPEC, basePort: 7000 });
    });

    it('takes every flag', () => {
      expect(parse('local up --shards 4 --replicas 2 --min-sync-replicas 2 --base-port 9000 --dir /tmp/c --heartbeat-ms 200 --failure-threshold 5 --data-durability preferred')).to.deep.equal({
        kind: 'local-up', dir: '/tmp/c', basePort: 9000,
        spec: { shards: 4, replicasPerShard: 2, minSyncReplicas: 2, heartbeatMs: 200, failureThreshold: 5, dataDurability: 'preferred' },
      });
      expect(parse('local up --shards=2').kind).to.equal('local-up');
    });

    it('refuses values out of the spec limits, naming the flag', () => {
      usageError('local up --shards 0', /--shards must be an integer from 1 to 128/);
      usageError('local up --shards 129', /--shards/);
      usageError('local up --replicas 6', /--replicas/);
      usageError('local up --min-sync-replicas 9', /--min-sync-replicas/);
      usageError('local up --data-durability sometimes', /--data-durability: dataDurability must be one of required, preferred/);
      usageError('local up --heartbeat-ms 10', /--heartbeat-ms/);
      usageError('local up --failure-threshold 0', /--failure-threshold/);
      usageError('local up --base-port 70000', /--base-port/);
      usageError('local up --shards three', /--shards must be an integer/);
      usageError('local up --shards 2.5', /--shards/);
      usageError('local up --shards -1', /--shards/);
      usageError('local up --shards', /--shards/);
    });

    it('refuses unknown flags and arguments', () => {
      const e = usageError('local up --frobnicate', /--frobnicate/);
      expect(e.verb).to.equal('local up');
      usageError('local up extra', /unexpected argument "extra"/);
      usageError('local up --json', /--json/);
    });
  });

  describe('local down and local status', () => {
    it('parses local down [--dir]', () => {
      expect(parse('local down')).to.deep.equal({ kind: 'local-down', dir: '.irisdb' });
      expect(parse('local down --dir x')).to.deep.equal({ kind: 'local-down', dir: 'x' });
      usageError('local down --url http://127.0.0.1:1', /--url/);
    });

    it('parses local status like status', () => {
      expect(parse('local status')).to.deep.equal({ kind: 'status', source: { kind: 'dir', dir: '.irisdb' }, json: false, watch: false });
      expect(parse('local status --dir d --json --watch')).to.deep.equal({ kind: 'status', source: { kind: 'dir', dir: 'd' }, json: true, watch: true });
    });

    it('needs a known local verb', () => {
      usageError('local', /needs a verb/);
      usageError('local sideways', /unknown verb "local sideways"/);
    });
  });

  describe('status and slots', () => {
    it('read the URL from the directory by default, or take --url with --token-file', () => {
      expect(parse('status')).to.deep.equal({ kind: 'status', source: { kind: 'dir', dir: '.irisdb' }, json: false, watch: false });
      expect(parse('status --url http://127.0.0.1:7999/ --token-file t --json'))
        .to.deep.equal({ kind: 'status', source: { kind: 'url', url: 'http://127.0.0.1:7999', tokenFile: 't' }, json: true, watch: false });
      expect(parse('slots --dir d --json')).to.deep.equal({ kind: 'slots', source: { kind: 'dir', dir: 'd' }, json: true });
      expect(parse('slots')).to.deep.equal({ kind: 'slots', source: { kind: 'dir', dir: '.irisdb' }, json: false });
    });

    it('refuses bad URLs, --url with --dir, and flags of other verbs', () => {
      usageError('status --url nope', /--url must be a URL/);
      usageError('status --url ftp://x', /http/);
      usageError('status --url http://x:1 --token-file t --dir d', /not both/);
      // The control API needs the cluster token: with --url, irisctl cannot know which directory holds it.
      usageError('status --url http://x:1', /--url needs --token-file/);
      usageError('failover 1 --url http://x:1', /--url needs --token-file/);
      usageError('status --token-file t', /--token-file goes with --url/);
      usageError('status --url http://x:1 --token-file', /--token-file/);
      usageError('slots --watch', /--watch/);
      usageError('status --shards 3', /--shards/);
    });
  });

  describe('requests', () => {
    const wait = { wait: true, timeoutMs: 30 * 60_000 };
    const dir = { kind: 'dir', dir: '.irisdb' };

    it('parses failover SHARD, by id or index', () => {
      expect(parse('failover shard-1')).to.deep.equal({ kind: 'request', source: dir, request: { verb: 'failover', shard: 'shard-1' }, wait });
      expect(parse('failover 2')).to.deep.equal({ kind: 'request', source: dir, request: { verb: 'failover', shard: 'shard-2' }, wait });
    });

    it('parses switchover SHARD [--to NODE]', () => {
      expect(parse('switchover shard-0')).to.deep.equal({ kind: 'request', source: dir, request: { verb: 'switchover', shard: 'shard-0' }, wait });
      expect(parse('switchover 0 --to iris-0-1').kind).to.equal('request');
      expect((parse('switchover 0 --to iris-0-1') as Extract<Command, { kind: 'request' }>).request).to.deep.equal({ verb: 'switchover', shard: 'shard-0', to: 'iris-0-1' });
      usageError('switchover 0 --to', /--to/);
      usageError('switchover 0 --to a/b', /--to must be a node name/);
    });

    it('parses scale with --shards, --replicas or both', () => {
      const req = (line: string) => (parse(line) as Extract<Command, { kind: 'request' }>).request;
      expect(req('scale --shards 4')).to.deep.equal({ verb: 'scale', scale: { shards: 4 } });
      expect(req('scale --replicas 2')).to.deep.equal({ verb: 'scale', scale: { replicasPerShard: 2 } });
      expect(req('scale --shards 2 --replicas 0')).to.deep.equal({ verb: 'scale', scale: { shards: 2, replicasPerShard: 0 } });
      usageError('scale', /--shards N, --replicas N or both/);
      usageError('scale --shards 0', /--shards must be an integer from 1/);
      usageError('scale --replicas 9', /--replicas/);
    });

    it('parses rebalance', () => {
      expect(parse('rebalance --url http://127.0.0.1:8000 --token-file /d/token'))
        .to.deep.equal({ kind: 'request', source: { kind: 'url', url: 'http://127.0.0.1:8000', tokenFile: '/d/token' }, request: { verb: 'rebalance' }, wait });
    });

    it('takes --no-wait and --timeout', () => {
      expect((parse('rebalance --no-wait') as Extract<Command, { kind: 'request' }>).wait).to.deep.equal({ wait: false });
      expect((parse('rebalance --timeout 90s') as Extract<Command, { kind: 'request' }>).wait).to.deep.equal({ wait: true, timeoutMs: 90_000 });
      expect((parse('failover 1 --timeout 5') as Extract<Command, { kind: 'request' }>).wait).to.deep.equal({ wait: true, timeoutMs: 5000 });
      usageError('rebalance --timeout soon', /--timeout must be a duration/);
      usageError('rebalance --timeout 0s', /--timeout/);
      usageError('rebalance --no-wait --timeout 1m', /no effect/);
    });

    it('refuses missing, extra and malformed shards', () => {
      usageError('failover', /missing SHARD/);
      usageError('failover 1 2', /unexpected argument "2"/);
      usageError('switchover', /missing SHARD/);
      usageError('failover sh@rd', /SHARD must be a shard id/);
      usageError('rebalance now', /unexpected argument/);
    });
  });

  describe('unknown verbs and flags', () => {
    it('refuses them with a usage error', () => {
      expect(usageError('frobnicate', /unknown verb "frobnicate"/).verb).to.equal('');
      usageError('--dir x status', /flags go after the verb/);
      usageError('status --bogus', /--bogus/);
      usageError('failover 1 --watch', /--watch/);
    });

    it('never throws anything but a UsageError, whatever the arguments', () => {
      const word = fc.oneof(
        fc.constantFrom('local', 'up', 'down', 'status', 'slots', 'failover', 'switchover', 'scale', 'rebalance', 'help', '--help', '--json',
          '--watch', '--no-wait', '--dir', '--url', '--to', '--shards', '--replicas', '--timeout', '-h', '--', '-', '1', 'shard-1', 'http://127.0.0.1:1'),
        fc.string({ maxLength: 12 }),
      );
      fc.assert(fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
        try {
          parseCommandLine(argv);
        } catch (err) {
          expect(err).to.be.instanceOf(UsageError);
        }
      }), { numRuns: 2000 });
    });
  });
});

describe('irisctl durations', () => {
  it('parses units and bare seconds', () => {
    expect(parseDuration('500ms')).to.equal(500);
    expect(parseDuration('90s')).to.equal(90_000);
    expect(parseDuration('30m')).to.equal(1_800_000);
    expect(parseDuration('2h')).to.equal(7_200_000);
    expect(parseDuration('7')).to.equal(7000);
    for (const bad of ['', '0', '0ms', '-1s', '1d', '1.5s', 's', '1000h']) expect(parseDuration(bad), bad).to.equal(null);
  });

  it('formats whole seconds as h/m/s parts that add up to the duration', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 7 * 24 * 3600 }), (s) => {
      const text = formatDuration(s * 1000);
      const ms = [...text.matchAll(/(\d+)(h|m|s)/g)].reduce((acc, m) => acc + Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'h' | 'm' | 's'], 0);
      expect(ms).to.equal(s * 1000);
    }));
    expect(formatDuration(1_830_000)).to.equal('30m30s');
    expect(formatDuration(500)).to.equal('500ms');
    expect(formatDuration(3_600_000)).to.equal('1h');
  });
});
