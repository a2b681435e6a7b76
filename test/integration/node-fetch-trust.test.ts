/**
 * common/node-fetch.ts's trust options, against a real HTTPS server with a
 * certificate from a private CA naming 127.0.0.1 and localhost: a CA given
 * as PEM (how the Kubernetes operator holds it from a Secret), a server
 * name checked instead of the URL's host (pods are reached by IP, their
 * certificates name DNS names only), any name (peers: the CA signature
 * alone), and a clear failure without a CA or with another CA.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { nodeFetch, type NodeTlsTrust } from '../../common/node-fetch.js';
import { makeTempDir } from '../support/node-process.js';
import { makeTlsFixture, type TlsFixture } from '../support/tls-fixture.js';

describe('nodeFetch trust: CA as PEM and the server name checked', function () {
  this.timeout(30000);
  let fixture: TlsFixture;
  let server: https.Server;
  let url: string;

  before(async () => {
    fixture = await makeTlsFixture(path.join(await makeTempDir(), 'tls'));
    server = https.createServer({ cert: fs.readFileSync(fixture.server.certFile), key: fs.readFileSync(fixture.server.keyFile) }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** 'ok', or the failure's cause. */
  const get = (trust: NodeTlsTrust): Promise<string> => nodeFetch(trust)(url).then((r) => r.text(), (err: Error) => `failed: ${(err.cause as Error | undefined)?.message ?? err.message}`);

  it('verifies against a CA given as PEM, under the URL host or a given name', async () => {
    const ca = fs.readFileSync(fixture.ca.certFile, 'utf8');
    expect(await get({ caPem: () => ca })).to.equal('ok');
    expect(await get({ caPem: async () => ca, serverName: 'localhost' })).to.equal('ok');
    expect(await get({ caPem: () => ca, serverName: 'iris.db.svc' })).to.match(/^failed: .*(altnames|does not match)/i);
    expect(await get({ caPem: () => ca, serverName: null }), 'any name: the CA signature alone').to.equal('ok');
  });

  it('fails clearly without a CA, and with a CA that did not sign the certificate whatever the name', async () => {
    expect(await get({ caPem: () => null })).to.match(/^failed: no CA to verify/);
    const other = fs.readFileSync(fixture.otherCa.certFile, 'utf8');
    expect(await get({ caPem: () => other, serverName: null })).to.match(/^failed: .*(self.signed|unable to verify|certificate)/i);
  });
});
