/**
 * The TLS probe HTTP forwarding asks a peer's scheme with (issue #14,
 * node/http/forward-probe.ts), against real servers on loopback: an HTTPS
 * server with the cluster CA's certificate, a plain HTTP server, one that
 * requires a client certificate, a closed port; a node without the CA (or
 * serving HTTPS) has no probe. The probe never sends a request.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { peerSchemeProbe, probeScheme } from '../../node/http/forward-probe.js';
import { testConfig } from '../support/resp-test-server.js';
import { makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';
import { freePort } from '../support/ports.js';

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('forward-probe: a bare TLS handshake tells a peer\'s scheme', function () {
  this.timeout(30_000);
  let dir: string;
  let fx: TlsFixture;
  let requests = 0;
  const servers: Array<http.Server | https.Server> = [];
  const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests++;
    res.end('ok');
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-probe-'));
    fx = await makeTlsFixture(dir);
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const trust = (): { caFile: string; certFile: string; keyFile: string } => ({ caFile: fx.ca.certFile, certFile: fx.client.certFile, keyFile: fx.client.keyFile });
  const target = (port: number): { name: string; host: string; httpPort: number } => ({ name: 'peer', host: '127.0.0.1', httpPort: port });

  it('https for an HTTPS server (also one asking for a client certificate), http for a plain one, null for a closed port; no request sent', async () => {
    const tlsServer = https.createServer({ cert: fs.readFileSync(fx.server.certFile), key: fs.readFileSync(fx.server.keyFile) }, onRequest);
    const mtls = https.createServer({ cert: fs.readFileSync(fx.server.certFile), key: fs.readFileSync(fx.server.keyFile), ca: fs.readFileSync(fx.ca.certFile), requestCert: true, rejectUnauthorized: true }, onRequest);
    const plain = http.createServer(onRequest);
    servers.push(tlsServer, mtls, plain);
    expect(await probeScheme(target(await listen(tlsServer)), trust(), 5000)).to.equal('https');
    expect(await probeScheme(target(await listen(mtls)), trust(), 5000)).to.equal('https');
    expect(await probeScheme(target(await listen(plain)), trust(), 5000)).to.equal('http');
    expect(await probeScheme(target(await freePort()), trust(), 5000)).to.equal(null);
    expect(requests, 'a probe is a handshake, never a request').to.equal(0);
  });

  it('a node without the cluster CA, or serving HTTPS, never probes', () => {
    expect(peerSchemeProbe(testConfig())).to.equal(undefined);
    expect(peerSchemeProbe(testConfig({ tlsCaCertFile: fx.ca.certFile }))).to.be.a('function');
    expect(peerSchemeProbe(testConfig({ tlsCaCertFile: fx.ca.certFile, tlsCertFile: fx.server.certFile, tlsKeyFile: fx.server.keyFile, tlsHttp: true }))).to.equal(undefined);
  });
});
