/**
 * WATCH bookkeeping: which clients watch which keys. Every change to a key
 * (keyspace.onChange) marks its watchers dirty so their EXEC fails. One
 * registry per server context (it subscribes to the keyspace once), shared by
 * the dispatcher and the transaction commands through ServerContext.watches.
 */
import type { Keyspace } from '../engine/types.js';
import type { ClientState } from './types.js';

export class WatchRegistry {
  private readonly byKey = new Map<string, Set<ClientState>>();
  /**
   * Expiry of each watched key that was live and had a TTL when WATCHed: a
   * key that expires between WATCH and EXEC fails the EXEC (as in Redis 7),
   * even if nothing deleted it yet.
   */
  private readonly expiries = new WeakMap<ClientState, Map<string, number>>();

  constructor(keyspace: Keyspace) {
    keyspace.onChange((key) => this.touch(key));
  }

  /** Number of keys watched by anyone (the fast path skips all work at 0). */
  get size(): number {
    return this.byKey.size;
  }

  touch(key: Buffer): void {
    if (this.byKey.size === 0) return;
    const watchers = this.byKey.get(key.toString('latin1'));
    if (watchers === undefined) return;
    for (const c of watchers) c.watchDirty = true;
  }

  watch(client: ClientState, key: Buffer, expiresAt: number | null): void {
    const k = key.toString('latin1');
    if (client.watched.has(k)) return;
    client.watched.set(k, key);
    let watchers = this.byKey.get(k);
    if (watchers === undefined) {
      watchers = new Set();
      this.byKey.set(k, watchers);
    }
    watchers.add(client);
    if (expiresAt !== null) {
      let exp = this.expiries.get(client);
      if (exp === undefined) {
        exp = new Map();
        this.expiries.set(client, exp);
      }
      exp.set(k, expiresAt);
    }
  }

  /** True if a key that was live when watched has reached its expiry time by `now`. */
  expiredSinceWatch(client: ClientState, now: number): boolean {
    const exp = this.expiries.get(client);
    if (exp === undefined) return false;
    for (const at of exp.values()) if (at <= now) return true;
    return false;
  }

  unwatchAll(client: ClientState): void {
    for (const k of client.watched.keys()) {
      const watchers = this.byKey.get(k);
      if (watchers === undefined) continue;
      watchers.delete(client);
      if (watchers.size === 0) this.byKey.delete(k);
    }
    client.watched.clear();
    this.expiries.delete(client);
  }
}
