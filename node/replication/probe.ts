/**
 * Asks a peer which epoch it knows and who leads there. A primary that has
 * lost its replicas probes the peers it has seen: if an authenticated one
 * reports a newer epoch, this node may have been deposed and stops accepting
 * writes until the control plane says what it is (docs/architecture.md §3
 * fencing). Both sides authenticate first (bus-auth.ts); the secret is never sent.
 */
import { dialBus } from '../tls/bus-transport.js';
import type { PeerAddress } from '../../common/replication.js';
import { BusClientAuth, type BusCredentials } from './bus-auth-client.js';
import { BusSocket } from './bus-socket.js';
import { FrameType, HANDSHAKE_FRAME_BYTES, encodeJsonFrame } from './frames.js';
import { parseProbeReply, parseRefuse, type ProbeMsg, type ProbeReplyMsg } from './messages.js';

export function probePeer(peer: PeerAddress, creds: BusCredentials, msg: ProbeMsg, timeoutMs: number): Promise<ProbeReplyMsg> {
  return new Promise((resolve, reject) => {
    // Every answer to a probe is small JSON: no trusted frame size here.
    const bus = new BusSocket(dialBus(peer.host, peer.busPort, creds.tls), HANDSHAKE_FRAME_BYTES);
    const auth = new BusClientAuth(bus, creds, peer.name);
    let settled = false;
    const done = (err: Error | null, reply?: ProbeReplyMsg): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bus.close('probe done');
      if (err !== null) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new Error(`probe of ${peer.name} timed out after ${timeoutMs} ms`)), timeoutMs);
    bus.socket.once('connect', () => auth.begin());
    bus.attach({
      onFrame: (f) => {
        if (!auth.done) {
          try {
            if (auth.onFrame(f)) bus.send(encodeJsonFrame(FrameType.Probe, msg));
          } catch (err) {
            done(err as Error);
          }
          return;
        }
        if (f.type === FrameType.ProbeReply) done(null, parseProbeReply(f.body));
        else if (f.type === FrameType.Refuse) done(new Error(`probe refused by ${peer.name}: ${parseRefuse(f.body).message}`));
        else done(new Error(`unexpected frame type ${f.type} in probe reply from ${peer.name}`));
      },
      onClose: (reason) => done(new Error(`probe of ${peer.name} failed: ${reason}`)),
    });
  });
}
