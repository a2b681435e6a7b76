/**
 * Counters for INFO stats/errorstats: the dispatcher counts commands and
 * error replies by prefix, read commands count keyspace hits and misses
 * (lookup.ts). One instance per server context; CONFIG RESETSTAT zeroes it.
 */
export class InfoCounters {
  commandsProcessed = 0;
  errorReplies = 0;
  /** Keys found / not found by read commands (Redis's keyspace_hits / keyspace_misses). */
  keyspaceHits = 0;
  keyspaceMisses = 0;
  /** Error replies by their prefix ("ERR", "WRONGPASS", ...). */
  readonly errorsByPrefix = new Map<string, number>();

  recordError(text: string): void {
    this.errorReplies++;
    const space = text.indexOf(' ');
    const prefix = space === -1 ? text : text.slice(0, space);
    this.errorsByPrefix.set(prefix, (this.errorsByPrefix.get(prefix) ?? 0) + 1);
  }

  reset(): void {
    this.commandsProcessed = 0;
    this.errorReplies = 0;
    this.keyspaceHits = 0;
    this.keyspaceMisses = 0;
    this.errorsByPrefix.clear();
  }
}
