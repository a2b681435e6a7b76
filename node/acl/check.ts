/**
 * Permission decisions (Redis's ACLCheckAllUserCommandPerm): the command
 * first, then its keys, then its channels. Pure; the texts are redis-server
 * 7.0's (NOPERM replies, ACL DRYRUN answers, ACL LOG reasons).
 */
import { globMatch } from '../commands/glob.js';
import { channelsOf, keysOf, type CatalogCommand, type KeyUse } from './catalog.js';
import type { AclUser } from './user.js';

export type Denial =
  | { readonly reason: 'command'; readonly object: string }
  | { readonly reason: 'key'; readonly object: Buffer }
  | { readonly reason: 'channel'; readonly object: Buffer };

const MAX_MATCHERS = 10_000;

const special = (c: number): boolean => c === 0x2a || c === 0x3f || c === 0x5b || c === 0x5c;

/** Redis's glob, with fast paths for the usual tenant patterns ("tenant-a:*", exact names). */
function compile(p: Buffer): (subject: Uint8Array) => boolean {
  const firstSpecial = p.findIndex(special);
  if (firstSpecial === -1) return (s) => p.equals(s);
  if (firstSpecial > 0 && firstSpecial === p.length - 1 && p[firstSpecial] === 0x2a) {
    const prefix = p.subarray(0, firstSpecial);
    return (s) => s.length >= prefix.length && prefix.equals(s.subarray(0, prefix.length));
  }
  return (s) => globMatch(p, s);
}

/**
 * Compiled glob matchers per pattern text (patterns are few; rules are
 * re-applied rarely). Owned by the ACL store (AclStore.matchers) and passed
 * to every check, so two stores (tests, nodes in one process) share nothing.
 */
export class PatternMatchers {
  private readonly compiled = new Map<string, (subject: Uint8Array) => boolean>();

  get(pattern: string): (subject: Uint8Array) => boolean {
    let m = this.compiled.get(pattern);
    if (m === undefined) {
      if (this.compiled.size >= MAX_MATCHERS) this.compiled.clear();
      m = compile(Buffer.from(pattern, 'utf8'));
      this.compiled.set(pattern, m);
    }
    return m;
  }
}

/** Whether `u` may use `key` as `use` says (an unflagged use — EXISTS, TYPE — needs only a matching pattern). */
export function keyAllowed(u: AclUser, key: Uint8Array, use: KeyUse, matchers: PatternMatchers): boolean {
  if (u.allKeys) return true;
  for (const p of u.keys) {
    if ((use.read && !p.read) || (use.write && !p.write)) continue;
    if (matchers.get(p.pattern)(key)) return true;
  }
  return false;
}

/** Whether `u` may read `key` (the filter of SCAN, KEYS, RANDOMKEY, HTTP scan and the change feed). */
export function canReadKey(u: AclUser, key: Uint8Array, matchers: PatternMatchers): boolean {
  return keyAllowed(u, key, { read: true, write: false }, matchers);
}

/** Whether any key at all is readable by `u` only through patterns (so listing commands must filter). */
export function restrictsKeys(u: AclUser): boolean {
  return !u.allKeys;
}

export function channelAllowed(u: AclUser, channel: Uint8Array, literal: boolean, matchers: PatternMatchers): boolean {
  if (u.allChannels) return true;
  for (const p of u.channels) {
    if (literal ? Buffer.from(p, 'utf8').equals(channel) : matchers.get(p)(channel)) return true;
  }
  return false;
}

/** Null when `u` may run argv (argv[0] the name) as `cmd`, else why not. */
export function checkCommand(u: AclUser, cmd: CatalogCommand, argv: readonly Buffer[], matchers: PatternMatchers): Denial | null {
  if (!u.allowed.has(cmd.fullname)) return { reason: 'command', object: cmd.fullname };
  if (!u.allKeys) {
    for (const { key, use } of keysOf(cmd, argv)) {
      if (!keyAllowed(u, key, use, matchers)) return { reason: 'key', object: key };
    }
  }
  if (!u.allChannels) {
    const ch = channelsOf(cmd.fullname, argv);
    if (ch !== null) {
      for (const c of ch.channels) if (!channelAllowed(u, c, ch.literal, matchers)) return { reason: 'channel', object: c };
    }
  }
  return null;
}

/** The NOPERM error line redis-server 7.0 answers. */
export function nopermMessage(d: Denial): string {
  if (d.reason === 'command') return `NOPERM this user has no permissions to run the '${d.object}' command`;
  if (d.reason === 'key') return 'NOPERM this user has no permissions to access one of the keys used as arguments';
  return 'NOPERM this user has no permissions to access one of the channels used as arguments';
}

/** ACL DRYRUN's answer for a denial. */
export function dryrunMessage(d: Denial): string {
  if (d.reason === 'command') return `This user has no permissions to run the '${d.object}' command`;
  const name = d.object.toString('utf8');
  return `This user has no permissions to access the '${name}' ${d.reason}`;
}
