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

/** Whether `u` may use `key` as `use` says (an unflagged use — EXISTS, TYPE — needs only a matching pattern). */
export function keyAllowed(u: AclUser, key: Uint8Array, use: KeyUse): boolean {
  if (u.allKeys) return true;
  for (const p of u.keys) {
    if ((use.read && !p.read) || (use.write && !p.write)) continue;
    if (globMatch(Buffer.from(p.pattern, 'utf8'), key)) return true;
  }
  return false;
}

/** Whether `u` may read `key` (the filter of SCAN, KEYS, RANDOMKEY, HTTP scan and the change feed). */
export function canReadKey(u: AclUser, key: Uint8Array): boolean {
  return keyAllowed(u, key, { read: true, write: false });
}

/** Whether any key at all is readable by `u` only through patterns (so listing commands must filter). */
export function restrictsKeys(u: AclUser): boolean {
  return !u.allKeys;
}

export function channelAllowed(u: AclUser, channel: Uint8Array, literal: boolean): boolean {
  if (u.allChannels) return true;
  for (const p of u.channels) {
    if (literal ? Buffer.from(p, 'utf8').equals(channel) : globMatch(Buffer.from(p, 'utf8'), channel)) return true;
  }
  return false;
}

/** Null when `u` may run argv (argv[0] the name) as `cmd`, else why not. */
export function checkCommand(u: AclUser, cmd: CatalogCommand, argv: readonly Buffer[]): Denial | null {
  if (!u.allowed.has(cmd.fullname)) return { reason: 'command', object: cmd.fullname };
  if (!u.allKeys) {
    for (const { key, use } of keysOf(cmd, argv)) {
      if (!keyAllowed(u, key, use)) return { reason: 'key', object: key };
    }
  }
  if (!u.allChannels) {
    const ch = channelsOf(cmd.fullname, argv);
    if (ch !== null) {
      for (const c of ch.channels) if (!channelAllowed(u, c, ch.literal)) return { reason: 'channel', object: c };
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
