/** Parsing of the peer spellings used in flags: `name@host:busPort` and comma-separated name lists. */
import type { PeerAddress } from '../../common/replication.js';
import { NODE_NAME } from '../../common/cluster-map.js';

export { NODE_NAME };

/** The address, or a string saying what is wrong with it. */
export function parsePeerAddress(spec: string): PeerAddress | string {
  const at = spec.indexOf('@');
  if (at <= 0) return 'expected name@host:busPort';
  const name = spec.slice(0, at);
  if (!NODE_NAME.test(name)) return `node name ${JSON.stringify(name)} may hold only letters, digits, '.', '_' and '-'`;
  const rest = spec.slice(at + 1);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return 'expected name@host:busPort';
  let host = rest.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(rest.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `bus port ${JSON.stringify(rest.slice(colon + 1))} is not a port number`;
  if (host === '' || /\s/.test(host)) return 'host is empty or holds spaces';
  return { name, host, busPort: port };
}

export function formatPeerAddress(p: PeerAddress): string {
  return `${p.name}@${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.busPort}`;
}

export function splitNames(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
