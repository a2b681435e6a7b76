/**
 * Pure helpers for key-ordered prefix scans: the exclusive upper bound of a
 * prefix range (keys compare as BLOBs, i.e. memcmp then length) and the
 * opaque resume token handed to HTTP clients.
 */

/**
 * The smallest key greater than every key starting with `prefix`, or null
 * when there is none (empty prefix, or a prefix of only 0xff bytes).
 */
export function prefixUpperBound(prefix: Buffer): Buffer | null {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return null;
  const bound = Buffer.allocUnsafe(end);
  prefix.copy(bound, 0, 0, end);
  bound[end - 1]! += 1;
  return bound;
}

// A version letter keeps the token non-empty (the empty key is a valid key)
// and lets its format change later without misreading old tokens.
const TOKEN_VERSION = 'k';

export function encodeScanToken(lastKey: Buffer): string {
  return TOKEN_VERSION + lastKey.toString('base64url');
}

/** The key a token resumes after; throws RangeError for anything encodeScanToken did not produce. */
export function decodeScanToken(token: string): Buffer {
  if (!token.startsWith(TOKEN_VERSION)) throw new RangeError('invalid scan token');
  const body = token.slice(1);
  const key = Buffer.from(body, 'base64url');
  if (key.toString('base64url') !== body) throw new RangeError('invalid scan token');
  return key;
}
