/**
 * A record of what clients were told, for checking durability afterwards.
 * Each client writes increasing sequence numbers into values; for every key
 * the value read back must be the last acknowledged write or one sent after
 * it (an in-flight write may or may not have landed), never older, never
 * something no client sent. Reads are recorded too: a value a client once
 * read must not be lost afterwards (that would have been a dirty read of a
 * write that never survived).
 */
export interface KeyHistory {
  /** Highest sequence acknowledged for the key (-1 if none). */
  acked: number;
  /** Highest sequence sent for the key. */
  sent: number;
  /** Highest sequence any client read for the key (-1 if none). */
  read: number;
}

export class AckLog {
  private readonly keys = new Map<string, KeyHistory>();
  ackedWrites = 0;

  sent(key: string, seq: number): void {
    const h = this.keys.get(key);
    if (h) h.sent = Math.max(h.sent, seq);
    else this.keys.set(key, { acked: -1, sent: seq, read: -1 });
  }

  /** A client read `seq` for `key`. */
  read(key: string, seq: number): void {
    const h = this.keys.get(key);
    if (h) h.read = Math.max(h.read, seq);
  }

  acked(key: string, seq: number): void {
    const h = this.keys.get(key)!;
    h.acked = Math.max(h.acked, seq);
    this.ackedWrites++;
  }

  entries(): IterableIterator<[string, KeyHistory]> {
    return this.keys.entries();
  }

  /**
   * Compares what the database returns with the history. `read` gives the
   * sequence stored for a key (null if absent). Returns human-readable
   * violations; empty means every acknowledged write is there.
   */
  check(read: (key: string) => number | null): string[] {
    const problems: string[] = [];
    for (const [key, h] of this.keys) {
      const got = read(key);
      if (got === null) {
        if (h.acked >= 0) problems.push(`${key}: acknowledged seq ${h.acked} but the key is missing`);
        else if (h.read >= 0) problems.push(`${key}: a client read seq ${h.read}, but the key is missing`);
      } else if (got < h.acked) {
        problems.push(`${key}: holds seq ${got}, older than acknowledged seq ${h.acked}`);
      } else if (got > h.sent) {
        problems.push(`${key}: holds seq ${got}, which was never sent (last sent ${h.sent})`);
      } else if (got < h.read) {
        problems.push(`${key}: holds seq ${got}, but a client read seq ${h.read} earlier: that read returned a write that was lost`);
      }
    }
    return problems;
  }
}
