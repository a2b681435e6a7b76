/**
 * Cluster-wide Pub/Sub over the cluster bus. PUBLISH on any node goes to
 * every other node of the cluster map (Redis Cluster semantics); SPUBLISH
 * goes to the other members (primary and replicas) of the shard that owns
 * the channel's slot. Each node keeps one authenticated bus connection per
 * peer (the slot migration's client, MigrationConn: the same handshake over
 * the cluster secret), opened on first use; the receiving side is a
 * first-frame handler on the bus server, so a peer that did not pass the
 * handshake never reaches it. A receiver delivers to its local subscribers
 * only, never forwards again.
 *
 * Best-effort, as Redis's cluster bus is: while a connection is being
 * opened messages wait in a bounded queue; a message that finds the queue
 * or the socket over its bound, or no connection, is dropped and counted.
 */
import type { Logger } from '../../common/logger.js';
import type { BusCredentials } from '../replication/bus-auth-client.js';
import type { BusSocket } from '../replication/bus-socket.js';
import { FrameType, type Frame } from '../replication/frames.js';
import { MigrationConn, type PeerBusAddress } from '../migration/conn.js';
import type { PubSubForwarder } from './hub.js';
import { decodePubSubMessage, decodePubSubOpen, encodePubSubMessage, encodePubSubOpen, type ForwardedMessage } from './bus-frames.js';

const CONNECT_TIMEOUT_MS = 3000;
/** After a failed connection, messages to that peer are dropped for this long before the next attempt. */
const RETRY_AFTER_MS = 1000;

export interface PubSubBusDeps {
  readonly creds: BusCredentials;
  /** Bytes waiting for one peer (queued while connecting, or unsent in its socket) before messages to it are dropped. */
  readonly backlogBytes: number;
  /** Every other node of the cluster map (empty without a map). */
  allPeers(): PeerBusAddress[];
  /** The other members of the shard owning the channel's slot. */
  shardPeers(channel: Buffer): PeerBusAddress[];
  /** Local delivery of a message another node forwarded. */
  deliver(m: ForwardedMessage): void;
  readonly logger: Logger;
  now(): number;
}

class PeerLink {
  private conn: MigrationConn | null = null;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private state: 'connecting' | 'open' | 'failed' = 'connecting';
  private failedAt = 0;

  constructor(private readonly peer: PeerBusAddress, private readonly deps: PubSubBusDeps, private readonly onDrop: () => void) {
    this.open();
  }

  get key(): string {
    return peerKey(this.peer);
  }

  /** False once the link failed long enough ago to be replaced. */
  usable(now: number): boolean {
    return this.state !== 'failed' || now - this.failedAt < RETRY_AFTER_MS;
  }

  send(frame: Buffer): void {
    const limit = this.deps.backlogBytes;
    if (this.state === 'open' && this.conn !== null && this.conn.writableLength < limit) {
      this.conn.send(frame);
    } else if (this.state === 'connecting' && this.queuedBytes + frame.length <= limit) {
      this.queue.push(frame);
      this.queuedBytes += frame.length;
    } else {
      this.onDrop();
    }
  }

  close(): void {
    this.state = 'failed';
    this.conn?.close('pub/sub link closed');
  }

  private open(): void {
    MigrationConn.connect(this.peer, this.deps.creds, CONNECT_TIMEOUT_MS).then((conn) => {
      if (this.state !== 'connecting') {
        conn.close('pub/sub link closed');
        return;
      }
      this.conn = conn;
      conn.stream(() => { /* the receiving side sends nothing back */ });
      conn.onClose((reason) => this.failed(reason));
      conn.send(encodePubSubOpen(this.deps.creds.name));
      this.state = 'open';
      for (const f of this.queue) conn.send(f);
      this.queue = [];
      this.queuedBytes = 0;
    }, (err: Error) => this.failed(err.message));
  }

  private failed(reason: string): void {
    if (this.state === 'failed') return;
    for (let i = 0; i < this.queue.length; i++) this.onDrop();
    this.queue = [];
    this.queuedBytes = 0;
    this.state = 'failed';
    this.failedAt = this.deps.now();
    this.deps.logger.info('pub/sub link to a peer closed; messages to it are dropped until it reconnects', { peer: this.peer.name, reason });
  }
}

function peerKey(p: PeerBusAddress): string {
  return `${p.name}@${p.host}:${p.busPort}`;
}

export class PubSubBus implements PubSubForwarder {
  private readonly links = new Map<string, PeerLink>();
  private readonly inbound = new Set<BusSocket>();
  /** Messages not forwarded to a peer (no connection, backlog full). */
  dropped = 0;
  private readonly countDrop = (): void => {
    this.dropped++;
  };

  constructor(private readonly deps: PubSubBusDeps) {}

  publish(channel: Buffer, message: Buffer): void {
    this.forward(this.deps.allPeers(), { kind: 'publish', channel, message });
  }

  spublish(channel: Buffer, message: Buffer): void {
    this.forward(this.deps.shardPeers(channel), { kind: 'spublish', channel, message });
  }

  /** The bus server's first-frame handler: takes connections that open with PubSubOpen. */
  onBusFrame(bus: BusSocket, first: Frame): boolean {
    if (first.type !== FrameType.PubSubOpen) return false;
    const from = decodePubSubOpen(first.body);
    this.inbound.add(bus);
    bus.attach({
      onFrame: (f) => {
        if (f.type !== FrameType.PubSubMessage) throw new Error(`unexpected frame ${FrameType[f.type] ?? f.type} on the pub/sub link from ${from}`);
        this.deps.deliver(decodePubSubMessage(f.body));
      },
      onClose: () => {
        this.inbound.delete(bus);
      },
    });
    return true;
  }

  /** Closes the links to peers no longer in `peers` (they left the cluster map). */
  retain(peers: readonly PeerBusAddress[]): void {
    const keep = new Set(peers.map(peerKey));
    for (const [key, link] of this.links) {
      if (keep.has(key)) continue;
      link.close();
      this.links.delete(key);
    }
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const bus of this.inbound) bus.close('shutting down');
    this.inbound.clear();
  }

  private forward(peers: readonly PeerBusAddress[], m: ForwardedMessage): void {
    if (peers.length === 0) return;
    const frame = encodePubSubMessage(m);
    const now = this.deps.now();
    for (const peer of peers) {
      const key = peerKey(peer);
      let link = this.links.get(key);
      if (link !== undefined && !link.usable(now)) {
        this.links.delete(key);
        link = undefined;
      }
      if (link === undefined) {
        link = new PeerLink(peer, this.deps, this.countDrop);
        this.links.set(key, link);
      }
      link.send(frame);
    }
  }
}
