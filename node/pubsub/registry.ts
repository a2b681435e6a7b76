/**
 * Who is subscribed to what, on one node: channels (SUBSCRIBE), patterns
 * (PSUBSCRIBE) and shard channels (SSUBSCRIBE), indexed both ways (name ->
 * subscribers for PUBLISH, subscriber -> names for UNSUBSCRIBE and for the
 * cleanup when a connection closes). Pure data: no I/O, no encoding; names
 * are binary (Buffers), keyed internally by their latin1 spelling.
 * Patterns match with the KEYS/SCAN glob (commands/glob.ts).
 */
import { compileGlob, globMatch } from '../commands/glob.js';

export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

interface Named<S> {
  readonly name: Buffer;
  readonly subscribers: Set<S>;
}

interface PatternEntry<S> extends Named<S> {
  readonly matches: (subject: Uint8Array) => boolean;
}

/** One subscriber's names, in subscription order (UNSUBSCRIBE without arguments answers in this order). */
interface Subscriptions {
  readonly channel: Map<string, Buffer>;
  readonly pattern: Map<string, Buffer>;
  readonly shard: Map<string, Buffer>;
}

export interface Recipients<S> {
  /** Subscribers of the channel itself. */
  readonly direct: readonly S[];
  /** Subscribers of a pattern matching the channel, with that pattern (one entry per matching pattern). */
  readonly byPattern: ReadonlyArray<readonly [S, Buffer]>;
}

const key = (name: Buffer): string => name.toString('latin1');

export class PubSubRegistry<S> {
  private readonly channels = new Map<string, Named<S>>();
  private readonly patterns = new Map<string, PatternEntry<S>>();
  private readonly shardChannels = new Map<string, Named<S>>();
  private readonly bySubscriber = new Map<S, Subscriptions>();

  /** Adds one subscription; false if the subscriber already had it. */
  subscribe(kind: SubscriptionKind, s: S, name: Buffer): boolean {
    const k = key(name);
    const mine = this.subscriptionsOf(s, true)![kind];
    if (mine.has(k)) return false;
    mine.set(k, name);
    const index = this.index(kind);
    let entry = index.get(k);
    if (entry === undefined) {
      entry = kind === 'pattern'
        ? { name, subscribers: new Set<S>(), matches: compileGlob(name) } as PatternEntry<S>
        : { name, subscribers: new Set<S>() };
      index.set(k, entry as PatternEntry<S>);
    }
    entry.subscribers.add(s);
    return true;
  }

  /** Removes one subscription; false if the subscriber did not have it. */
  unsubscribe(kind: SubscriptionKind, s: S, name: Buffer): boolean {
    const k = key(name);
    const subs = this.bySubscriber.get(s);
    if (subs === undefined || !subs[kind].delete(k)) return false;
    const index = this.index(kind);
    const entry = index.get(k);
    if (entry !== undefined) {
      entry.subscribers.delete(s);
      if (entry.subscribers.size === 0) index.delete(k);
    }
    if (subs.channel.size + subs.pattern.size + subs.shard.size === 0) this.bySubscriber.delete(s);
    return true;
  }

  /** The subscriber's names of one kind, in subscription order. */
  namesOf(kind: SubscriptionKind, s: S): Buffer[] {
    const subs = this.bySubscriber.get(s);
    return subs === undefined ? [] : [...subs[kind].values()];
  }

  /** Channels + patterns: the count SUBSCRIBE/PSUBSCRIBE replies carry (Redis's clientSubscriptionsCount). */
  subscriptionCount(s: S): number {
    const subs = this.bySubscriber.get(s);
    return subs === undefined ? 0 : subs.channel.size + subs.pattern.size;
  }

  /** Shard channels: the count SSUBSCRIBE/SUNSUBSCRIBE replies carry. */
  shardSubscriptionCount(s: S): number {
    return this.bySubscriber.get(s)?.shard.size ?? 0;
  }

  /** True while the subscriber has any subscription (Redis's CLIENT_PUBSUB flag: RESP2 subscribed mode). */
  isSubscribed(s: S): boolean {
    return this.bySubscriber.has(s);
  }

  /** Forgets every subscription of a subscriber (connection closed, RESET). */
  removeSubscriber(s: S): void {
    const subs = this.bySubscriber.get(s);
    if (subs === undefined) return;
    for (const kind of ['channel', 'pattern', 'shard'] as const) {
      for (const name of [...subs[kind].values()]) this.unsubscribe(kind, s, name);
    }
  }

  /** Who gets a PUBLISH to `channel`. */
  recipients(channel: Buffer): Recipients<S> {
    const direct = this.channels.get(key(channel));
    const byPattern: Array<readonly [S, Buffer]> = [];
    for (const p of this.patterns.values()) {
      if (!p.matches(channel)) continue;
      for (const s of p.subscribers) byPattern.push([s, p.name]);
    }
    return { direct: direct === undefined ? [] : [...direct.subscribers], byPattern };
  }

  /** Who gets an SPUBLISH to `channel`. */
  shardRecipients(channel: Buffer): S[] {
    const entry = this.shardChannels.get(key(channel));
    return entry === undefined ? [] : [...entry.subscribers];
  }

  /** PUBSUB CHANNELS / SHARDCHANNELS: active names, optionally filtered by a glob. */
  activeNames(kind: 'channel' | 'shard', pattern: Buffer | null): Buffer[] {
    const out: Buffer[] = [];
    for (const e of this.index(kind).values()) {
      if (pattern === null || globMatch(pattern, e.name)) out.push(e.name);
    }
    return out;
  }

  /** PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one name. */
  subscriberCount(kind: 'channel' | 'shard', name: Buffer): number {
    return this.index(kind).get(key(name))?.subscribers.size ?? 0;
  }

  /** Distinct names of a kind (INFO pubsub_channels / pubsub_patterns / pubsubshard_channels, PUBSUB NUMPAT). */
  size(kind: SubscriptionKind): number {
    return this.index(kind).size;
  }

  private index(kind: SubscriptionKind): Map<string, Named<S>> {
    return kind === 'channel' ? this.channels : kind === 'pattern' ? this.patterns : this.shardChannels;
  }

  private subscriptionsOf(s: S, create: boolean): Subscriptions | undefined {
    let subs = this.bySubscriber.get(s);
    if (subs === undefined && create) {
      subs = { channel: new Map(), pattern: new Map(), shard: new Map() };
      this.bySubscriber.set(s, subs);
    }
    return subs;
  }
}
