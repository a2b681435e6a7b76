/**
 * The operator-issued TLS of a cluster with spec.tls.enabled and no
 * secretRef: its CA (Secret <cluster>-ca, made once) and the server
 * certificate the pods mount (Secret <cluster>-tls), issued again when
 * tls-renewal.ts says so. Made with the openssl CLI in a private temporary
 * directory (node/tls/cert-authority.ts: Node cannot sign certificates), so
 * the operator's image needs openssl. For spec.tls.secretRef, only checks
 * that the user's Secret has the three keys the nodes read; for
 * spec.tls.certManager, cert-manager-certificate.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../../../node/tls/cert-authority.js';
import { secretText } from '../build/auth-secret.js';
import {
  CA_CERT_KEY, CA_KEY_KEY, TLS_CERT_KEY, TLS_KEY_KEY, caSecret, caSecretName, certManagerIssuesCertificate, certificateHosts, issuedTlsSecret,
  issuedTlsSecretName, operatorIssuesCertificate, tlsEnabled,
} from '../build/tls-secret.js';
import type { KubeClient } from '../client.js';
import { OperatorError, isAlreadyExists } from '../errors.js';
import { ensureCertManagerCertificate } from './cert-manager-certificate.js';
import type { IrisCluster } from '../iris-cluster.js';
import { SECRETS, resourcePath } from '../paths.js';
import { CA_DAYS, CERT_DAYS, certificateFacts, certificateNotAfter, renewalDecision } from './tls-renewal.js';

interface Pem { readonly cert: string; readonly key: string }

/** What ensureTls found (null: TLS off): why it issued a certificate (null: it did not), and when the nodes' certificate expires. */
export type TlsOutcome = { readonly issued: string | null; readonly notAfter: number | null } | null;

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

async function ensureCa(client: KubeClient, cr: IrisCluster): Promise<Pem> {
  const ns = cr.metadata.namespace ?? '';
  const name = caSecretName(cr.metadata.name ?? '');
  const existing = await client.find<V1Secret>(resourcePath(SECRETS, ns, name));
  if (existing !== null) {
    const cert = secretText(existing, CA_CERT_KEY);
    const key = secretText(existing, CA_KEY_KEY);
    if (cert === null || key === null) throw new OperatorError(`has no ${CA_CERT_KEY} or ${CA_KEY_KEY}: the cluster's CA cannot be read (delete it to have a new one made; pods then restart with certificates from the new CA)`, `Secret ${ns}/${name}`);
    return { cert, key };
  }
  const pem = await inTempDir(async (dir) => readPem(await createCertificateAuthority(dir, `irisdb-${cr.metadata.name ?? ''}-ca`, CA_DAYS)));
  try {
    await client.create(resourcePath(SECRETS, ns), caSecret(cr, pem));
    return pem;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return ensureCa(client, cr); // another operator instance made one meanwhile: use it
  }
}

/** The user's Secret must hold tls.crt, tls.key and ca.crt (the bus verifies peers against ca.crt); returns the certificate's expiry. */
async function checkUserSecret(client: KubeClient, cr: IrisCluster, name: string): Promise<number | null> {
  const ns = cr.metadata.namespace ?? '';
  const secret = await client.find<V1Secret>(resourcePath(SECRETS, ns, name));
  if (secret === null) throw new OperatorError('not found: spec.tls.secretRef names it; the pods wait for it', `Secret ${ns}/${name}`);
  const missing = [TLS_CERT_KEY, TLS_KEY_KEY, CA_CERT_KEY].filter((k) => secretText(secret, k) === null);
  if (missing.length > 0) throw new OperatorError(`has no ${missing.join(', ')}: spec.tls.secretRef needs tls.crt, tls.key and ca.crt`, `Secret ${ns}/${name}`);
  return certificateNotAfter(secretText(secret, TLS_CERT_KEY)!);
}

export async function ensureTls(client: KubeClient, cr: IrisCluster, now: number): Promise<TlsOutcome> {
  const spec = cr.spec ?? {};
  if (!tlsEnabled(spec)) return null;
  if (certManagerIssuesCertificate(spec)) {
    return { issued: null, notAfter: certificateNotAfter(await ensureCertManagerCertificate(client, cr, spec.tls!.certManager!)) };
  }
  if (!operatorIssuesCertificate(spec)) {
    return { issued: null, notAfter: await checkUserSecret(client, cr, spec.tls!.secretRef!.name) };
  }
  const cluster = cr.metadata.name ?? '';
  const ns = cr.metadata.namespace ?? '';
  const ca = await ensureCa(client, cr);
  const hosts = certificateHosts(cluster, ns);
  const secretPath = resourcePath(SECRETS, ns, issuedTlsSecretName(cluster));
  const current = await client.find<V1Secret>(secretPath);
  const certPem = current === null ? null : secretText(current, TLS_CERT_KEY);
  const facts = certPem === null ? null : certificateFacts(certPem, ca.cert);
  const decision = renewalDecision(facts, hosts, now);
  if (!decision.issue) return { issued: null, notAfter: facts?.notAfter ?? null };
  const pem = await inTempDir(async (dir) => {
    await fs.promises.writeFile(path.join(dir, 'ca.crt'), ca.cert);
    await fs.promises.writeFile(path.join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    return readPem(await issueCertificate({ certFile: path.join(dir, 'ca.crt'), keyFile: path.join(dir, 'ca.key') }, dir, 'node', { hosts, days: CERT_DAYS }));
  });
  const desired = issuedTlsSecret(cr, { ...pem, ca: ca.cert });
  if (current === null) await client.create(resourcePath(SECRETS, ns), desired);
  // With the resourceVersion read above: a concurrent writer makes this a conflict, retried next time.
  else await client.replace(secretPath, { ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion } });
  return { issued: decision.reason, notAfter: certificateNotAfter(pem.cert) };
}
