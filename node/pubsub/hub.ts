/**
 * The node's Pub/Sub: the subscription registry, delivery of messages to
 * subscribed connections, the `client-output-buffer-limit pubsub` check,
 * and the hand-off of PUBLISH/SPUBLISH to the rest of the cluster (a
 * forwarder the runtime attaches; none on a standalone node). One per node,
 * created with the server context; no module-global state.
 *
 * A message is encoded once per protocol and the same bytes go to every
 * subscriber. Delivery is best-effort, as in Redis: nothing is stored, a
 * subscriber that cannot keep up is disconnected at its limit.
 */
import { bulk, integer, NULL, push, type Reply } from '../resp/reply.js';
import { encodeReply } from '../resp/encoder.js';
import { PubSubRegistry, type SubscriptionKind } from './registry.js';

/** What the hub needs of a client connection. */
export interface Subscriber {
  readonly id: number;
  readonly protocol: 2 | 3;
  /** Queues encoded push bytes behind the replies already due to this client. */
  deliverPush?(bytes: Buffer): void;
  /** Bytes written to the client and not yet sent (output buffer). */
  outputBytes(): number;
  kill(): void;
}

/** Redis's `client-output-buffer-limit pubsub <hard> <soft> <soft-seconds>`; 0 disables a limit. */
export interface OutputBufferLimit {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

/** Carries PUBLISH / SPUBLISH to the other nodes (cluster bus); attached by the runtime. */
export interface PubSubForwarder {
  publish(channel: Buffer, message: Buffer): void;
  /** To the other members of the shard that owns the channel's slot. */
  spublish(channel: Buffer, message: Buffer): void;
}

export interface PubSubHubOptions {
  readonly limit: OutputBufferLimit;
  /** Initial notify-keyspace-events bits (default 0: off). */
  readonly notifyFlags?: number;
  /** A subscriber went over its output-buffer limit and was disconnected (log, metrics). */
  onLimitDisconnect?(subscriber: Subscriber, outputBytes: number): void;
  /** Monotonic milliseconds (soft-limit timing); injected for tests. */
  now(): number;
}

const MESSAGE = bulk('message');
const PMESSAGE = bulk('pmessage');
const SMESSAGE = bulk('smessage');

/** Encodes a push once per protocol, on first use. */
class LazyPush {
  private readonly bytes: Array<Buffer | null> = [null, null];
  constructor(private readonly reply: Reply) {}
  for(protocol: 2 | 3): Buffer {
    const i = protocol - 2;
    return (this.bytes[i] ??= encodeReply(this.reply, protocol));
  }
}

export class PubSubHub<S extends Subscriber = Subscriber> {
  readonly registry = new PubSubRegistry<S>();
  /** notify-keyspace-events bits (keyspace-flags.ts); CONFIG SET changes them. */
  notifyFlags = 0;
  readonly limit: OutputBufferLimit;
  /** Subscribers disconnected for their output buffer (INFO client_output_buffer_limit_disconnections). */
  outputLimitDisconnections = 0;
  private forwarder: PubSubForwarder | null = null;
  /** When each subscriber went over the soft limit (absent: under it). */
  private readonly overSoftSince = new Map<S, number>();

  constructor(private readonly opts: PubSubHubOptions) {
    this.limit = { ...opts.limit };
    this.notifyFlags = opts.notifyFlags ?? 0;
  }

  setForwarder(f: PubSubForwarder | null): void {
    this.forwarder = f;
  }

  /** PUBLISH: local subscribers now, the other nodes through the forwarder; returns the local receivers (as Redis Cluster does). */
  publish(channel: Buffer, message: Buffer): number {
    const n = this.publishLocal(channel, message);
    this.forwarder?.publish(channel, message);
    return n;
  }

  /** SPUBLISH: local shard-channel subscribers, then the shard's other members. */
  spublish(channel: Buffer, message: Buffer): number {
    const n = this.spublishLocal(channel, message);
    this.forwarder?.spublish(channel, message);
    return n;
  }

  /** Delivers to this node's channel and pattern subscribers; returns how many received it. */
  publishLocal(channel: Buffer, message: Buffer): number {
    const { direct, byPattern } = this.registry.recipients(channel);
    if (direct.length > 0) {
      const msg = new LazyPush(push([MESSAGE, bulk(channel), bulk(message)]));
      for (const s of direct) this.deliver(s, msg);
    }
    for (const [s, pattern] of byPattern) {
      this.deliver(s, new LazyPush(push([PMESSAGE, bulk(pattern), bulk(channel), bulk(message)])));
    }
    return direct.length + byPattern.length;
  }

  spublishLocal(channel: Buffer, message: Buffer): number {
    const subs = this.registry.shardRecipients(channel);
    if (subs.length === 0) return 0;
    const msg = new LazyPush(push([SMESSAGE, bulk(channel), bulk(message)]));
    for (const s of subs) this.deliver(s, msg);
    return subs.length;
  }

  /**
   * The node no longer serves these shard channels' slots (a migration moved
   * them): each subscriber is unsubscribed and told so with an `sunsubscribe`
   * push, as Redis 7 does, so cluster clients resubscribe at the new owner.
   */
  dropShardChannels(stillServed: (channel: Buffer) => boolean): number {
    let dropped = 0;
    for (const channel of this.registry.activeNames('shard', null)) {
      if (stillServed(channel)) continue;
      for (const s of this.registry.shardRecipients(channel)) {
        this.registry.unsubscribe('shard', s, channel);
        this.deliver(s, new LazyPush(confirmation('sunsubscribe', channel, this.registry.shardSubscriptionCount(s))));
        dropped++;
      }
    }
    return dropped;
  }

  /** The connection closed (or RESET): forget its subscriptions. */
  removeSubscriber(s: S): void {
    this.registry.removeSubscriber(s);
    this.overSoftSince.delete(s);
  }

  isSubscribed(s: S): boolean {
    return this.registry.isSubscribed(s);
  }

  kindCount(kind: SubscriptionKind): number {
    return this.registry.size(kind);
  }

  private deliver(s: S, msg: LazyPush): void {
    if (s.deliverPush === undefined) return;
    s.deliverPush(msg.for(s.protocol));
    this.checkLimit(s);
  }

  /** Redis's checkClientOutputBufferLimits for the pubsub class. */
  private checkLimit(s: S): void {
    const { hardBytes, softBytes, softSeconds } = this.limit;
    const used = s.outputBytes();
    let over = hardBytes > 0 && used >= hardBytes;
    if (!over && softBytes > 0 && used >= softBytes) {
      const since = this.overSoftSince.get(s);
      const now = this.opts.now();
      if (since === undefined) this.overSoftSince.set(s, now);
      else if (now - since > softSeconds * 1000) over = true;
    } else if (!over) {
      this.overSoftSince.delete(s);
    }
    if (!over) return;
    this.outputLimitDisconnections++;
    this.removeSubscriber(s);
    this.opts.onLimitDisconnect?.(s, used);
    s.kill();
  }
}

/** A (un)subscribe confirmation: [kind, name or nil, count]. */
export function confirmation(kind: string, name: Buffer | null, count: number): Reply {
  return push([bulk(kind), name === null ? NULL : bulk(name), integer(count)]);
}
