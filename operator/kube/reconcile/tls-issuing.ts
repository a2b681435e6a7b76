/**
 * The operator's own CA and the certificates it signs, as PEM: <cluster>-ca
 * read (or made once), a new CA, a server certificate. Made with the
 * openssl CLI in a private temporary directory (node/tls/cert-authority.ts:
 * Node cannot sign certificates), so the operator's image needs openssl.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../../../node/tls/cert-authority.js';
import { secretText } from '../build/auth-secret.js';
import { CA_CERT_KEY, CA_KEY_KEY, CA_ROTATION_REASON_ANNOTATION, NEXT_CA_CERT_KEY, NEXT_CA_KEY_KEY, caSecret, caSecretName } from '../build/tls-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError, isAlreadyExists } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';
import { CERT_DAYS, certificateNotAfter } from './tls-renewal.js';

export interface Pem { readonly cert: string; readonly key: string }

/** <cluster>-ca as read: the signing CA, the CA a rotation moves to (null: none under way) and why the last rotation started. */
export interface CaState {
  readonly current: Pem;
  readonly next: Pem | null;
  readonly reason: string;
  readonly secret: V1Secret;
}

const DAY_MS = 86_400_000;

async function inTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-tls-'));
  try {
    return await f(dir);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

async function readPem(files: { certFile: string; keyFile: string }): Promise<Pem> {
  return { cert: await fs.promises.readFile(files.certFile, 'utf8'), key: await fs.promises.readFile(files.keyFile, 'utf8') };
}

/** A new self-signed CA, valid `days`. */
export function makeCa(cluster: string, days: number): Promise<Pem> {
  return inTempDir(async (dir) => readPem(await createCertificateAuthority(dir, `irisdb-${cluster}-ca`, days)));
}

/** A server certificate for `hosts` from `ca`, valid CERT_DAYS or until the CA expires, whichever comes first. */
export function issueServerCertificate(ca: Pem, hosts: readonly string[], now: number): Promise<Pem> {
  const caLeft = Math.floor(((certificateNotAfter(ca.cert) ?? now + CERT_DAYS * DAY_MS) - now) / DAY_MS);
  const days = Math.max(1, Math.min(CERT_DAYS, caLeft));
  return inTempDir(async (dir) => {
    await fs.promises.writeFile(path.join(dir, 'ca.crt'), ca.cert);
    await fs.promises.writeFile(path.join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    return readPem(await issueCertificate({ certFile: path.join(dir, 'ca.crt'), keyFile: path.join(dir, 'ca.key') }, dir, 'node', { hosts, days }));
  });
}

/** <cluster>-ca, made (valid caDays) when there is none. */
export async function ensureCa(client: KubeClient, cr: IrisCluster, caDays: number): Promise<CaState> {
  const ns = cr.metadata.namespace ?? '';
  const name = caSecretName(cr.metadata.name ?? '');
  const existing = await client.find<V1Secret>(resourcePath(SECRETS, ns, name));
  if (existing !== null) {
    const cert = secretText(existing, CA_CERT_KEY);
    const key = secretText(existing, CA_KEY_KEY);
    if (cert === null || key === null) throw new OperatorError(`has no ${CA_CERT_KEY} or ${CA_KEY_KEY}: the cluster's CA cannot be read (delete it to have a new one made; pods then restart with certificates from the new CA)`, `Secret ${ns}/${name}`);
    const nextCert = secretText(existing, NEXT_CA_CERT_KEY);
    const nextKey = secretText(existing, NEXT_CA_KEY_KEY);
    const next = nextCert !== null && nextKey !== null ? { cert: nextCert, key: nextKey } : null;
    return { current: { cert, key }, next, reason: existing.metadata?.annotations?.[CA_ROTATION_REASON_ANNOTATION] ?? '', secret: existing };
  }
  const pem = await makeCa(cr.metadata.name ?? '', caDays);
  try {
    const secret = await client.create<V1Secret>(resourcePath(SECRETS, ns), caSecret(cr, pem));
    return { current: pem, next: null, reason: '', secret };
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return ensureCa(client, cr, caDays); // another operator instance made one meanwhile: use it
  }
}
