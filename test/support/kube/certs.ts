/**
 * The control plane's key material, generated per run with openssl: a CA,
 * the API server's serving certificate (loopback and in-cluster names), the
 * service-account signing key pair, and a random admin token. Node's crypto
 * can make keys but not X.509 certificates, hence openssl.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { run } from '../run.js';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  adminToken: string;
  controllerManagerToken: string;
  /** Static token file for --token-auth-file. */
  tokenFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await run('openssl', args, { cwd, timeoutMs: 0 }).catch((err: Error) => ({ code: null, stdout: '', stderr: err.message }));
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

export async function makePki(dir: string, serviceIp: string): Promise<Pki> {
  await fs.mkdir(dir, { recursive: true });
  const p = (f: string): string => path.join(dir, f);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '3650', '-subj', '/CN=irisdb-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
  const sans = [
    'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local', 'IP:127.0.0.1', `IP:${serviceIp}`,
  ].join(',');
  await fs.writeFile(p('server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${sans}`,
    '',
  ].join('\n'));
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver'], dir);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '3650', '-extfile', 'server.ext'], dir);

  // Service-account tokens are signed with this pair (PKCS#8 / SPKI PEM).
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  await fs.writeFile(p('sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await fs.writeFile(p('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const adminToken = crypto.randomBytes(24).toString('hex');
  const controllerManagerToken = crypto.randomBytes(24).toString('hex');
  // token,user,uid,"groups": the harness is a cluster admin; the controller
  // manager gets the identity its default RBAC bindings are written for.
  await fs.writeFile(p('tokens.csv'), [
    `${adminToken},irisdb-test-admin,irisdb-test-admin,"system:masters"`,
    `${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager,""`,
    '',
  ].join('\n'), { mode: 0o600 });

  return {
    dir, caCert: p('ca.crt'), caKey: p('ca.key'), serverCert: p('server.crt'), serverKey: p('server.key'),
    saKey: p('sa.key'), saPub: p('sa.pub'), adminToken, controllerManagerToken, tokenFile: p('tokens.csv'),
  };
}

/** A kubeconfig with a bearer token against one server. */
export function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: irisdb-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: irisdb-test',
    '  context:',
    '    cluster: irisdb-test',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: irisdb-test',
    '',
  ].join('\n');
}
