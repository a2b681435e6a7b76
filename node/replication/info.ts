/**
 * INFO replication in Redis 7's field names and order, so tools that parse
 * it (redis-cli, exporters, ioredis's role detection) read IrisDB the same
 * way; IrisDB's epoch and sync settings follow as irisdb_* fields.
 */
import type { ReplicationStatus, Term } from '../../common/replication.js';

export function replicationInfoFields(s: ReplicationStatus, replid: string): Array<[string, string | number]> {
  const f: Array<[string, string | number]> = [];
  if (s.role === 'primary') {
    f.push(['role', 'master']);
    const connected = s.replicas.filter((r) => r.connected);
    f.push(['connected_slaves', connected.length]);
    connected.forEach((r, i) => {
      const state = r.state === 'online' ? 'online' : r.state === 'full_sync' ? 'send_bulk' : 'wait_bgsave';
      f.push([`slave${i}`, `ip=${r.host},port=${r.port},state=${state},offset=${r.ackedSeq},lag=${Math.floor(r.lagMs / 1000)}`]);
    });
  } else {
    const p = s.primary;
    f.push(['role', 'slave']);
    f.push(['master_host', p?.respHost ?? p?.host ?? '']);
    f.push(['master_port', p?.respPort ?? 0]);
    f.push(['master_link_status', p?.state === 'streaming' ? 'up' : 'down']);
    f.push(['master_sync_in_progress', p?.loading != null ? 1 : 0]);
    if (p?.loading != null) {
      f.push(['master_sync_total_keys', p.loading.totalKeys]);
      f.push(['master_sync_read_keys', p.loading.keys]);
      f.push(['master_sync_read_bytes', p.loading.bytes]);
    }
    f.push(['slave_read_repl_offset', s.lastSeq]);
    f.push(['slave_repl_offset', s.lastSeq]);
    f.push(['slave_priority', 100]);
    f.push(['slave_read_only', 1]);
    f.push(['replica_announced', 1]);
    f.push(['connected_slaves', 0]);
  }
  f.push(['master_failover_state', 'no-failover']);
  f.push(['master_replid', replid]);
  f.push(['master_replid2', '0'.repeat(40)]);
  f.push(['master_repl_offset', s.lastSeq]);
  f.push(['second_repl_offset', -1]);
  f.push(['repl_backlog_active', s.backlog.firstSeq <= s.backlog.lastSeq ? 1 : 0]);
  f.push(['repl_backlog_size', Math.max(0, s.backlog.lastSeq - s.backlog.firstSeq + 1)]);
  f.push(['repl_backlog_first_byte_offset', s.backlog.firstSeq]);
  f.push(['repl_backlog_histlen', Math.max(0, s.backlog.lastSeq - s.backlog.firstSeq + 1)]);
  f.push(['irisdb_epoch', s.epoch]);
  f.push(['irisdb_min_sync_replicas', s.minSyncReplicas]);
  f.push(['irisdb_effective_min_sync_replicas', s.effectiveMinSyncReplicas]);
  f.push(['irisdb_pending_acks', s.pendingAcks]);
  return f;
}

/** Redis's master_replid: one per term, so a client sees it change on every new term. */
export function runIdOf(history: readonly Term[]): string {
  const last = history[history.length - 1];
  return last === undefined ? '0'.repeat(40) : (last.id + '0'.repeat(40)).slice(0, 40);
}
