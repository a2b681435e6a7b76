/**
 * A keyring: AES-256-GCM keys by id, the last one active. seal() encrypts
 * with the active key; open() decrypts with whichever key the bytes name.
 *
 * Sealed bytes: [u8 version=1][key id, ASCII][0x00][12-byte random nonce]
 * [ciphertext][16-byte tag]. The additional authenticated data is the
 * purpose, the key id and a caller-chosen binding (a value's Redis key, a
 * log batch's first sequence, an object's name): bytes moved to another key,
 * row, purpose or object fail authentication instead of decrypting.
 * Pure apart from node:crypto.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { DecryptionError, NoKeyringError, UnknownKeyIdError } from './errors.js';
import type { EncryptionKey } from './keyring-file.js';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Longest key id (keyring-file.ts) + version + NUL. */
const MAX_HEADER = 1 + 32 + 1;

/** What sealed bytes are for: part of the authenticated data, so one purpose's bytes never open as another's. */
export type SealPurpose = 'value' | 'log' | 'archive' | 'backup';

export class Keyring {
  private readonly byId = new Map<string, { key: Buffer; idBytes: Buffer }>();
  readonly active: EncryptionKey;
  private readonly activeId: Buffer;
  private readonly noncePool = Buffer.alloc(NONCE_BYTES * 256);
  private noncePos = NONCE_BYTES * 256;

  /** `keys` in file order, the last active (also how a keyring is handed to a worker thread: EncryptionKey[] clones). */
  constructor(readonly keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('a keyring needs at least one key');
    for (const k of keys) this.byId.set(k.id, { key: k.key, idBytes: Buffer.from(k.id, 'latin1') });
    this.active = keys[keys.length - 1]!;
    this.activeId = this.byId.get(this.active.id)!.idBytes;
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** `plain` encrypted with the active key, bound to `purpose` and `binding`. */
  seal(plain: Buffer, purpose: SealPurpose, binding: Buffer): Buffer {
    const idLen = this.activeId.length;
    const nonce = this.nextNonce();
    const cipher = createCipheriv('aes-256-gcm', this.active.key, nonce);
    cipher.setAAD(aad(purpose, this.activeId, binding));
    const head = 1 + idLen + 1 + NONCE_BYTES;
    const out = Buffer.allocUnsafe(head + plain.length + TAG_BYTES);
    out[0] = VERSION;
    this.activeId.copy(out, 1);
    out[1 + idLen] = 0;
    nonce.copy(out, 2 + idLen);
    const a = cipher.update(plain);
    a.copy(out, head);
    const b = cipher.final();
    b.copy(out, head + a.length);
    cipher.getAuthTag().copy(out, head + a.length + b.length);
    return out;
  }

  /**
   * Random nonces drawn from a pool refilled 256 at a time: one call into
   * the RNG per 256 writes instead of one each. Same guarantee as
   * randomBytes(12) per value: 96 random bits.
   */
  private nextNonce(): Buffer {
    if (this.noncePos === this.noncePool.length) {
      randomFillSync(this.noncePool);
      this.noncePos = 0;
    }
    const n = this.noncePool.subarray(this.noncePos, this.noncePos + NONCE_BYTES);
    this.noncePos += NONCE_BYTES;
    return n;
  }

  /** The plaintext of `sealed`; UnknownKeyIdError / DecryptionError (naming `what`) otherwise. */
  open(sealed: Buffer, purpose: SealPurpose, binding: Buffer, what: string): Buffer {
    const id = sealedKeyId(sealed, what);
    const entry = this.byId.get(id);
    if (entry === undefined) throw new UnknownKeyIdError(id, what);
    const head = 1 + entry.idBytes.length + 1 + NONCE_BYTES;
    if (sealed.length < head + TAG_BYTES) throw new DecryptionError(id, what, 'truncated');
    const decipher = createDecipheriv('aes-256-gcm', entry.key, sealed.subarray(head - NONCE_BYTES, head));
    decipher.setAAD(aad(purpose, entry.idBytes, binding));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const a = decipher.update(sealed.subarray(head, sealed.length - TAG_BYTES));
      const b = decipher.final();
      return b.length === 0 ? a : Buffer.concat([a, b]);
    } catch {
      throw new DecryptionError(id, what, 'authentication failed (tampered, truncated, or moved from another key or object)');
    }
  }
}

/** The key id sealed bytes name (their header only; nothing is decrypted). */
export function sealedKeyId(sealed: Buffer, what: string): string {
  if (sealed.length < 3 || sealed[0] !== VERSION) throw new DecryptionError(null, what, `not sealed data of version ${VERSION}`);
  const end = sealed.indexOf(0, 1);
  if (end <= 1 || end >= MAX_HEADER) throw new DecryptionError(null, what, 'bad key id header');
  return sealed.toString('latin1', 1, end);
}

/** open() through an optional keyring: without one, encrypted bytes are a NoKeyringError naming the key id. */
export function openWith(keyring: Keyring | null, sealed: Buffer, purpose: SealPurpose, binding: Buffer, what: string): Buffer {
  if (keyring === null) throw new NoKeyringError(sealedKeyId(sealed, what), what);
  return keyring.open(sealed, purpose, binding, what);
}

const PURPOSE_TAGS: Record<SealPurpose, Buffer> = {
  value: Buffer.from('irisdb/value\0'),
  log: Buffer.from('irisdb/log\0'),
  archive: Buffer.from('irisdb/archive\0'),
  backup: Buffer.from('irisdb/backup\0'),
};

function aad(purpose: SealPurpose, id: Buffer, binding: Buffer): Buffer {
  return Buffer.concat([PURPOSE_TAGS[purpose], id, ZERO, binding]);
}
const ZERO = Buffer.from([0]);
