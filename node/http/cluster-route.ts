/**
 * Slot routing for the KV API (docs/architecture.md §4), with the same rules as RESP
 * (node/cluster/routing.ts): a key whose slot another shard owns is a 421
 * naming that shard's primary (the HTTP form of MOVED); keys of one request
 * must share a slot; a write to a slot whose owner is flipping waits for the
 * fence to lift, then is routed again.
 */
import { keySlot } from '../../common/slot.js';
import type { Route } from '../cluster/routing.js';
import { HttpError } from './errors.js';

export interface KeyRouter {
  /** A cluster map is installed: keys of one request must share a slot. */
  clustered(): boolean;
  /** Why this node serves no keys at all (a cluster member without its first map), or null. */
  down?(): string | null;
  /** `readonly`: a read that a replica of the owning shard may answer (consistency=eventual, as RESP READONLY). */
  route(slot: number, write: boolean, readonly?: boolean): Route;
  whenLifted(slot: number): Promise<void>;
}

/** A fence lifts within a couple of seconds; after this many re-routes something is wrong. */
const MAX_REROUTES = 10;

export async function routeKeys(router: KeyRouter | undefined, keys: readonly Buffer[], write: boolean, readonly = false): Promise<void> {
  if (router === undefined || keys.length === 0) return;
  // Without a map the node holds every slot: a batch may span slots, as before cluster mode.
  if (!router.clustered()) return;
  let slot = -1;
  for (const key of keys) {
    const s = keySlot(key);
    if (slot === -1) slot = s;
    else if (s !== slot) {
      // Not split per shard: a batch is all-or-nothing, which only one slot's owner can guarantee.
      throw new HttpError(400, 'cross_slot', 'keys in one request must hash to the same slot (use a {hash tag}): a batch is atomic only within one slot, so one spanning slots is refused, not split', { slots: [slot, s] });
    }
  }
  await routeSlot(router, slot, write, readonly);
}

/** Resolves when this node serves `slot` (after a fence lifts); throws 421 moved or 503 cluster_down otherwise. */
export async function routeSlot(router: KeyRouter | undefined, slot: number, write: boolean, readonly = false): Promise<void> {
  if (router === undefined || !router.clustered()) return;
  for (let i = 0; i < MAX_REROUTES; i++) {
    const r = router.route(slot, write, readonly && !write);
    if (r.kind === 'serve') return;
    if (r.kind === 'wait') {
      await router.whenLifted(r.slot);
      continue;
    }
    if (r.movedTo !== undefined) {
      throw new HttpError(421, 'moved', `slot ${slot} is served by ${r.movedTo.host}:${r.movedTo.port} (RESP)`, { slot, primary: r.movedTo });
    }
    throw new HttpError(503, 'cluster_down', r.message, { slot });
  }
  throw new HttpError(503, 'cluster_down', `slot ${slot} kept changing owner; retry`, { slot });
}
