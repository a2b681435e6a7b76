/**
 * The cluster bus over mutual TLS (tlsCluster): every bus connection a node
 * opens (replication link, isolation probe, slot migration, Pub/Sub and
 * change-feed links) presents the node's certificate and verifies the
 * peer's against the cluster CA; the bus listener requires the same. The
 * HMAC handshake (replication/bus-auth.ts) still runs inside.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { NodeConfig } from '../config/schema.js';

export interface BusTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** The files the bus uses, or undefined when the bus is plain TCP. */
export function busTlsFiles(c: Pick<NodeConfig, 'tlsCluster' | 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaCertFile'>): BusTlsFiles | undefined {
  return c.tlsCluster ? { certFile: c.tlsCertFile, keyFile: c.tlsKeyFile, caFile: c.tlsCaCertFile } : undefined;
}

/**
 * Connects to a peer's bus port. With TLS the files are read for each
 * connection, so a renewed certificate is used from the next one. Peers are
 * reached by address (pod IPs change), so the CA signature is what
 * identifies a cluster member, not the host name; writes made before the
 * handshake completes are sent after it.
 */
export function dialBus(host: string, port: number, files: BusTlsFiles | undefined): net.Socket {
  if (files === undefined) return net.connect({ host, port });
  let pem: { ca: Buffer; cert: Buffer; key: Buffer };
  try {
    pem = { ca: fs.readFileSync(files.caFile), cert: fs.readFileSync(files.certFile), key: fs.readFileSync(files.keyFile) };
  } catch (err) {
    const socket = new net.Socket();
    process.nextTick(() => socket.destroy(new Error(`bus TLS files unreadable: ${(err as Error).message}`)));
    return socket;
  }
  return tls.connect({ host, port, ...pem, minVersion: 'TLSv1.2', checkServerIdentity: () => undefined });
}
