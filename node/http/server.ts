/**
 * The node:http server for the app. Sized so a key of maxKeyBytes fits in the
 * request line even fully percent-encoded, and answering requests that fail
 * before express sees them (malformed request line, oversized headers) with
 * the same JSON error shape instead of Node's bare 400.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { NodeConfig } from '../config/schema.js';
import { clientCertAcceptable, reloadBeforeEachConnection, tlsServerOptions, type TlsServerSetup } from '../tls/server.js';

/** Node's default is 16 KiB; each key byte may take 3 URL characters ("%FF"), plus room for ordinary headers. */
export function maxHeaderBytes(config: Pick<NodeConfig, 'maxKeyBytes'>): number {
  return Math.max(16 * 1024, config.maxKeyBytes * 3 + 16 * 1024);
}

function jsonResponse(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const reply =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? jsonResponse(431, 'Request Header Fields Too Large', 'payload_too_large', 'request line or headers too large (a key over maxKeyBytes?)')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? jsonResponse(408, 'Request Timeout', 'bad_request', 'request not received in time')
        : jsonResponse(400, 'Bad Request', 'bad_request', `malformed HTTP request${err.code ? ` (${err.code})` : ''}`);
  socket.end(reply);
}

export type HttpServerConfig = Pick<NodeConfig, 'maxKeyBytes'> & Partial<Pick<NodeConfig, 'requirePass' | 'authTimeoutMs'>>;

/**
 * `app.authenticatedSockets` (the HTTP app's) lets the server close, while
 * the "default" user has a password, connections that carried no
 * authenticated request (client credentials or the admin token) within
 * authTimeoutMs of connecting: idle or unauthenticated keep-alive sockets
 * cannot pile up and exhaust file descriptors. defaultOpen: whether
 * "default" is on and nopass (an aclfile may give it a password without
 * requirePass; asked per connection, the file may be reloaded); absent:
 * requirePass decides.
 */
export function createHttpServer(
  app: http.RequestListener & { readonly authenticatedSockets?: WeakSet<Socket> }, config: HttpServerConfig, tls?: TlsServerSetup, defaultOpen?: () => boolean,
): http.Server {
  const server = tls === undefined
    ? http.createServer({ maxHeaderSize: maxHeaderBytes(config) }, app)
    : httpsServer(app, config, tls);
  server.on('clientError', onClientError);
  const timeout = config.authTimeoutMs ?? 0;
  const authenticated = app.authenticatedSockets;
  const open = defaultOpen ?? (() => (config.requirePass ?? '') === '');
  if (timeout > 0 && authenticated !== undefined) {
    // With TLS, 'connection' is the TCP socket and requests see the TLS one: key on the socket requests carry.
    server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      if (open()) return;
      const timer = setTimeout(() => {
        if (!authenticated.has(socket)) socket.destroy();
      }, timeout);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    });
  }
  return server;
}

/** tlsHttp: the same app over HTTPS, certificate reloaded like the RESP tls-port's. */
function httpsServer(app: http.RequestListener, config: HttpServerConfig, tls: TlsServerSetup): https.Server {
  const server = https.createServer({ maxHeaderSize: maxHeaderBytes(config), ...tlsServerOptions(tls.material.pem, tls.authClients, tls.policy) }, app);
  reloadBeforeEachConnection(server, tls);
  server.on('secureConnection', (socket) => {
    if (!clientCertAcceptable(socket, tls.authClients)) socket.destroy();
  });
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return server;
}
