/**
 * Asks a peer which epoch it knows and who leads there. A primary that has
 * lost its replicas probes the peers it has seen: if one reports a newer
 * epoch, this node was deposed and must step down (docs/architecture.md §3 fencing).
 */
import net from 'node:net';
import type { PeerAddress } from '../../common/replication.js';
import { BusSocket } from './bus-socket.js';
import { FrameType, encodeJsonFrame } from './frames.js';
import { parseProbeReply, parseRefuse, type ProbeMsg, type ProbeReplyMsg } from './messages.js';

export function probePeer(peer: PeerAddress, msg: ProbeMsg, timeoutMs: number): Promise<ProbeReplyMsg> {
  return new Promise((resolve, reject) => {
    const bus = new BusSocket(net.connect({ host: peer.host, port: peer.busPort }));
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
    bus.socket.once('connect', () => bus.send(encodeJsonFrame(FrameType.Probe, msg)));
    bus.attach({
      onFrame: (f) => {
        if (f.type === FrameType.ProbeReply) done(null, parseProbeReply(f.body));
        else if (f.type === FrameType.Refuse) done(new Error(`probe refused by ${peer.name}: ${parseRefuse(f.body).message}`));
        else done(new Error(`unexpected frame type ${f.type} in probe reply from ${peer.name}`));
      },
      onClose: (reason) => done(new Error(`probe of ${peer.name} failed: ${reason}`)),
    });
  });
}
