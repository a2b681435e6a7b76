/**
 * The replica side: the one link to the primary this node follows. Following
 * the same primary again keeps the link (and its stream position); another
 * primary gets a new link.
 */
import type { PeerAddress, PrimaryLinkStatus } from '../../common/replication.js';
import type { ReplicaSide } from './context.js';
import { PrimaryLink } from './primary-link.js';

export class PrimaryFollower {
  private link: PrimaryLink | null = null;

  constructor(private readonly side: ReplicaSide) {}

  /** Streams from `primary`, keeping the current link if it already goes there. */
  follow(primary: PeerAddress): void {
    const t = this.link?.target;
    if (t !== undefined && t.name === primary.name && t.host === primary.host && t.busPort === primary.busPort) return;
    this.link?.stop('following another primary');
    this.link = new PrimaryLink(primary, this.side);
    this.link.start();
  }

  stop(reason: string): void {
    this.link?.stop(reason);
    this.link = null;
  }

  /** The primary's client address (MOVED target), once its handshake said it. */
  primaryClientAddress(): { host: string; port: number } | null {
    const link = this.link;
    return link !== null && link.respHost !== null && link.respPort !== null ? { host: link.respHost, port: link.respPort } : null;
  }

  /** A full resync is loading. */
  get loading(): boolean {
    return this.link?.loading != null;
  }

  /** Keys loaded so far in a full resync, or null. */
  get loadingKeys(): number | null {
    return this.link?.loading?.keys ?? null;
  }

  status(): PrimaryLinkStatus | null {
    return this.link?.status() ?? null;
  }

  /** See PrimaryLink.lagFacts; null without a link. */
  lagFacts(): ReturnType<PrimaryLink['lagFacts']> | null {
    return this.link?.lagFacts() ?? null;
  }
}
