/**
 * The pod template's part of spec.encryption (encryption at rest, issue
 * #14): the user's keyring Secret as a volume (not an environment
 * variable: the kubelet refreshes a Secret volume when the Secret changes,
 * and the node re-reads the file every --encryption-key-file-check-ms, so
 * adding a key needs no restart) and --encryption-key-file pointing at it,
 * on the node container and on the restore init container of
 * spec.bootstrap.fromBackup (an encrypted backup needs the keys to
 * restore). Pure.
 */
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { IrisClusterSpec } from '../iris-cluster.js';

export const ENCRYPTION_VOLUME = 'encryption-keys';
export const ENCRYPTION_MOUNT = '/etc/irisdb/encryption';
/** The file name inside the mount, whatever the Secret's key is called. */
export const KEYRING_FILE = `${ENCRYPTION_MOUNT}/keyring`;
/** The CRD's default for spec.encryption.keySecretRef.key. */
export const DEFAULT_KEYRING_KEY = 'keyring';
/** Owner and group may read (the pod's fsGroup is the node's group); nobody else. */
const SECRET_MODE = 0o440;

export interface KeyringSecretRef {
  readonly name: string;
  readonly key: string;
}

/** The keyring Secret of a spec, or null when encryption at rest is off. */
export function keyringSecretRef(spec: IrisClusterSpec): KeyringSecretRef | null {
  const ref = spec.encryption?.keySecretRef;
  return ref === undefined ? null : { name: ref.name, key: ref.key ?? DEFAULT_KEYRING_KEY };
}

/** `template` with the keyring volume, mounted into every container and init container with --encryption-key-file. */
export function withEncryption(template: V1PodTemplateSpec, spec: IrisClusterSpec): V1PodTemplateSpec {
  const ref = keyringSecretRef(spec);
  const podSpec = template.spec;
  if (ref === null || podSpec === undefined) return template;
  return {
    ...template,
    spec: {
      ...podSpec,
      volumes: [...(podSpec.volumes ?? []), { name: ENCRYPTION_VOLUME, secret: { secretName: ref.name, items: [{ key: ref.key, path: 'keyring' }], defaultMode: SECRET_MODE } }],
      containers: podSpec.containers.map(withKeyringFile),
      ...(podSpec.initContainers !== undefined ? { initContainers: podSpec.initContainers.map(withKeyringFile) } : {}),
    },
  };
}

function withKeyringFile(c: V1Container): V1Container {
  const current = c.volumeMounts ?? [];
  const mount = { name: ENCRYPTION_VOLUME, mountPath: ENCRYPTION_MOUNT, readOnly: true };
  // Before /tmp, which stays last (see pod-template.ts); an init container sharing the node's mount list may already have it.
  const has = current.some((m) => m.name === ENCRYPTION_VOLUME);
  const tmp = current.findIndex((m) => m.mountPath === '/tmp');
  const volumeMounts = has ? current : tmp < 0 ? [...current, mount] : [...current.slice(0, tmp), mount, ...current.slice(tmp)];
  const args = c.args ?? [];
  return { ...c, volumeMounts, args: args.includes('--encryption-key-file') ? args : [...args, '--encryption-key-file', KEYRING_FILE] };
}

/** For the spec hash: the Secret's name and key (its contents are read live, so rotating keys restarts nothing). */
export function encryptionPodHashPart(spec: IrisClusterSpec): KeyringSecretRef | undefined {
  return keyringSecretRef(spec) ?? undefined;
}
