/** TLS settings checks (pure) and the reloading certificate material (files injected). */
import { expect } from 'chai';
import { parseCli, ConfigError } from '../../node/config/load.js';
import { plainRespEnabled, tlsEnabled, tlsSettingsError, type TlsSettings } from '../../node/tls/settings.js';
import { TlsMaterial, TlsMaterialError, type TlsFileSystem } from '../../node/tls/material.js';
import { silentLogger } from '../../common/logger.js';
import { makeTlsFixture } from '../support/tls-fixture.js';
import { makeTempDir } from '../support/node-process.js';
import fs from 'node:fs';

const base: TlsSettings = { port: 6379, tlsPort: 0, tlsCertFile: '', tlsKeyFile: '', tlsCaCertFile: '', tlsAuthClients: 'no', tlsHttp: false, tlsCluster: false };

describe('TLS settings', () => {
  it('is off by default and needs nothing then', () => {
    expect(tlsEnabled(base)).to.equal(false);
    expect(tlsSettingsError(base)).to.equal(null);
    expect(plainRespEnabled(base)).to.equal(true);
  });

  it('needs a certificate and key for any TLS listener, and a CA for client certificates or the bus', () => {
    expect(tlsSettingsError({ ...base, tlsPort: 6380 })).to.match(/tlsPort needs tlsCertFile/);
    expect(tlsSettingsError({ ...base, tlsHttp: true, tlsCertFile: 'c' })).to.match(/tlsHttp needs tlsKeyFile/);
    expect(tlsSettingsError({ ...base, tlsPort: 6380, tlsCertFile: 'c', tlsKeyFile: 'k' })).to.equal(null);
    expect(tlsSettingsError({ ...base, tlsPort: 6380, tlsCertFile: 'c', tlsKeyFile: 'k', tlsAuthClients: 'yes' })).to.match(/needs tlsCaCertFile/);
    expect(tlsSettingsError({ ...base, tlsCluster: true, tlsCertFile: 'c', tlsKeyFile: 'k' })).to.match(/tlsCluster needs tlsCaCertFile/);
  });

  it('--port 0 means no plain port only with a TLS port (as Redis); otherwise a free port', () => {
    expect(plainRespEnabled({ port: 0, tlsPort: 6380 })).to.equal(false);
    expect(plainRespEnabled({ port: 0, tlsPort: 0 })).to.equal(true);
    expect(plainRespEnabled({ port: 6379, tlsPort: 6380 })).to.equal(true);
  });

  it('is checked at startup with a clear error, and a TLS port must differ from the others', () => {
    const run = (argv: string[]) => () => parseCli({ argv, env: {}, readFile: () => '' });
    expect(run(['--tls-port', '6380'])).to.throw(ConfigError, /tlsPort needs tlsCertFile/);
    expect(run(['--tls-port', '6379', '--tls-cert-file', 'c', '--tls-key-file', 'k'])).to.throw(ConfigError, /port and tlsPort are both 6379/);
    expect(run(['--tls-auth-clients', 'maybe'])).to.throw(ConfigError, /yes, no, optional/);
  });
});

describe('TLS material', () => {
  it('reloads only when a file changes, and keeps the old pair when the new one does not load', async () => {
    const dir = await makeTempDir('irisdb-tls-unit-');
    const fx = await makeTlsFixture(dir);
    const stamps = new Map<string, number>();
    let reads = 0;
    const files: TlsFileSystem = {
      stamp: (f) => String(stamps.get(f) ?? 0),
      read: (f) => { reads++; return fs.readFileSync(f); },
    };
    const m = new TlsMaterial({ certFile: fx.server.certFile, keyFile: fx.server.keyFile, caFile: fx.ca.certFile }, silentLogger(), files);
    const first = m.pem.cert;
    expect(m.version).to.equal(1);
    const before = reads;
    expect(m.refresh()).to.equal(false);
    expect(reads).to.equal(before);
    // Half a renewal: a certificate whose key is not there yet.
    fs.copyFileSync(fx.client.certFile, fx.server.certFile);
    stamps.set(fx.server.certFile, 1);
    expect(m.refresh()).to.equal(false);
    expect(m.pem.cert.equals(first)).to.equal(true);
    // The key arrives: the pair loads.
    fs.copyFileSync(fx.client.keyFile, fx.server.keyFile);
    stamps.set(fx.server.keyFile, 1);
    expect(m.refresh()).to.equal(true);
    expect(m.version).to.equal(2);
    expect(m.pem.cert.equals(fs.readFileSync(fx.client.certFile))).to.equal(true);
  });

  it('refuses to start with a key that does not match the certificate', async () => {
    const fx = await makeTlsFixture(await makeTempDir('irisdb-tls-unit-'));
    expect(() => new TlsMaterial({ certFile: fx.server.certFile, keyFile: fx.client.keyFile, caFile: '' }, silentLogger())).to.throw(TlsMaterialError);
  });
});
