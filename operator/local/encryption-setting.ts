/**
 * `irisctl local up --encryption-key-file FILE`: encryption at rest on every
 * node (docs/security.md). The file's absolute path is recorded in
 * DIR/encryption.json and given to every node as --encryption-key-file, so
 * that a resumed cluster keeps its keys and an edit of that one file (a key
 * rotation) reaches every node within encryptionKeyFileCheckMs. The keys
 * are never copied. The file is checked before any node starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readKeyringFile } from '../../node/crypto/keyring-store.js';
import type { Keyring } from '../../node/crypto/keyring.js';

const FILE = 'encryption.json';

export class EncryptionSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionSettingError';
  }
}

/** The keyring file the nodes use (the given one, recorded; else the recorded one), or undefined: encryption off. */
export async function settleEncryptionKeyFile(dir: string, given: string | undefined): Promise<string | undefined> {
  const record = path.join(dir, FILE);
  let file: string | undefined;
  if (given !== undefined) {
    file = path.resolve(given);
  } else if (fs.existsSync(record)) {
    const parsed = JSON.parse(await fs.promises.readFile(record, 'utf8')) as { keyFile?: unknown };
    if (typeof parsed.keyFile !== 'string' || parsed.keyFile === '') throw new EncryptionSettingError(`${record}: no "keyFile" string`);
    file = parsed.keyFile;
  }
  if (file === undefined) return undefined;
  try {
    readKeyringFile(file);
  } catch (err) {
    throw new EncryptionSettingError(`encryption key file: ${(err as Error).message}`);
  }
  if (given !== undefined) await fs.promises.writeFile(record, `${JSON.stringify({ keyFile: file })}\n`, { mode: 0o600 });
  return file;
}

/** The keyring a restore into DIR decrypts with (the given file, else the recorded one), or null. */
export async function localKeyring(dir: string, given: string | undefined): Promise<Keyring | null> {
  const file = await settleEncryptionKeyFile(dir, given);
  return file === undefined ? null : readKeyringFile(file);
}
