/**
 * Pure parts of HTTP forwarding (issue #13, docs/http-api.md "Any node"):
 * where a request the node does not serve should go, whether to forward it,
 * redirect the client or answer 421, and the scan cursor that walks every
 * shard in turn.
 */
import type { ClusterMap, MapNode } from '../../common/cluster-map.js';

/** Set on a forwarded request: the receiver serves it or refuses it, never forwards it again (loop guard). */
export const FORWARDED_HEADER = 'x-iris-forwarded';
/** `X-Iris-Redirect: true` asks for a 307 instead of forwarding, as `?redirect=true` does. */
export const REDIRECT_HEADER = 'x-iris-redirect';

export interface HttpTarget {
  readonly name: string;
  readonly host: string;
  readonly httpPort: number;
}

function targetOf(n: MapNode | undefined): HttpTarget | null {
  return n === undefined || n.httpPort === undefined ? null : { name: n.name, host: n.host, httpPort: n.httpPort };
}

/** The HTTP address of the node the map lists at this RESP address (what a 421 `moved` names); null if the map has no HTTP port for it. */
export function httpTargetOf(map: ClusterMap | null, resp: { readonly host: string; readonly port: number }): HttpTarget | null {
  if (map === null) return null;
  return targetOf(map.nodes.find((n) => n.host === resp.host && n.port === resp.port));
}

export type ForwardDecision = 'forward' | 'redirect' | 'refuse';

/**
 * A request that reached a node not serving its slot: a forwarded one is
 * never forwarded again (the map changed under it; the client retries); a
 * node with no HTTP address for the owner answers 421 as before forwarding
 * existed; a client that asked to route itself gets a redirect.
 */
export function forwardDecision(o: { readonly forwarded: boolean; readonly redirect: boolean; readonly target: HttpTarget | null }): ForwardDecision {
  if (o.forwarded || o.target === null) return 'refuse';
  return o.redirect ? 'redirect' : 'forward';
}

/** `http://host:port/path?query` of the target (https: the cluster runs --tls-http); IPv6 hosts in brackets. */
export function targetUrl(t: HttpTarget, pathAndQuery: string, scheme: 'http' | 'https' = 'http'): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${scheme}://${host}:${t.httpPort}${pathAndQuery}`;
}

/** A shard a cluster scan visits, in the order it visits them (by shard id). */
export interface ScanShard {
  readonly id: string;
  readonly primary: string;
  readonly target: HttpTarget | null;
}

export function scanShards(map: ClusterMap): ScanShard[] {
  return [...map.shards]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((s) => ({ id: s.id, primary: s.primary, target: targetOf(map.nodes.find((n) => n.name === s.primary)) }));
}
