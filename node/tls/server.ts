/**
 * TLS listeners (RESP tls-port, HTTPS): TLS 1.2+, optional client
 * certificates (Redis's tls-auth-clients), and the certificate re-read from
 * disk before each new connection's handshake.
 */
import tls from 'node:tls';
import type { TlsMaterial, TlsPem } from './material.js';
import { DEFAULT_TLS_POLICY, type TlsPolicy } from './policy.js';

export type TlsAuthClients = 'yes' | 'no' | 'optional';

export interface TlsServerSetup {
  readonly material: TlsMaterial;
  readonly authClients: TlsAuthClients;
  /** tls-protocols, tls-ciphers, tls-ciphersuites, tls-prefer-server-ciphers (policy.ts); absent: TLS 1.2-1.3 with Node's ciphers. */
  readonly policy?: TlsPolicy;
}

export function tlsServerOptions(pem: TlsPem, authClients: TlsAuthClients, policy: TlsPolicy = DEFAULT_TLS_POLICY): tls.TlsOptions {
  return {
    ...pem,
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    ...(policy.ciphers !== '' ? { ciphers: policy.ciphers } : {}),
    honorCipherOrder: policy.honorCipherOrder,
    // yes: no certificate, no handshake. optional: asked for, checked after the handshake (clientCertAcceptable).
    requestCert: authClients !== 'no',
    rejectUnauthorized: authClients === 'yes',
  };
}

/**
 * Checks the files before each connection, ahead of the TLS listener's own
 * 'connection' handler, so a certificate changed on disk is the one the next
 * handshake presents; connections already up keep their session.
 */
export function reloadBeforeEachConnection(server: tls.Server, setup: TlsServerSetup): void {
  let applied = setup.material.version;
  server.prependListener('connection', () => {
    setup.material.refresh();
    if (setup.material.version === applied) return;
    applied = setup.material.version;
    server.setSecureContext(tlsServerOptions(setup.material.pem, setup.authClients, setup.policy));
  });
}

/** tls-auth-clients optional: a client may present no certificate, but not one the CA did not sign. */
export function clientCertAcceptable(socket: tls.TLSSocket, authClients: TlsAuthClients): boolean {
  if (authClients !== 'optional' || socket.authorized) return true;
  const peer = socket.getPeerCertificate();
  return peer === null || Object.keys(peer).length === 0;
}

/** A TLS server calling onSocket with each handshaken connection whose client certificate is acceptable. */
export function createTlsServer(setup: TlsServerSetup, netOptions: Pick<tls.TlsOptions, 'allowHalfOpen' | 'noDelay' | 'keepAlive' | 'keepAliveInitialDelay' | 'handshakeTimeout'>, onSocket: (socket: tls.TLSSocket) => void, onRefused: (reason: string) => void): tls.Server {
  const server = tls.createServer({ ...netOptions, ...tlsServerOptions(setup.material.pem, setup.authClients, setup.policy) }, (socket) => {
    if (!clientCertAcceptable(socket, setup.authClients)) {
      onRefused('tls_client_certificate');
      socket.destroy();
      return;
    }
    onSocket(socket);
  });
  server.on('tlsClientError', (_err, socket) => {
    onRefused('tls_handshake');
    socket.destroy();
  });
  reloadBeforeEachConnection(server, setup);
  return server;
}
