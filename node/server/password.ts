/**
 * The requirePass check shared by RESP AUTH/HELLO AUTH and HTTP
 * Basic/Bearer. Both sides are hashed (SHA-256) before timingSafeEqual, so
 * the comparison takes the same time whatever the guess, its length included.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Redis's only user when there are no ACLs. */
export const DEFAULT_USER = 'default';

const digest = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

export function passwordMatches(expected: string, given: Buffer): boolean {
  return timingSafeEqual(digest(Buffer.from(expected, 'utf8')), digest(given));
}
