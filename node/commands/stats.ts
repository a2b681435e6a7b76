/** Counters the dispatcher keeps for INFO stats/errorstats (one set per keyspace, i.e. per node). */
import type { Keyspace } from '../engine/types.js';

export class CommandStats {
  commandsProcessed = 0;
  errorReplies = 0;
  /** Error replies by their prefix ("ERR", "WRONGPASS", ...). */
  readonly errorsByPrefix = new Map<string, number>();

  recordError(text: string): void {
    this.errorReplies++;
    const space = text.indexOf(' ');
    const prefix = space === -1 ? text : text.slice(0, space);
    this.errorsByPrefix.set(prefix, (this.errorsByPrefix.get(prefix) ?? 0) + 1);
  }
}

const all = new WeakMap<Keyspace, CommandStats>();

export function commandStats(keyspace: Keyspace): CommandStats {
  let s = all.get(keyspace);
  if (s === undefined) {
    s = new CommandStats();
    all.set(keyspace, s);
  }
  return s;
}
