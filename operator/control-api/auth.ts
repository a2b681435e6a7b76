/**
 * The control API's authentication: `Authorization: Bearer <token>` with the
 * cluster's token (the cluster directory's token file, mode 0600), so only
 * a user who can read that file can fail over, scale or read the status —
 * not any local process that can reach the loopback port. Pure.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The WWW-Authenticate challenge of a 401 (RFC 6750). */
export const CONTROL_REALM = 'irisdb-control';
export const BEARER_CHALLENGE = `Bearer realm="${CONTROL_REALM}"`;

/** The control API refuses to start with a token shorter than this (an empty token would let anyone in). */
export const MIN_TOKEN_LENGTH = 32;

export class ControlTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlTokenError';
  }
}

/** `token` if it is long enough to be a secret; ControlTokenError otherwise. */
export function checkControlToken(token: string): string {
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) {
    throw new ControlTokenError(`the control API token must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return token;
}

/**
 * The Authorization header carries `token` as a Bearer credential. The
 * scheme is case-insensitive (RFC 7235); the comparison takes the same time
 * whatever the header holds (digests of equal length, timingSafeEqual).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const m = /^Bearer +(\S+) *$/i.exec(header);
  if (m === null) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}
