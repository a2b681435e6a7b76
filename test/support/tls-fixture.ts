/**
 * Certificates for TLS tests, made by the project's own certificate
 * authority module (node/tls/cert-authority.ts, openssl CLI), and small
 * TLS probes: the certificate a server presents, an HTTPS request.
 */
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import fs from 'node:fs';
import { createCertificateAuthority, issueCertificate, type CertFiles } from '../../node/tls/cert-authority.js';

export interface TlsFixture {
  readonly dir: string;
  readonly ca: CertFiles;
  /** The node's certificate (127.0.0.1, localhost), signed by ca. */
  readonly server: CertFiles;
  /** A client certificate signed by ca. */
  readonly client: CertFiles;
  /** A CA the node does not trust, and a client certificate it signed. */
  readonly otherCa: CertFiles;
  readonly otherClient: CertFiles;
}

export async function makeTlsFixture(dir: string): Promise<TlsFixture> {
  const ca = await createCertificateAuthority(dir, 'ca');
  const otherCa = await createCertificateAuthority(path.join(dir, 'other'), 'other-ca');
  return {
    dir, ca, otherCa,
    server: await issueCertificate(ca, dir, 'server', { hosts: ['127.0.0.1', 'localhost'] }),
    client: await issueCertificate(ca, dir, 'client', { hosts: [] }),
    otherClient: await issueCertificate(otherCa, path.join(dir, 'other'), 'client', { hosts: [] }),
  };
}

/** The serial number of the certificate the server at port presents (verified against caFile). */
export function presentedSerial(port: number, caFile: string, client?: CertFiles): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1', port, ca: fs.readFileSync(caFile),
      ...(client === undefined ? {} : { cert: fs.readFileSync(client.certFile), key: fs.readFileSync(client.keyFile) }),
    }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

export interface HttpsReply {
  status: number;
  body: string;
}

export function httpsRequest(port: number, caFile: string, method: string, urlPath: string, body?: string): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: urlPath, ca: fs.readFileSync(caFile), headers: body === undefined ? {} : { 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}
