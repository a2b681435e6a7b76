/**
 * Typed errors of encryption at rest: every one names the key id (or the
 * file and line) so an operator knows which key to bring back or fix.
 */

/** Any failure to read encrypted data: the message names the key id; the HTTP API passes it on (node/http/errors.ts). */
export class EncryptionAtRestError extends Error {
  constructor(readonly keyId: string | null, message: string) {
    super(message);
  }
}

/** A stored value or object was encrypted with a key id the keyring does not hold. */
export class UnknownKeyIdError extends EncryptionAtRestError {
  constructor(override readonly keyId: string, readonly what: string) {
    super(keyId, `${what} is encrypted with key id '${keyId}', which is not in the encryption keyring (add the key back to --encryption-key-file)`);
    this.name = 'UnknownKeyIdError';
  }
}

/** Encrypted bytes failed authentication: tampered, truncated, or bound to another key/context. */
export class DecryptionError extends EncryptionAtRestError {
  constructor(override readonly keyId: string | null, readonly what: string, reason: string) {
    super(keyId, `${what} cannot be decrypted${keyId === null ? '' : ` with key id '${keyId}'`}: ${reason}`);
    this.name = 'DecryptionError';
  }
}

/** Encrypted data found but this process has no keyring at all. */
export class NoKeyringError extends EncryptionAtRestError {
  constructor(override readonly keyId: string, readonly what: string) {
    super(keyId, `${what} is encrypted with key id '${keyId}' but no encryption keyring is configured (--encryption-key-file)`);
    this.name = 'NoKeyringError';
  }
}

/** The keyring file does not parse: file and line in the message. */
export class KeyringFileError extends Error {
  constructor(readonly file: string, readonly line: number, reason: string) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'KeyringFileError';
  }
}
