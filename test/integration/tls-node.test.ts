/**
 * TLS on one node with stock clients: redis-cli --tls, ioredis, openssl
 * s_client, node:https; wrong CAs, plain-text clients and missing client
 * certificates refused; a certificate renewed on disk served to the next
 * connection while existing ones stay up (issue #14).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { makeTempDir, startNode, type RunningNode } from '../support/node-process.js';
import { freePorts } from '../support/ports.js';
import { run } from '../support/run.js';
import { waitFor } from '../support/wait.js';
import { httpsRequest, makeTlsFixture, presentedSerial, type TlsFixture } from '../support/tls-fixture.js';
import { issueCertificate } from '../../node/tls/cert-authority.js';

function tlsArgs(fx: TlsFixture, tlsPort: number, authClients: string): string[] {
  return ['--tls-port', String(tlsPort), '--tls-cert-file', fx.server.certFile, '--tls-key-file', fx.server.keyFile,
    '--tls-ca-cert-file', fx.ca.certFile, '--tls-auth-clients', authClients];
}

/** Bytes a plain-text client gets back from the TLS port for a RESP PING, until the server closes. */
function plainPing(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    socket.on('error', () => { /* closed by the server: what the test expects */ });
    socket.on('close', () => resolve(got));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
  });
}

describe('TLS on a node (tls-port, https, mTLS, reload)', function () {
  this.timeout(120_000);
  let fx: TlsFixture;
  let node: RunningNode;
  let tlsPort: number;
  const clients: Redis[] = [];

  before(async () => {
    fx = await makeTlsFixture(await makeTempDir('irisdb-tls-'));
    [tlsPort] = await freePorts(1) as [number];
    // TLS only: no plain RESP port (--port 0), HTTPS, client certificates optional.
    node = await startNode({
      port: 0,
      args: [...tlsArgs(fx, tlsPort, 'optional'), '--tls-http', 'yes'],
      ready: (httpPort) => httpsRequest(httpPort, fx.ca.certFile, 'GET', '/readyz').then((r) => r.status === 200, () => false),
    });
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    await node?.stop();
  });

  function tlsClient(extra: Record<string, unknown> = {}): Redis {
    const c = new Redis({ host: '127.0.0.1', port: tlsPort, tls: { ca: fs.readFileSync(fx.ca.certFile), ...extra }, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    clients.push(c);
    return c;
  }

  it('serves redis-cli --tls --cacert', async () => {
    const set = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '-p', String(tlsPort), 'SET', 'tls:cli', 'hello']);
    expect(set.stdout.trim()).to.equal('OK');
    const get = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '-p', String(tlsPort), 'GET', 'tls:cli']);
    expect(get.stdout.trim()).to.equal('hello');
  });

  it('serves ioredis with tls: { ca }', async () => {
    const c = tlsClient();
    await c.connect();
    expect(await c.set('tls:io', 'v1')).to.equal('OK');
    expect(await c.get('tls:cli')).to.equal('hello');
    expect(await c.get('tls:io')).to.equal('v1');
  });

  it('completes an openssl s_client handshake with TLS 1.3 and TLS 1.2, verified against the CA', async () => {
    for (const [flag, version] of [['-tls1_3', 'TLSv1.3'], ['-tls1_2', 'TLSv1.2']] as const) {
      const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, '-CAfile', fx.ca.certFile, '-verify_return_error', '-brief', '-ign_eof', flag], { input: 'PING\r\nQUIT\r\n', timeoutMs: 20_000 });
      const out = r.stdout + r.stderr;
      expect(out, out).to.include(`Protocol version: ${version}`);
      expect(out, out).to.include('Verification: OK');
      expect(r.stdout, out).to.include('+PONG');
    }
  });

  it('refuses a client that trusts another CA', async () => {
    const r = await run('redis-cli', ['--tls', '--cacert', fx.otherCa.certFile, '-p', String(tlsPort), 'PING']);
    expect(r.stdout).to.not.include('PONG');
    expect(r.stdout + r.stderr).to.match(/certificate|SSL|TLS/i);
    const c = tlsClient({ ca: fs.readFileSync(fx.otherCa.certFile) });
    const errors: string[] = [];
    c.on('error', (e: Error) => errors.push(e.message));
    expect(await c.connect().then(() => 'connected', () => 'refused')).to.equal('refused');
    expect(errors.join('\n')).to.match(/self.signed|unable to verify|certificate/i);
  });

  it('refuses plain-text RESP on the TLS port, and names the TLS port as the node\'s port', async () => {
    expect(await plainPing(tlsPort)).to.not.include('PONG');
    // With --port 0 there is no plain port: CONFIG GET port, INFO and CLUSTER SLOTS give the TLS port.
    const config = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '-p', String(tlsPort), 'CONFIG', 'GET', 'port']);
    expect(config.stdout.split('\n').map((l) => l.trim())).to.deep.equal(['port', String(tlsPort), '']);
  });

  it('with tls-auth-clients optional, accepts a client certificate from the CA and refuses one from another CA', async () => {
    const good = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '--cert', fx.client.certFile, '--key', fx.client.keyFile, '-p', String(tlsPort), 'PING']);
    expect(good.stdout.trim()).to.equal('PONG');
    const bad = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '--cert', fx.otherClient.certFile, '--key', fx.otherClient.keyFile, '-p', String(tlsPort), 'PING']);
    expect(bad.stdout).to.not.include('PONG');
  });

  it('serves the HTTP API over HTTPS only', async () => {
    expect((await httpsRequest(node.httpPort, fx.ca.certFile, 'PUT', '/v1/kv/tls:http', 'over-https')).status).to.equal(200);
    const got = await httpsRequest(node.httpPort, fx.ca.certFile, 'GET', '/v1/kv/tls:http');
    expect(got).to.deep.equal({ status: 200, body: 'over-https' });
    const plain = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`).then((r) => r.status, (e: Error) => e.message);
    expect(plain).to.not.equal(200);
    const wrongCa = await httpsRequest(node.httpPort, fx.otherCa.certFile, 'GET', '/healthz').then((r) => r.status, (e: Error) => e.message);
    expect(String(wrongCa)).to.match(/self.signed|unable to verify|certificate/i);
  });

  it('serves a certificate renewed on disk to the next connection and keeps existing connections', async () => {
    const before = await presentedSerial(tlsPort, fx.ca.certFile);
    const open = tlsClient();
    await open.connect();
    expect(await open.ping()).to.equal('PONG');
    // Renewal as a tool does it: new files written aside, then renamed over the old ones.
    const renewed = await issueCertificate(fx.ca, path.join(fx.dir, 'renewed'), 'server', { hosts: ['127.0.0.1', 'localhost'] });
    await fs.promises.rename(renewed.keyFile, fx.server.keyFile);
    await fs.promises.rename(renewed.certFile, fx.server.certFile);
    const after = await waitFor('the renewed certificate to be presented', async () => {
      const serial = await presentedSerial(tlsPort, fx.ca.certFile);
      return serial !== before ? serial : null;
    }, { timeoutMs: 10_000 });
    expect(after).to.not.equal(before);
    expect(await open.ping()).to.equal('PONG');
    expect(await open.get('tls:io')).to.equal('v1');
    // HTTPS uses the same files.
    const httpsSerial = await presentedSerial(node.httpPort, fx.ca.certFile);
    expect(httpsSerial).to.equal(after);
  });

  describe('with tls-auth-clients yes', () => {
    let strict: RunningNode;
    let strictTlsPort: number;

    before(async () => {
      [strictTlsPort] = await freePorts(1) as [number];
      strict = await startNode({ args: tlsArgs(fx, strictTlsPort, 'yes') });
    });

    after(async () => {
      await strict?.stop();
    });

    it('refuses a client without a certificate and accepts one with a certificate from the CA', async () => {
      const without = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '-p', String(strictTlsPort), 'PING']);
      expect(without.stdout).to.not.include('PONG');
      const withCert = await run('redis-cli', ['--tls', '--cacert', fx.ca.certFile, '--cert', fx.client.certFile, '--key', fx.client.keyFile, '-p', String(strictTlsPort), 'PING']);
      expect(withCert.stdout.trim()).to.equal('PONG');
    });

    it('keeps the plain port when --port is not 0', async () => {
      const r = await run('redis-cli', ['-p', String(strict.port), 'PING']);
      expect(r.stdout.trim()).to.equal('PONG');
    });
  });
});
