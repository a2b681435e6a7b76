/**
 * ACL LOG: the last denials and failed authentications, newest first, as
 * Redis 7.0 keeps them — an entry repeated within 60 s (same reason,
 * context, object and user) counts up and moves to the front.
 */
export type AclLogReason = 'auth' | 'command' | 'key' | 'channel';

export interface AclLogEntry {
  count: number;
  readonly reason: AclLogReason;
  readonly context: 'toplevel' | 'multi';
  readonly object: string;
  readonly username: string;
  createdAt: number;
  updatedAt: number;
  clientInfo: string;
}

const GROUPING_MS = 60_000;

export class AclLog {
  private entries: AclLogEntry[] = [];

  constructor(private maxLen: number) {}

  setMaxLen(n: number): void {
    this.maxLen = n;
    this.trim();
  }

  add(e: Omit<AclLogEntry, 'count' | 'createdAt' | 'updatedAt'>, now: number): void {
    const i = this.entries.findIndex((x) => x.reason === e.reason && x.context === e.context && x.object === e.object
      && x.username === e.username && now - x.updatedAt < GROUPING_MS);
    if (i >= 0) {
      const x = this.entries[i]!;
      x.count++;
      x.updatedAt = now;
      x.clientInfo = e.clientInfo;
      this.entries.splice(i, 1);
      this.entries.unshift(x);
    } else {
      this.entries.unshift({ ...e, count: 1, createdAt: now, updatedAt: now });
    }
    this.trim();
  }

  list(count: number): readonly AclLogEntry[] {
    return this.entries.slice(0, count);
  }

  reset(): void {
    this.entries = [];
  }

  private trim(): void {
    if (this.entries.length > this.maxLen) this.entries.length = this.maxLen;
  }
}
