/** Redis's TLS tuning settings as Node TLS options (node/tls/policy.ts): plain data. */
import { expect } from 'chai';
import { tlsPolicy, tlsPolicyError } from '../../node/tls/policy.js';

const DEFAULTS = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:HIGH:!aNULL';
const base = { tlsProtocols: 'TLSv1.2 TLSv1.3', tlsCiphers: '', tlsCiphersuites: '', tlsPreferServerCiphers: false };

describe('TLS policy (pure)', () => {
  it('defaults: TLS 1.2 to 1.3 with Node\'s ciphers', () => {
    expect(tlsPolicy(base, DEFAULTS)).to.deep.equal({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: '', honorCipherOrder: false });
  });

  it('tls-protocols picks the range, in any order and case', () => {
    expect(tlsPolicy({ ...base, tlsProtocols: 'TLSv1.3' }, DEFAULTS)).to.deep.include({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(tlsPolicy({ ...base, tlsProtocols: ' tlsv1.3  TLSv1.2 ' }, DEFAULTS)).to.deep.include({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    expect(tlsPolicyError({ ...base, tlsProtocols: 'TLSv1' }, DEFAULTS)).to.match(/unsupported version "TLSv1"/);
    expect(tlsPolicyError({ ...base, tlsProtocols: 'SSLv3 TLSv1.2' }, DEFAULTS)).to.match(/"SSLv3"/);
  });

  it('one cipher setting keeps the other version\'s default half', () => {
    expect(tlsPolicy({ ...base, tlsCiphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, DEFAULTS).ciphers)
      .to.equal('TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256');
    expect(tlsPolicy({ ...base, tlsCiphersuites: 'TLS_CHACHA20_POLY1305_SHA256' }, DEFAULTS).ciphers)
      .to.equal('TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:HIGH:!aNULL');
    expect(tlsPolicyError({ ...base, tlsCiphersuites: 'ECDHE-RSA-AES128-GCM-SHA256' }, DEFAULTS)).to.match(/not a TLS 1.3 suite/);
  });

  it('tls-prefer-server-ciphers is honorCipherOrder', () => {
    expect(tlsPolicy({ ...base, tlsPreferServerCiphers: true }, DEFAULTS).honorCipherOrder).to.equal(true);
  });
});
