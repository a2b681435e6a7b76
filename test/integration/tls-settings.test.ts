/**
 * Redis's TLS tuning settings on a real node, probed with the openssl CLI:
 * --tls-protocols TLSv1.3 refuses a TLS 1.2 handshake and takes a 1.3 one;
 * --tls-ciphers restricts TLS 1.2 to its list (another cipher is refused),
 * --tls-ciphersuites does the same for TLS 1.3, and
 * --tls-prefer-server-ciphers makes the server's order win; a bad value
 * stops the node at startup with a clear error.
 */
import path from 'node:path';
import { expect } from 'chai';
import { makeTempDir, NODE_MAIN, startNode, type RunningNode } from '../support/node-process.js';
import { freePorts } from '../support/ports.js';
import { makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';
import { run } from '../support/run.js';

const sClient = (port: number, fx: TlsFixture, ...extra: string[]) =>
  run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', fx.ca.certFile, '-brief', ...extra], { timeoutMs: 20_000 });

/** The cipher a handshake settled on (openssl -brief prints "Ciphersuite: NAME"), or null when it failed. */
async function negotiated(port: number, fx: TlsFixture, ...extra: string[]): Promise<string | null> {
  const r = await sClient(port, fx, ...extra);
  const m = /Ciphersuite: (\S+)/.exec(r.stderr + r.stdout);
  return r.code === 0 && m !== null ? m[1]! : null;
}

describe('TLS settings: tls-protocols, tls-ciphers, tls-ciphersuites, tls-prefer-server-ciphers', function () {
  this.timeout(120_000);
  let fx: TlsFixture;
  const nodes: RunningNode[] = [];

  const tlsNode = async (...settings: string[]): Promise<number> => {
    const [tlsPort] = await freePorts(1) as [number];
    nodes.push(await startNode({
      port: 0,
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', fx.server.certFile, '--tls-key-file', fx.server.keyFile, ...settings],
    }));
    return tlsPort;
  };

  before(async function () {
    fx = await makeTlsFixture(path.join(await makeTempDir('irisdb-tls-settings-'), 'tls'));
  });
  after(async function () {
    for (const n of nodes) await n.stop();
  });

  it('--tls-protocols TLSv1.3: a TLS 1.2 handshake is refused, a TLS 1.3 one succeeds', async function () {
    const port = await tlsNode('--tls-protocols', 'TLSv1.3');
    expect(await negotiated(port, fx, '-tls1_2')).to.equal(null);
    expect(await negotiated(port, fx, '-tls1_3')).to.match(/^TLS_/);
  });

  it('--tls-protocols TLSv1.2 with --tls-ciphers: only the listed TLS 1.2 cipher is accepted, TLS 1.3 is refused', async function () {
    const port = await tlsNode('--tls-protocols', 'TLSv1.2', '--tls-ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(await negotiated(port, fx, '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256')).to.equal('ECDHE-ECDSA-AES128-GCM-SHA256');
    expect(await negotiated(port, fx, '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384')).to.equal(null);
    expect(await negotiated(port, fx, '-tls1_3')).to.equal(null);
  });

  it('--tls-ciphersuites limits TLS 1.3; with --tls-prefer-server-ciphers the server\'s order wins', async function () {
    const only = await tlsNode('--tls-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256');
    expect(await negotiated(only, fx, '-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384')).to.equal(null);
    expect(await negotiated(only, fx, '-tls1_3', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256')).to.equal('TLS_CHACHA20_POLY1305_SHA256');
    // The client prefers AES-256 first; the server lists AES-128 first.
    const clientOrder = ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256'];
    const serverList = ['--tls-ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384'];
    const clientWins = await tlsNode(...serverList);
    expect(await negotiated(clientWins, fx, ...clientOrder)).to.equal('ECDHE-ECDSA-AES256-GCM-SHA384');
    const serverWins = await tlsNode(...serverList, '--tls-prefer-server-ciphers', 'yes');
    expect(await negotiated(serverWins, fx, ...clientOrder)).to.equal('ECDHE-ECDSA-AES128-GCM-SHA256');
  });

  it('an unsupported protocol stops the node at startup, saying which', async function () {
    const dir = await makeTempDir('irisdb-tls-bad-');
    const r = await run(process.execPath, [NODE_MAIN, '--port', '0', '--tls-port', '0', '--tls-cert-file', fx.server.certFile, '--tls-key-file', fx.server.keyFile,
      '--tls-protocols', 'TLSv1.1', '--data-dir', dir]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('tlsProtocols: unknown or unsupported version "TLSv1.1"');
  });
});
