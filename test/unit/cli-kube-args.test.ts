/** `irisctl --kube` / `kubectl irisdb` command lines (operator/cli/kube-args.ts). Pure. */
import { expect } from 'chai';
import { expectThrown } from '../support/expect-thrown.js';
import fc from 'fast-check';
import { CliError, UsageError } from '../../operator/cli/errors.js';
import { type KubeCommand, kubeUsage, parseKubeCommandLine } from '../../operator/cli/kube-args.js';

const parse = (line: string): KubeCommand => parseKubeCommandLine(line === '' ? [] : line.split(' '));

function fails(line: string, type: typeof UsageError | typeof CliError, pattern: RegExp): void {
  expectThrown(() => parse(line), type, pattern, line);
}

describe('irisctl --kube command line', () => {
  it('prints the kube usage with nothing, --help or help, listing the verbs and kubectl flags', () => {
    for (const line of ['', '--help', '-h', 'help', '-n prod --help', 'iris --help']) expect(parse(line), line).to.deep.equal({ kind: 'help', text: kubeUsage() });
    for (const word of ['status', 'failover SHARD', 'switchover SHARD', 'scale', '--context', '-n, --namespace', '--kubeconfig', 'Backups: backup create|list|describe|delete NAME act on IrisBackup objects']) {
      expect(kubeUsage()).to.contain(word);
    }
  });

  it('takes kubectl flags before the cluster or among the verb flags, in both spellings', () => {
    const want: KubeCommand = { kind: 'status', target: { cluster: 'iris', namespace: 'prod', context: 'kind-a', kubeconfig: '/k' }, json: true, watch: false };
    for (const line of [
      '-n prod --context kind-a --kubeconfig /k iris status --json',
      'iris status --json -n prod --context=kind-a --kubeconfig=/k',
      '--namespace=prod iris --context kind-a status --kubeconfig /k --json',
    ]) expect(parse(line), line).to.deep.equal(want);
    expect(parse('iris status')).to.deep.equal({ kind: 'status', target: { cluster: 'iris' }, json: false, watch: false });
    expect(parse('iris slots --json')).to.deep.equal({ kind: 'slots', target: { cluster: 'iris' }, json: true });
  });

  it('parses the requests with the local verbs\' flags, limits and defaults', () => {
    expect(parse('iris failover 1')).to.deep.equal({
      kind: 'request', target: { cluster: 'iris' }, request: { verb: 'failover', shard: 'shard-1' }, wait: { wait: true, timeoutMs: 30 * 60_000 },
    });
    expect(parse('iris switchover shard-2 --to iris-shard-2-1 --no-wait -n db')).to.deep.equal({
      kind: 'request', target: { cluster: 'iris', namespace: 'db' }, request: { verb: 'switchover', shard: 'shard-2', to: 'iris-shard-2-1' }, wait: { wait: false },
    });
    expect(parse('iris scale --replicas 2 --timeout 90s')).to.deep.equal({
      kind: 'request', target: { cluster: 'iris' }, request: { verb: 'scale', scale: { replicasPerShard: 2 } }, wait: { wait: true, timeoutMs: 90_000 },
    });
    fails('iris scale', UsageError, /--shards N, --replicas N or both/);
    fails('iris scale --shards 0', UsageError, /--shards must be an integer from 1/);
    fails('iris switchover 1 --to bad/name', UsageError, /--to must be a node name/);
    fails('iris failover', UsageError, /missing SHARD/);
  });

  it('refuses what locates a local cluster, bad names and flags without values', () => {
    fails('iris status --dir .irisdb', UsageError, /--dir locates a local cluster/);
    fails('iris status --url=http://x', UsageError, /--url locates a local cluster/);
    fails('Iris status', UsageError, /not an IrisCluster name/);
    fails('--bogus iris status', UsageError, /IrisCluster's name comes first/);
    fails('iris', UsageError, /which verb\?/);
    fails('iris status -n', UsageError, /-n needs a value/);
    fails('-n a -n b iris status', UsageError, /given twice/);
    fails('-n Not_A_Namespace iris status', UsageError, /not a namespace name/);
    fails('iris frobnicate', UsageError, /unknown verb "frobnicate"/);
  });

  it('answers that the other local verbs are not available on Kubernetes yet (exit 1, not a usage error)', () => {
    fails('iris backup window', CliError, /irisctl backup window --destination URL/);
    fails('iris rebalance', CliError, /rebalance: not available on Kubernetes yet/);
    fails('iris local up', CliError, /local up: not available on Kubernetes yet/);
  });

  it('never throws anything but UsageError or CliError on arbitrary argument lists', () => {
    const token = fc.oneof(fc.constantFrom('iris', 'status', 'failover', 'scale', '-n', '--context', '--shards', '--to', '1', 'x', '--json', '--kubeconfig=', 'backup'), fc.string({ maxLength: 8 }));
    fc.assert(fc.property(fc.array(token, { maxLength: 8 }), (argv) => {
      try {
        parseKubeCommandLine(argv);
      } catch (err) {
        if (!(err instanceof UsageError) && !(err instanceof CliError)) throw err;
      }
    }), { numRuns: 500 });
  });
});
