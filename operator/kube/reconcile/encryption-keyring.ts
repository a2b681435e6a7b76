/**
 * spec.encryption: checks the user's keyring Secret with the node's own
 * keyring parser (a node refuses to start on a file that does not parse,
 * and a running node keeps its last good keys), so a missing Secret or key
 * or a bad line shows in status and as a Warning Event (the security step)
 * instead of only as pods that wait or crash. The operator never copies the
 * keys anywhere: the pods mount the Secret itself
 * (build/encryption-pod-parts.ts).
 */
import type { Logger } from '../../../common/logger.js';
import { parseKeyringFile } from '../../../node/crypto/keyring-file.js';
import { keyringSecretRef } from '../build/encryption-pod-parts.js';
import type { KubeClient } from '../client.js';
import { OperatorError, errorText } from '../errors.js';
import type { IrisCluster } from '../iris-cluster.js';
import { secretKey } from './auth-acl.js';

export interface KeyringSummary {
  readonly keyIds: readonly string[];
  readonly activeKeyId: string;
}

type Event = (e: { type: 'Normal' | 'Warning'; reason: string; message: string }) => void;

/** The key ids (never the keys) of a keyring file's text; throws OperatorError naming the Secret, its key and the line. */
export function summarizeKeyring(text: string, secret: string, key: string): KeyringSummary {
  try {
    const keys = parseKeyringFile(text, `key "${key}"`);
    return { keyIds: keys.map((k) => k.id), activeKeyId: keys[keys.length - 1]!.id };
  } catch (err) {
    throw new OperatorError(`${errorText(err)} (spec.encryption.keySecretRef); the nodes keep the keys they loaded, new pods do not start`, secret);
  }
}

/** Remembers the keys last seen, to tell (log and Event) when the active key changes. */
export class KeyringChecker {
  private last: string | null = null;

  /** Null without spec.encryption; throws what is wrong with the Secret. */
  async check(client: KubeClient, cr: IrisCluster, logger: Logger, event: Event): Promise<KeyringSummary | null> {
    const ref = keyringSecretRef(cr.spec ?? {});
    if (ref === null) return null;
    const ns = cr.metadata.namespace ?? '';
    const summary = summarizeKeyring(await secretKey(client, ns, ref, 'spec.encryption.keySecretRef'), `Secret ${ns}/${ref.name}`, ref.key);
    const seen = `${summary.keyIds.join(',')}>${summary.activeKeyId}`;
    if (this.last !== null && this.last !== seen) {
      logger.info('encryption keyring changed; nodes reload it when the kubelet refreshes their volume', { keyIds: summary.keyIds, activeKeyId: summary.activeKeyId });
      event({ type: 'Normal', reason: 'EncryptionKeysChanged', message: `keyring now holds ${summary.keyIds.join(', ')}, active ${summary.activeKeyId}: nodes take it without a restart; values under older keys stay readable (irisctl --kube CLUSTER re-encrypt moves them to the active key)` });
    }
    this.last = seen;
    return summary;
  }
}
