/**
 * spec.encryption on Kubernetes (issue #14): the keyring Secret volume and
 * --encryption-key-file on the node container and the restore init
 * container, the spec hash, and the operator's check of the Secret with the
 * node's keyring parser (a bad or missing Secret is an error naming it,
 * never the keys).
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import type { V1Container, V1Secret } from '@kubernetes/client-node';
import { ANNOTATION_BOOTSTRAP_SOURCE, type BootstrapSource } from '../../operator/kube/backup/bootstrap-source.js';
import { ENCRYPTION_MOUNT, KEYRING_FILE, keyringSecretRef } from '../../operator/kube/build/encryption-pod-parts.js';
import { podSpecHash } from '../../operator/kube/build/spec-hash.js';
import { statefulSet } from '../../operator/kube/build/statefulset.js';
import type { KubeClient } from '../../operator/kube/client.js';
import type { IrisCluster, IrisClusterSpec } from '../../operator/kube/iris-cluster.js';
import { KeyringChecker, summarizeKeyring } from '../../operator/kube/reconcile/encryption-keyring.js';
import { createLogger } from '../../common/logger.js';

const key = (): string => crypto.randomBytes(32).toString('base64');
const cr = (spec: IrisClusterSpec, annotations: Record<string, string> = {}): IrisCluster => ({ metadata: { name: 'iris', namespace: 'db', uid: 'u1', annotations }, spec });
const flag = (c: V1Container, name: string): string | undefined => {
  const args = c.args ?? [];
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

describe('operator/kube spec.encryption', () => {
  const spec: IrisClusterSpec = { encryption: { keySecretRef: { name: 'iris-keys' } } };

  it('keySecretRef: mounts the Secret key as the keyring file and passes --encryption-key-file to the node', () => {
    expect(keyringSecretRef(spec)).to.deep.equal({ name: 'iris-keys', key: 'keyring' });
    expect(keyringSecretRef({ encryption: { keySecretRef: { name: 'k', key: 'ring.txt' } } })).to.deep.equal({ name: 'k', key: 'ring.txt' });
    expect(keyringSecretRef({})).to.equal(null);
    const t = statefulSet(cr({ encryption: { keySecretRef: { name: 'iris-keys', key: 'ring.txt' } } }), 0, 2).spec!.template;
    const vol = t.spec!.volumes!.find((v) => v.secret?.secretName === 'iris-keys')!;
    // A volume, not an environment variable: the kubelet refreshes it when the Secret changes.
    expect(vol.secret).to.deep.equal({ secretName: 'iris-keys', items: [{ key: 'ring.txt', path: 'keyring' }], defaultMode: 0o440 });
    const node = t.spec!.containers.find((c) => c.name === 'node')!;
    expect(flag(node, '--encryption-key-file')).to.equal(KEYRING_FILE);
    expect(node.volumeMounts!.find((m) => m.name === vol.name)).to.deep.equal({ name: vol.name, mountPath: ENCRYPTION_MOUNT, readOnly: true });
    expect(node.volumeMounts!.at(-1)!.mountPath).to.equal('/tmp');
    expect(t.spec!.initContainers).to.equal(undefined);
  });

  it('without spec.encryption: no keyring volume, no flag, and the spec hash of older clusters is unchanged', () => {
    const t = statefulSet(cr({}), 0, 2).spec!.template;
    expect(JSON.stringify(t)).to.not.contain('encryption');
    expect(podSpecHash({})).to.not.equal(podSpecHash(spec));
    expect(podSpecHash(spec)).to.not.equal(podSpecHash({ encryption: { keySecretRef: { name: 'other' } } }));
    // The hash of a spec without encryption is what it was before the field existed.
    expect(podSpecHash({ shards: 2 })).to.equal(podSpecHash({ shards: 2, encryption: undefined }));
  });

  it('a cluster restored from a backup: the restore init container reads the same keyring', () => {
    const src: BootstrapSource = { backup: 'nightly', url: 's3://b/p', backupId: 'backup-7', secretName: null, pointInTime: null, shards: 1 };
    const t = statefulSet(cr({ ...spec, bootstrap: { fromBackup: { name: 'nightly' } } } as IrisClusterSpec, { [ANNOTATION_BOOTSTRAP_SOURCE]: JSON.stringify(src) }), 0, 1).spec!.template;
    const init = t.spec!.initContainers!.find((c) => c.name === 'restore')!;
    expect(flag(init, '--encryption-key-file')).to.equal(KEYRING_FILE);
    expect(init.volumeMounts!.filter((m) => m.mountPath === ENCRYPTION_MOUNT)).to.have.length(1);
    expect(t.spec!.volumes!.filter((v) => v.secret?.secretName === 'iris-keys')).to.have.length(1);
  });

  it('summarizeKeyring: key ids and the active (last) one, with the node parser\'s errors naming the Secret, never a key', () => {
    expect(summarizeKeyring(`# keys\nk1 ${key()}\nk2 ${key()}\n`, 'Secret db/iris-keys', 'keyring')).to.deep.equal({ keyIds: ['k1', 'k2'], activeKeyId: 'k2' });
    const short = Buffer.alloc(16, 7).toString('base64');
    expect(() => summarizeKeyring(`k1 ${short}`, 'Secret db/iris-keys', 'keyring')).to.throw(/Secret db\/iris-keys: key "keyring":1: key 'k1' is 16 bytes/);
    try {
      summarizeKeyring(`k1 ${short}`, 'Secret db/iris-keys', 'keyring');
    } catch (err) {
      expect((err as Error).message).to.not.contain(short);
    }
    expect(() => summarizeKeyring('', 'Secret db/iris-keys', 'keyring')).to.throw(/holds no key/);
    expect(() => summarizeKeyring(`k1 ${key()}\nk1 ${key()}`, 'Secret db/iris-keys', 'keyring')).to.throw(/appears twice/);
  });

  it('KeyringChecker: reads the Secret, errors when it or its key is missing, and tells when the active key changes', async () => {
    let secret: V1Secret | null = null;
    const paths: string[] = [];
    const client = { find: async (p: string) => { paths.push(p); return secret; } } as unknown as KubeClient;
    const events: string[] = [];
    const checker = new KeyringChecker();
    const logger = createLogger('error');
    const resource = cr(spec);
    expect(await checker.check(client, cr({}), logger, (e) => events.push(e.reason))).to.equal(null);
    expect(paths).to.deep.equal([]);
    try {
      await checker.check(client, resource, logger, (e) => events.push(e.reason));
      expect.fail('a missing Secret must be an error');
    } catch (err) {
      expect((err as Error).message).to.match(/Secret db\/iris-keys: not found: spec\.encryption\.keySecretRef names it/);
    }
    expect(paths[0]).to.match(/\/namespaces\/db\/secrets\/iris-keys$/);
    secret = { data: { other: Buffer.from('x').toString('base64') } };
    try {
      await checker.check(client, resource, logger, (e) => events.push(e.reason));
      expect.fail('a missing key must be an error');
    } catch (err) {
      expect((err as Error).message).to.match(/has no key "keyring"/);
    }
    const k1 = `k1 ${key()}\n`;
    secret = { data: { keyring: Buffer.from(k1).toString('base64') } };
    expect(await checker.check(client, resource, logger, (e) => events.push(e.reason))).to.deep.equal({ keyIds: ['k1'], activeKeyId: 'k1' });
    expect(await checker.check(client, resource, logger, (e) => events.push(e.reason))).to.deep.equal({ keyIds: ['k1'], activeKeyId: 'k1' });
    expect(events).to.deep.equal([]);
    secret = { data: { keyring: Buffer.from(`${k1}k2 ${key()}\n`).toString('base64') } };
    expect((await checker.check(client, resource, logger, (e) => events.push(e.reason)))?.activeKeyId).to.equal('k2');
    expect(events).to.deep.equal(['EncryptionKeysChanged']);
  });
});
