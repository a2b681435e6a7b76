/**
 * The keyring file format (docs/security.md "Encryption at rest"): one key a
 * line, `<key-id> <base64 of 32 bytes>`; blank lines and `#` comments are
 * ignored; the LAST key is the active one (new writes use it). Pure: no I/O.
 */
import { KeyringFileError } from './errors.js';

export interface EncryptionKey {
  readonly id: string;
  /** 32 bytes: an AES-256 key. */
  readonly key: Buffer;
}

/** Key ids are short printable names stored with every value (a NUL ends them on disk). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
export const KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The keys of `text`, in file order (the last is active). Throws KeyringFileError naming `source` and the line. */
export function parseKeyringFile(text: string, source: string): EncryptionKey[] {
  const keys: EncryptionKey[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new KeyringFileError(source, i + 1, `expected "<key-id> <base64 key>", found ${fields.length} field(s)`);
    const [id, b64] = fields as [string, string];
    if (!KEY_ID_PATTERN.test(id)) throw new KeyringFileError(source, i + 1, `key id '${id.slice(0, 40)}' must be 1 to 32 of A-Z a-z 0-9 . _ -`);
    if (seen.has(id)) throw new KeyringFileError(source, i + 1, `key id '${id}' appears twice`);
    if (!BASE64.test(b64)) throw new KeyringFileError(source, i + 1, `key '${id}' is not base64`);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== KEY_BYTES) throw new KeyringFileError(source, i + 1, `key '${id}' is ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES} (e.g. openssl rand -base64 32)`);
    seen.add(id);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new KeyringFileError(source, 0, 'holds no key (one line "<key-id> <base64 32-byte key>" at least)');
  return keys;
}
