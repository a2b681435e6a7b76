/** Helpers shared by the dispatcher and the transaction/connection commands. */
import type { ClientState } from './types.js';
import type { WatchRegistry } from './watch.js';

/** Commands that run at once inside MULTI instead of being queued (as in Redis). */
export const RUN_IN_MULTI: ReadonlySet<string> = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/** discardTransaction: leave MULTI and forget every WATCH. */
export function discardTransaction(client: ClientState, watches: WatchRegistry): void {
  client.multi = null;
  unwatchAll(client, watches);
}

/** unwatchAllKeys plus clearing the dirty flag (UNWATCH, EXEC, DISCARD, RESET). */
export function unwatchAll(client: ClientState, watches: WatchRegistry): void {
  if (client.watched.size > 0) watches.unwatchAll(client);
  client.watchDirty = false;
}
