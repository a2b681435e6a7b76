/**
 * A small certificate authority on disk for the local cluster and tests:
 * a CA and certificates it signs, made with the openssl CLI (Node cannot
 * sign certificates). ECDSA P-256 keys, written 0600.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export class CertificateError extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

async function openssl(args: string[], file: string): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new CertificateError(`openssl failed making ${file}: ${(e.stderr ?? e.message).trim()}`, file);
  }
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA as DIR/NAME.crt and DIR/NAME.key. */
export async function createCertificateAuthority(dir: string, name: string, days = 3650): Promise<CertFiles> {
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
  await openssl(['req', '-x509', ...KEY_ARGS, '-keyout', files.keyFile, '-out', files.certFile, '-days', String(days),
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], files.certFile);
  await fs.promises.chmod(files.keyFile, 0o600);
  return files;
}

export interface IssueOptions {
  /** Subject alternative names: IP addresses and DNS names the certificate is valid for. */
  readonly hosts: readonly string[];
  readonly days?: number;
}

/** A certificate signed by `ca`, usable by servers and as a client certificate, as DIR/NAME.crt and DIR/NAME.key. */
export async function issueCertificate(ca: CertFiles, dir: string, name: string, opts: IssueOptions): Promise<CertFiles> {
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const sans = opts.hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
  try {
    await openssl(['req', ...KEY_ARGS, '-keyout', files.keyFile, '-out', csr, '-subj', `/CN=${name}`], csr);
    await fs.promises.chmod(files.keyFile, 0o600);
    await fs.promises.writeFile(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n${sans === '' ? '' : `subjectAltName=${sans}\n`}`);
    // A random serial: a renewed certificate is told apart from the one it replaces.
    await openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', '0x' + randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
      '-days', String(opts.days ?? 825), '-extfile', ext, '-out', files.certFile], files.certFile);
  } finally {
    await fs.promises.rm(csr, { force: true });
    await fs.promises.rm(ext, { force: true });
  }
  return files;
}
