/**
 * The pod template's part of spec.auth and spec.tls: Secret volumes (files
 * the kubelet refreshes when the Secret changes, unlike environment
 * variables) and the node flags that read them. With TLS, RESP is served
 * over TLS only, on the port plain RESP had (Services, the cluster map,
 * MOVED and CLUSTER SLOTS keep their port), and the cluster bus uses mutual
 * TLS with the same certificate, and the HTTP port serves HTTPS only
 * (--tls-http): the admin token and clients' credentials never cross the
 * pod network in clear. Its probes use scheme HTTPS (a kubelet does not
 * verify a probe's certificate). Pure.
 */
import type { V1Container, V1PodTemplateSpec, V1Probe, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { IrisClusterSpec } from '../iris-cluster.js';
import { CONTAINER, PORTS } from '../names.js';
import { ACL_FILE, AUTH_MOUNT, AUTH_VOLUME, aclSecretName, authEnabled } from './auth-secret.js';
import { CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY, TLS_MOUNT, TLS_VOLUME, podTlsSecretName } from './tls-secret.js';

/** Owner and group may read (the pod's fsGroup is the node's group); nobody else. */
const SECRET_MODE = 0o440;

export function withAuthAndTls(template: V1PodTemplateSpec, cluster: string, spec: IrisClusterSpec): V1PodTemplateSpec {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  const args: string[] = [];
  if (authEnabled(spec)) {
    volumes.push({ name: AUTH_VOLUME, secret: { secretName: aclSecretName(cluster), defaultMode: SECRET_MODE } });
    mounts.push({ name: AUTH_VOLUME, mountPath: AUTH_MOUNT, readOnly: true });
    args.push('--aclfile', ACL_FILE);
  }
  const tlsSecret = podTlsSecretName(cluster, spec);
  if (tlsSecret !== null) {
    volumes.push({ name: TLS_VOLUME, secret: { secretName: tlsSecret, defaultMode: SECRET_MODE } });
    mounts.push({ name: TLS_VOLUME, mountPath: TLS_MOUNT, readOnly: true });
    args.push('--tls-port', String(PORTS.resp), '--tls-cert-file', `${TLS_MOUNT}/${TLS_CERT_KEY}`, '--tls-key-file', `${TLS_MOUNT}/${TLS_KEY_KEY}`,
      '--tls-ca-cert-file', `${TLS_MOUNT}/${CA_CERT_KEY}`, '--tls-cluster', 'yes', '--tls-http', 'yes');
  }
  if (volumes.length === 0) return template;
  const podSpec = template.spec!;
  return {
    ...template,
    spec: {
      ...podSpec,
      volumes: [...(podSpec.volumes ?? []), ...volumes],
      containers: podSpec.containers.map((c) => (c.name === CONTAINER ? withMountsAndArgs(c, mounts, args, tlsSecret !== null) : c)),
    },
  };
}

function withMountsAndArgs(c: V1Container, mounts: V1VolumeMount[], extra: string[], tls: boolean): V1Container {
  const base = c.args ?? [];
  // TLS only: the plain-text port goes (--port 0), its number moves to --tls-port.
  const args = tls ? base.map((a, i) => (i > 0 && base[i - 1] === '--port' ? '0' : a)) : base;
  const current = c.volumeMounts ?? [];
  // Before /tmp, which stays last (see pod-template.ts).
  const tmp = current.findIndex((m) => m.mountPath === '/tmp');
  const volumeMounts = tmp < 0 ? [...current, ...mounts] : [...current.slice(0, tmp), ...mounts, ...current.slice(tmp)];
  const probes = tls ? { readinessProbe: httpsProbe(c.readinessProbe), livenessProbe: httpsProbe(c.livenessProbe), startupProbe: httpsProbe(c.startupProbe) } : {};
  return { ...c, args: [...args, ...extra], volumeMounts, ...dropUndefined(probes) };
}

/** The same probe over HTTPS (the HTTP port serves only HTTPS with --tls-http). */
function httpsProbe(p: V1Probe | undefined): V1Probe | undefined {
  if (p?.httpGet === undefined) return p;
  return { ...p, httpGet: { ...p.httpGet, scheme: 'HTTPS' } };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
