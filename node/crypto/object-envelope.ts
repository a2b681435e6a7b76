/**
 * Backup chunks and archive segments at rest in a destination: with a
 * keyring the whole object is stored as MAGIC + sealed bytes, bound to the
 * object's name (an object copied over another fails authentication).
 * Objects without the magic (written without encryption) pass through.
 * Pure apart from node:crypto.
 */
import type { Keyring, SealPurpose } from './keyring.js';
import { openWith, sealedKeyId } from './keyring.js';

const MAGIC = Buffer.from('IRENC1');

export type ObjectPurpose = Extract<SealPurpose, 'archive' | 'backup'>;

export function isSealedObject(body: Buffer): boolean {
  return body.length > MAGIC.length && body.subarray(0, MAGIC.length).equals(MAGIC);
}

export function sealObject(keyring: Keyring, purpose: ObjectPurpose, objectKey: string, body: Buffer): Buffer {
  return Buffer.concat([MAGIC, keyring.seal(body, purpose, Buffer.from(objectKey))]);
}

/** `body` sealed when a keyring is given, as is otherwise. */
export function sealObjectWith(keyring: Keyring | null, purpose: ObjectPurpose, objectKey: string, body: Buffer): Buffer {
  return keyring === null ? body : sealObject(keyring, purpose, objectKey, body);
}

/** The plain object (UnknownKeyIdError / NoKeyringError / DecryptionError naming `where` and the key id). */
export function openObject(keyring: Keyring | null, purpose: ObjectPurpose, objectKey: string, body: Buffer, where: string): Buffer {
  if (!isSealedObject(body)) return body;
  return openWith(keyring, body.subarray(MAGIC.length), purpose, Buffer.from(objectKey), where);
}

/** The key id an object is sealed with, or null. */
export function objectKeyId(body: Buffer, where: string): string | null {
  return isSealedObject(body) ? sealedKeyId(body.subarray(MAGIC.length), where) : null;
}
