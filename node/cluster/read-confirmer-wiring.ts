/**
 * Builds the strong-read confirmer and the HTTP read-consistency surface from
 * the node's replication manager (the runtime's glue, kept out of it).
 */
import type { NodeConfig } from '../config/schema.js';
import type { ReplicationManager } from '../replication/manager.js';
import { probePeer } from '../replication/probe.js';
import type { HttpReadConsistency } from '../http/consistency.js';
import { confirmQuorum, replicaLag } from './read-consistency.js';
import { ReadConfirmer } from './read-confirmer.js';
import { busTlsFiles } from '../tls/bus-transport.js';

export function createReadConfirmer(config: NodeConfig, replication: ReplicationManager): ReadConfirmer {
  const creds = { secret: config.adminToken, name: config.nodeName, tls: busTlsFiles(config) };
  return new ReadConfirmer({
    facts: () => {
      const st = replication.status();
      return { name: st.name, role: st.role, epoch: st.epoch, fenced: st.fenced !== undefined, quorum: confirmQuorum(st.declaredReplicas.length, st.minSyncReplicas) };
    },
    replicas: () => {
      const st = replication.status();
      // Only declared replicas count (as for write acks); their bus address as their session announced it.
      return st.replicas.filter((r) => st.declaredReplicas.includes(r.name)).map((r) => ({ name: r.name, host: r.host, busPort: r.busPort }));
    },
    // Bounded like a write's wait for acknowledgements (ackTimeoutMs).
    probe: async (peer, facts) => {
      const reply = await probePeer(peer, creds, { name: facts.name, epoch: facts.epoch }, config.ackTimeoutMs);
      return { name: reply.name, epoch: reply.epoch, role: reply.role, primary: reply.primary?.name ?? null };
    },
  });
}

export function httpReadConsistency(replication: ReplicationManager, confirmer: ReadConfirmer): HttpReadConsistency {
  return {
    confirm: () => confirmer.confirm(),
    role: () => replication.roleView().role,
    replicaLag: () => {
      const f = replication.replicaLagFacts();
      return f === null ? null : replicaLag({ ...f, now: performance.now() });
    },
  };
}
