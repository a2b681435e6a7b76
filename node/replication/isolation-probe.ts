/**
 * Fencing by asking around (docs/architecture.md §3): a primary missing some of its peers
 * asks them which epoch they are at; if an authenticated one is newer, this
 * node may have been replaced and stops accepting writes (self-fence). It
 * does not take that epoch or step down: a peer's epoch is only a claim, and
 * only the control plane's setRole changes this node's role and epoch. The
 * other half answers such probes from (authenticated) peers.
 */
import type { PeerAddress } from '../../common/replication.js';
import type { Logger } from '../../common/logger.js';
import type { NodeConfig } from '../config/schema.js';
import { busTlsFiles } from '../tls/bus-transport.js';
import type { BusSocket } from './bus-socket.js';
import { FrameType, encodeJsonFrame } from './frames.js';
import type { ProbeMsg } from './messages.js';
import type { ReplicationMetrics } from './metrics.js';
import { BusAuthError } from './bus-auth.js';
import { probePeer } from './probe.js';
import type { RoleStore } from './role-store.js';

const PROBE_TIMEOUT_MS = 1000;

export interface IsolationProbeDeps {
  readonly roles: RoleStore;
  readonly config: Pick<NodeConfig, 'nodeName' | 'adminToken' | 'tlsCluster' | 'tlsCertFile' | 'tlsKeyFile' | 'tlsCaCertFile'>;
  readonly metrics: ReplicationMetrics;
  readonly logger: Logger;
  /** This node's bus address as its peers reach it. */
  busAddress(): { host: string; busPort: number };
  /** A replica of this name is streaming from this node (so it is not missing). */
  connected(name: string): boolean;
  isClosed(): boolean;
  /** Already fenced (until the control plane sets a role). */
  fenced(): boolean;
  /** Stops accepting writes until the control plane sets a role; does not change role or epoch. */
  fence(why: string): void;
}

export class IsolationProbe {
  private probing = false;

  constructor(private readonly deps: IsolationProbeDeps) {}

  /** Asks the peers that are not connected; at most one round at a time. */
  async probeIfIsolated(): Promise<void> {
    if (this.probing || this.deps.fenced()) return;
    const { roles, config, metrics, logger } = this.deps;
    const s = roles.state;
    const missing = s.peers.filter((p) => p.name !== config.nodeName && !this.deps.connected(p.name));
    if (missing.length === 0) return;
    this.probing = true;
    try {
      for (const peer of missing) {
        let reply;
        try {
          reply = await probePeer(peer, { secret: config.adminToken, name: config.nodeName, tls: busTlsFiles(config) }, { name: config.nodeName, epoch: s.epoch }, PROBE_TIMEOUT_MS);
        } catch (err) {
          // Unreachable peers say nothing either way; one that cannot prove the secret is not a peer at all.
          if (err instanceof BusAuthError && err.kind === 'unproven') {
            metrics.authRefusals.inc();
            logger.warn('bus peer refused: it did not prove it knows the cluster secret', { peer: peer.name, remote: `${peer.host}:${peer.busPort}`, reason: err.message });
          }
          continue;
        }
        if (this.deps.isClosed() || roles.state.role !== 'primary' || this.deps.fenced()) return;
        if (reply.epoch > roles.state.epoch) {
          const next: PeerAddress | null = reply.role === 'primary' ? { name: reply.name, host: peer.host, busPort: peer.busPort } : reply.primary;
          if (next === null || next.name === config.nodeName) continue;
          metrics.fencings.inc();
          logger.warn('an authenticated peer reports a newer epoch: this primary may have been replaced; it stops accepting writes until the control plane sets its role', {
            peer: peer.name, peerEpoch: reply.epoch, ourEpoch: roles.state.epoch, claimedPrimary: next.name,
          });
          this.deps.fence(`${peer.name} reports epoch ${reply.epoch} with primary ${next.name}`);
          return;
        }
      }
    } finally {
      this.probing = false;
    }
  }

  /** An authenticated peer's probe (bus-server.ts checked it): who this node is, its epoch, and whom it takes for the primary. */
  answer(bus: BusSocket, _probe: ProbeMsg): void {
    const { roles, config } = this.deps;
    const s = roles.state;
    const me: PeerAddress = { name: config.nodeName, ...this.deps.busAddress() };
    bus.endWith(encodeJsonFrame(FrameType.ProbeReply, {
      name: config.nodeName, epoch: s.epoch, role: s.role, primary: s.role === 'primary' ? me : s.primary,
    }), 'probe answered');
  }
}
