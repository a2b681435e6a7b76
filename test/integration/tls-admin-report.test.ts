/**
 * GET /admin/tls on a real node (issue #14, the operator's CA rotation): the
 * SHA-256 fingerprints of the CA file and of the served certificate, behind
 * the admin token, following the files on disk without a restart — a CA
 * bundle gaining a second CA, then a certificate from that CA swapped in as
 * a Secret volume does (rename over the old file).
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { nodeFetch } from '../../common/node-fetch.js';
import { issueCertificate } from '../../node/tls/cert-authority.js';
import { pemFingerprints, type TlsReport } from '../../node/tls/tls-report.js';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { freePorts } from '../support/ports.js';
import { makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'admin-token-for-tls-report';

const fingerprintOf = (file: string): string => new X509Certificate(fs.readFileSync(file)).fingerprint256;

/** Replaces `file` the way the kubelet updates a Secret volume: a new file renamed over the old one. */
function swapIn(file: string, content: string | Buffer): void {
  fs.writeFileSync(`${file}.new`, content);
  fs.renameSync(`${file}.new`, file);
}

describe('GET /admin/tls: what the node trusts and serves', function () {
  this.timeout(120_000);
  let fx: TlsFixture;
  let dir: string;
  let node: RunningNode;
  let plain: RunningNode | undefined;
  let files: { cert: string; key: string; ca: string };

  before(async () => {
    dir = await makeTempDir('irisdb-tls-report-');
    fx = await makeTlsFixture(dir);
    // The node reads copies the test replaces, as a pod reads its Secret volume.
    files = { cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key'), ca: path.join(dir, 'ca.crt') };
    fs.copyFileSync(fx.server.certFile, files.cert);
    fs.copyFileSync(fx.server.keyFile, files.key);
    fs.copyFileSync(fx.ca.certFile, files.ca);
    const [tlsPort] = await freePorts(1) as [number];
    node = await startNode({
      port: 0,
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', files.ca, '--tls-http', 'yes', '--admin-token', TOKEN],
      ready: (httpPort) => nodeFetch({ caFile: files.ca })(`https://127.0.0.1:${httpPort}/readyz`).then((r) => r.status === 200, () => false),
    });
  });

  after(async () => {
    await node?.stop();
    await plain?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function report(token = TOKEN): Promise<{ status: number; body: TlsReport }> {
    // Trusts both CAs: the node may serve a certificate from either during the test.
    const res = await nodeFetch({ caPem: () => fs.readFileSync(fx.ca.certFile, 'utf8') + fs.readFileSync(fx.otherCa.certFile, 'utf8') })(`https://127.0.0.1:${node.httpPort}/admin/tls`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() as TlsReport };
  }

  it('needs the admin token', async () => {
    expect((await report('wrong')).status).to.equal(401);
  });

  it('reports the CA file\'s and the served certificate\'s fingerprints', async () => {
    const { status, body } = await report();
    expect(status).to.equal(200);
    expect(body.enabled).to.equal(true);
    expect(body.caFingerprints).to.deep.equal([fingerprintOf(fx.ca.certFile)]);
    expect(body.certificate?.fingerprint256).to.equal(fingerprintOf(fx.server.certFile));
    expect(body.certificate?.issuer).to.contain('CN=ca');
    expect(Date.parse(body.certificate!.notAfter)).to.equal(Date.parse(new X509Certificate(fs.readFileSync(fx.server.certFile)).validTo));
  });

  it('follows a CA bundle and a certificate replaced on disk, without a restart', async () => {
    const bundle = fs.readFileSync(fx.ca.certFile, 'utf8') + fs.readFileSync(fx.otherCa.certFile, 'utf8');
    swapIn(files.ca, bundle);
    const both = pemFingerprints(bundle);
    expect(both).to.have.length(2);
    await waitFor('the report to list both CAs', async () => JSON.stringify((await report()).body.caFingerprints) === JSON.stringify(both), { timeoutMs: 10_000, intervalMs: 100 });
    // A certificate from the second CA: key first, then the certificate (a half-swapped pair keeps the previous one loaded).
    const next = await issueCertificate(fx.otherCa, path.join(dir, 'next'), 'server', { hosts: ['127.0.0.1', 'localhost'] });
    swapIn(files.key, fs.readFileSync(next.keyFile));
    swapIn(files.cert, fs.readFileSync(next.certFile));
    await waitFor('the report to show the new certificate', async () => (await report()).body.certificate?.fingerprint256 === fingerprintOf(next.certFile), { timeoutMs: 10_000, intervalMs: 100 });
    const { body } = await report();
    expect(body.certificate?.issuer).to.contain('CN=other-ca');
    expect(node.process.exitCode, 'the node did not restart').to.equal(null);
  });

  it('says TLS is off on a node without it', async () => {
    plain = await startNode({ args: ['--admin-token', TOKEN] });
    const res = await fetch(`http://127.0.0.1:${plain.httpPort}/admin/tls`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await res.json()).to.deep.equal({ enabled: false, caFingerprints: [], certificate: null });
  });
});
