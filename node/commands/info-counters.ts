/**
 * Counters the dispatcher keeps for INFO stats/errorstats (total commands,
 * error replies by prefix). One instance per server context: the dispatcher
 * counts, the INFO command reads.
 */
export class InfoCounters {
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
