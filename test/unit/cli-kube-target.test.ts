/**
 * How `irisctl --kube` finds the cluster, as kubectl does (operator/cli/kube-target.ts):
 * --kubeconfig or KUBECONFIG, --context, -n else the context's namespace
 * else "default"; and the errors a user can act on. Real kubeconfig files;
 * the API server is a loopback port nothing listens on.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from '../../operator/cli/errors.js';
import { KubeClusterRef } from '../../operator/cli/kube-target.js';
import { freePort } from '../support/ports.js';

function kubeconfig(dir: string, port: number): string {
  const file = path.join(dir, 'config');
  fs.writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: a',
    'clusters:', `- name: c`, `  cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}`,
    'users:', '- name: u', '  user: {token: t}',
    'contexts:', '- name: a', '  context: {cluster: c, user: u, namespace: prod}', '- name: b', '  context: {cluster: c, user: u}',
    '',
  ].join('\n'));
  return file;
}

async function refused(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(CliError);
  expect((caught as Error).message).to.match(pattern);
}

describe('irisctl --kube: finding the IrisCluster through a kubeconfig', () => {
  let dir: string;
  let port: number;
  let file: string;
  const saved = process.env.KUBECONFIG;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisctl-kube-'));
    port = await freePort();
    file = kubeconfig(dir, port);
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });

  it('takes the namespace from -n, else the context, else default', async () => {
    const cases: Array<[Parameters<typeof KubeClusterRef.open>[0], string]> = [
      [{ cluster: 'iris', kubeconfig: file }, 'IrisCluster prod/iris'],
      [{ cluster: 'iris', kubeconfig: file, context: 'b' }, 'IrisCluster default/iris'],
      [{ cluster: 'iris', kubeconfig: file, context: 'b', namespace: 'x' }, 'IrisCluster x/iris'],
      [{ cluster: 'iris', kubeconfig: file, namespace: 'y' }, 'IrisCluster y/iris'],
    ];
    for (const [target, label] of cases) {
      const ref = await KubeClusterRef.open(target);
      expect(ref.label).to.equal(label);
      ref.close();
    }
  });

  it('reads KUBECONFIG when --kubeconfig is not given', async () => {
    process.env.KUBECONFIG = file;
    const ref = await KubeClusterRef.open({ cluster: 'iris' });
    expect(ref.label).to.equal('IrisCluster prod/iris');
    ref.close();
  });

  it('names the unknown context, the unreadable file and the unreachable API server', async () => {
    await refused(KubeClusterRef.open({ cluster: 'iris', kubeconfig: file, context: 'nope' }), /^the kubeconfig has no context "nope" \(kubectl config get-contexts\)$/);
    await refused(KubeClusterRef.open({ cluster: 'iris', kubeconfig: path.join(dir, 'missing') }), /^reading the kubeconfig .*missing failed: ENOENT/);
    const ref = await KubeClusterRef.open({ cluster: 'iris', kubeconfig: file });
    try {
      await refused(ref.get(), new RegExp(`^cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    } finally {
      ref.close();
    }
  });
});
