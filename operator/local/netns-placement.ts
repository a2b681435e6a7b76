/**
 * Test-only placement of local nodes in Linux network namespaces (issue #13's
 * partition tests, test/support/netns.ts): `irisctl local up
 * --test-netns-placement JSON` takes a JSON array indexed by node index, each entry `{"netns": NAME, "host": IPv4}`;
 * node k then runs as `ip netns exec NAME node …`, binds and announces that
 * address. Nodes beyond the array run on 127.0.0.1 as usual. Pure parsing.
 */
export const NETNS_FLAG = '--test-netns-placement';

export interface NodePlacement {
  readonly netns: string;
  readonly host: string;
}

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The placements in `text`; throws with the reason when it is not a valid array. */
export function parseNetnsPlacement(text: string): NodePlacement[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${NETNS_FLAG} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new Error(`${NETNS_FLAG} must be a JSON array of {"netns", "host"}`);
  return v.map((e: unknown, i) => {
    const o = e as { netns?: unknown; host?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.netns !== 'string' || !NETNS_NAME.test(o.netns)) throw new Error(`${NETNS_FLAG}[${i}].netns must be a network namespace name`);
    if (typeof o.host !== 'string' || !IPV4.test(o.host)) throw new Error(`${NETNS_FLAG}[${i}].host must be an IPv4 address`);
    return { netns: o.netns, host: o.host };
  });
}

/** The placement function for ProcessPlatform: node k goes where entry k says, the rest on loopback. */
export function placementFunction(placements: readonly NodePlacement[]): (index: number) => NodePlacement | null {
  return (index) => placements[index] ?? null;
}
