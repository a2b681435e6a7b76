/**
 * Fencing by asking around (docs/architecture.md §3): a primary missing some of its peers
 * asks them which epoch they are at; if one is newer, this node has been
 * replaced and steps down to follow the new primary. The other half answers
 * such probes from peers.
 */
import type { PeerAddress, RoleRequest } from '../../common/replication.js';
import type { Logger } from '../../common/logger.js';
import type { NodeConfig } from '../config/schema.js';
import { refuse } from './bus-server.js';
import type { BusSocket } from './bus-socket.js';
import { FrameType, encodeJsonFrame } from './frames.js';
import type { ProbeMsg } from './messages.js';
import type { ReplicationMetrics } from './metrics.js';
import { probePeer } from './probe.js';
import type { RoleStore } from './role-store.js';

const PROBE_TIMEOUT_MS = 1000;

export interface IsolationProbeDeps {
  readonly roles: RoleStore;
  readonly config: Pick<NodeConfig, 'nodeName' | 'adminToken'>;
  readonly metrics: ReplicationMetrics;
  readonly logger: Logger;
  /** This node's bus address as its peers reach it. */
  busAddress(): { host: string; busPort: number };
  /** A replica of this name is streaming from this node (so it is not missing). */
  connected(name: string): boolean;
  isClosed(): boolean;
  /** Steps down to follow a newer primary. */
  setRole(req: RoleRequest): void;
}

export class IsolationProbe {
  private probing = false;

  constructor(private readonly deps: IsolationProbeDeps) {}

  /** Asks the peers that are not connected; at most one round at a time. */
  async probeIfIsolated(): Promise<void> {
    if (this.probing) return;
    const { roles, config, metrics, logger } = this.deps;
    const s = roles.state;
    const missing = s.peers.filter((p) => p.name !== config.nodeName && !this.deps.connected(p.name));
    if (missing.length === 0) return;
    this.probing = true;
    try {
      for (const peer of missing) {
        let reply;
        try {
          reply = await probePeer(peer, { token: config.adminToken, name: config.nodeName, epoch: s.epoch }, PROBE_TIMEOUT_MS);
        } catch {
          continue; // unreachable peers say nothing either way
        }
        if (this.deps.isClosed() || roles.state.role !== 'primary') return;
        if (reply.epoch > roles.state.epoch) {
          const next: PeerAddress | null = reply.role === 'primary' ? { name: reply.name, host: peer.host, busPort: peer.busPort } : reply.primary;
          if (next === null || next.name === config.nodeName) continue;
          metrics.fencings.inc();
          logger.warn('a peer reports a newer epoch: this primary was replaced; stepping down', {
            peer: peer.name, peerEpoch: reply.epoch, ourEpoch: roles.state.epoch, newPrimary: next.name,
          });
          this.deps.setRole({ role: 'replica', epoch: reply.epoch, primary: next });
          return;
        }
      }
    } finally {
      this.probing = false;
    }
  }

  /** A peer's probe: who this node is, its epoch, and whom it takes for the primary. */
  answer(bus: BusSocket, probe: ProbeMsg): void {
    const { roles, config } = this.deps;
    const s = roles.state;
    if (config.adminToken === '' || probe.token !== config.adminToken) {
      refuse(bus, { code: 'auth', message: 'bad cluster token', epoch: s.epoch, primary: null });
      return;
    }
    const me: PeerAddress = { name: config.nodeName, ...this.deps.busAddress() };
    bus.endWith(encodeJsonFrame(FrameType.ProbeReply, {
      name: config.nodeName, epoch: s.epoch, role: s.role, primary: s.role === 'primary' ? me : s.primary,
    }), 'probe answered');
  }
}
