/**
 * Keyspace notifications (notify-keyspace-events): every write command runs
 * through wrap() (commands/invoke.ts, the one place handlers run), which
 * records the keys the apply path changed while the handler ran and turns
 * them into Redis's events (keyspace-events.ts); keys deleted because their
 * TTL passed raise `expired`, from lazy and active expiry alike.
 *
 * Events are published to this node's subscribers once the turn that made
 * the change has committed (afterCommit): a subscriber never hears of a
 * write that was rolled back, and never before the writer's own reply could
 * have been sent. Like Redis Cluster, notifications are node-local.
 * Replicated writes applied on a replica do not pass through commands, so
 * replicas raise no keyspace events (docs/pubsub.md).
 */
import type { CommitScheduler, Keyspace } from '../engine/types.js';
import type { CommandResult } from '../commands/types.js';
import { NOTIFY } from './keyspace-flags.js';
import { keyspaceEventsFor, notificationsOf, raisesKeyspaceEvents, type KeyChange, type KeyEvent } from './keyspace-events.js';

export interface KeyspacePublisher {
  /** notify-keyspace-events bits, read on every command (CONFIG SET changes them). */
  readonly notifyFlags: number;
  publishLocal(channel: Buffer, message: Buffer): number;
}

const CHANNEL_CLASSES = NOTIFY.KEYSPACE | NOTIFY.KEYEVENT;

export class KeyspaceNotifier {
  /** Keys changed by the running command (null: not capturing). */
  private capture: Buffer[] | null = null;

  constructor(
    private readonly hub: KeyspacePublisher,
    private readonly keyspace: Keyspace,
    private readonly commits: CommitScheduler,
  ) {
    keyspace.onChange((key) => {
      if (this.capture !== null) this.capture.push(key);
    });
    keyspace.onExpired?.((key) => this.expired(key));
  }

  /** Whether any event could be sent at all (a K or E channel and at least one class). */
  get enabled(): boolean {
    const f = this.hub.notifyFlags;
    return (f & CHANNEL_CLASSES) !== 0 && (f & ~CHANNEL_CLASSES) !== 0;
  }

  /** Runs a write command's handler and raises the events of what it changed. */
  wrap(command: string, argv: Buffer[], keyArgs: readonly Buffer[], now: number, run: () => CommandResult): CommandResult {
    if (!this.enabled || this.capture !== null || !raisesKeyspaceEvents(command)) return run();
    const existedBefore = (this.hub.notifyFlags & NOTIFY.NEW) !== 0
      ? new Set(keyArgs.filter((k) => this.keyspace.get(k, now) !== null).map((k) => k.toString('latin1')))
      : null;
    this.capture = [];
    let changed: Buffer[];
    let result: CommandResult;
    try {
      result = run();
    } finally {
      changed = this.capture;
      this.capture = null;
    }
    if (changed.length === 0) return result;
    const seen = new Set<string>();
    const changes: KeyChange[] = [];
    for (const key of changed) {
      const k = key.toString('latin1');
      if (seen.has(k)) continue;
      seen.add(k);
      changes.push({ key, existsAfter: this.keyspace.get(key, now) !== null, created: existedBefore !== null && !existedBefore.has(k) });
    }
    this.emit(keyspaceEventsFor(command, argv, changes));
    return result;
  }

  /** A key was deleted because its TTL passed. */
  private expired(key: Buffer): void {
    const c = this.capture;
    if (c !== null) {
      // The expiry's own delete is not a change the running command made.
      const i = c.findLastIndex((k) => k.equals(key));
      if (i >= 0) c.splice(i, 1);
    }
    if (this.enabled) this.emit([{ cls: NOTIFY.EXPIRED, event: 'expired', key }]);
  }

  /** Publishes the events' notifications once the current turn has committed (one callback per batch: turns commit in order). */
  private emit(events: readonly KeyEvent[]): void {
    const flags = this.hub.notifyFlags;
    const batch: Array<[Buffer, Buffer]> = [];
    for (const e of events) for (const pair of notificationsOf(flags, e)) batch.push(pair);
    if (batch.length === 0) return;
    this.commits.afterCommit((err) => {
      if (err !== null) return;
      for (const [channel, message] of batch) this.hub.publishLocal(channel, message);
    });
  }
}
