/**
 * Where nodes are now: the platform's endpoints first (addresses change when
 * pods restart), the published map as a fallback (a dead pod has no endpoint
 * but its peers still need a name and the last address to be fenced against).
 */
import type { MapNode } from '../../common/cluster-map.js';
import type { PeerAddress } from '../../common/replication.js';
import type { NodeEndpoint } from '../platform/types.js';
import type { ControllerContext } from './context.js';

export function peerAddress(ctx: ControllerContext, name: string): PeerAddress | null {
  const ep = ctx.endpoint(name);
  if (ep !== null) return { name, host: ep.host, busPort: ep.busPort };
  const n = ctx.state.map?.nodes.find((x) => x.name === name);
  return n === undefined ? null : { name, host: n.host, busPort: n.busPort };
}

/** Bus addresses of every member with a known address. */
export function addressBook(ctx: ControllerContext): Map<string, { host: string; busPort: number }> {
  const out = new Map<string, { host: string; busPort: number }>();
  for (const s of ctx.state.shards) {
    for (const m of s.members) {
      const p = peerAddress(ctx, m);
      if (p !== null) out.set(m, { host: p.host, busPort: p.busPort });
    }
  }
  return out;
}

/** A map entry from a platform endpoint; the HTTP port lets any node forward HTTP requests to a slot's primary (issue #13). */
export function mapNodeOf(name: string, ep: NodeEndpoint): MapNode {
  const httpPort = Number(new URL(ep.httpUrl).port);
  const base = { name, host: ep.host, port: ep.port, busPort: ep.busPort, ...(ep.tlsPort !== undefined ? { tlsPort: ep.tlsPort } : {}) };
  return httpPort > 0 ? { ...base, httpPort } : base;
}

/** Map entries for `names` from the platform's endpoints; null if any has no endpoint yet. */
export function mapNodes(ctx: ControllerContext, names: readonly string[]): MapNode[] | null {
  const out: MapNode[] = [];
  for (const name of names) {
    const ep = ctx.endpoint(name);
    if (ep === null) return null;
    out.push(mapNodeOf(name, ep));
  }
  return out;
}
