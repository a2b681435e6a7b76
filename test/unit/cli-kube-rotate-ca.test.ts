/** `irisctl --kube CLUSTER rotate-ca` command lines (operator/cli/kube-rotate-ca.ts through kube-args.ts) and who may ask (rotateCaRefusal). Pure. */
import { expect } from 'chai';
import { UsageError } from '../../operator/cli/errors.js';
import { kubeUsage, parseKubeCommandLine } from '../../operator/cli/kube-args.js';
import { rotateCaRefusal } from '../../operator/kube/reconcile/tls-ca-rotation.js';
import type { IrisCluster } from '../../operator/kube/iris-cluster.js';
import { expectThrown } from '../support/expect-thrown.js';

const parse = (line: string): ReturnType<typeof parseKubeCommandLine> => parseKubeCommandLine(line.split(' '));

describe('irisctl --kube rotate-ca', () => {
  it('asks once and returns, or follows with --wait until a timeout (default 30m)', () => {
    expect(parse('iris rotate-ca')).to.deep.equal({ kind: 'rotate-ca', target: { cluster: 'iris' }, wait: false, timeoutMs: 30 * 60_000 });
    expect(parse('-n db iris rotate-ca --wait --timeout 5m')).to.deep.equal({ kind: 'rotate-ca', target: { cluster: 'iris', namespace: 'db' }, wait: true, timeoutMs: 5 * 60_000 });
  });

  it('refuses bad flags with usage errors, and has its own help', () => {
    expectThrown(() => parse('iris rotate-ca --timeout soon'), UsageError, /--timeout must be a duration/, 'timeout');
    expectThrown(() => parse('iris rotate-ca --now'), UsageError, /--now/, 'unknown flag');
    expectThrown(() => parse('iris rotate-ca shard-1'), UsageError, /shard-1/, 'positional');
    const help = parse('iris rotate-ca --help');
    expect(help.kind).to.equal('help');
    expect((help as { text: string }).text).to.contain('irisctl --kube [-n NS] CLUSTER rotate-ca').and.contain('--wait').and.contain('ca.crt');
    expect(kubeUsage()).to.contain('rotate-ca [--wait]');
  });

  it('is the operator\'s own CA only', () => {
    const cr = (tls: Record<string, unknown> | undefined): IrisCluster => ({ metadata: { name: 'iris', namespace: 'db' }, spec: tls === undefined ? {} : { tls } } as IrisCluster);
    expect(rotateCaRefusal(cr({ enabled: true }))).to.equal(null);
    expect(rotateCaRefusal(cr(undefined))).to.match(/spec.tls is not enabled/);
    expect(rotateCaRefusal(cr({ enabled: true, secretRef: { name: 'mine' } }))).to.match(/only the operator's own CA/);
    expect(rotateCaRefusal(cr({ enabled: true, certManager: { issuerRef: { name: 'ca' } } }))).to.match(/cert-manager/);
  });
});
