/**
 * The controller's view of its clusters as Prometheus metrics, read from
 * each controller's status at scrape time: shards with an answering
 * primary, changes of primary (in flight, refused, counted), slots in the
 * published map, node health and restarts, the rebalance under way, and
 * backups (ended by result, the newest good one).
 * Served by the local control API (GET /metrics) and by the operator's
 * /metrics on Kubernetes; the chart's alerts (helm/irisdb/rules/) query
 * them. Labels: namespace (empty locally), cluster, shard, pod (the node's
 * name, which is its pod's on Kubernetes).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterPhase, ClusterStatus, OperationView } from '../core/observation.js';
import type { ControllerState } from '../core/state.js';
import type { ControllerEvent } from './context.js';

/** What the metrics read of one controller (Controller implements it). */
export interface MeteredController {
  readonly state: ControllerState;
  status(): ClusterStatus;
  onEvent(listener: (e: ControllerEvent) => void): void;
}

export interface ControllerMetrics {
  /** Adds a controller's cluster to every scrape (namespace: '' for a local cluster). */
  watch(controller: MeteredController, namespace: string): void;
  /** Removes it (its controller stopped: a lost lease, a deleted IrisCluster). */
  unwatch(controller: MeteredController): void;
}

const PHASES: readonly ClusterPhase[] = ['Bootstrapping', 'Ready', 'Degraded', 'Unavailable'];
const ROLES = ['primary', 'replica', 'unknown'] as const;

interface Watched {
  readonly controller: MeteredController;
  readonly namespace: string;
  /** Changes of primary already counted, by "id/kind" (a switchover can turn into a failover). */
  readonly counted: Set<string>;
  /** Restarts already counted per node, with the labels they are counted under. */
  readonly restarts: Map<string, { readonly count: number; readonly labels: Record<'namespace' | 'cluster' | 'shard' | 'pod', string> }>;
  /** Backups whose end (Completed or Failed) is already counted, by id. */
  readonly backupsEnded: Set<string>;
  /** The rebalance's progress when it last changed, and when. */
  progress: { readonly key: string; readonly at: number };
  active: boolean;
}

export function createControllerMetrics(registry: Registry, now: () => number = Date.now): ControllerMetrics {
  const r = [registry];
  const watched: Watched[] = [];
  let snapshot: Array<{ w: Watched; st: ClusterStatus }> = [];
  // Registered first: its collect takes the scrape's snapshot (one status per cluster) that everything below reads.
  const failovers = new Counter({
    name: 'irisdb_controller_failovers_total', help: 'Changes of primary the controller started, by shard and kind (failover: the primary was lost; switchover: planned)',
    labelNames: ['namespace', 'cluster', 'shard', 'kind'] as const, registers: r,
    collect() { snapshot = refresh(); },
  });
  const backups = new Counter({
    name: 'irisdb_controller_backups_total', help: 'Cluster backups that ended, by result (completed, failed)',
    labelNames: ['namespace', 'cluster', 'result'] as const, registers: r,
  });
  const restarts = new Counter({
    name: 'irisdb_controller_node_restarts_total', help: 'Node restarts the platform reported (process or pod restarts) since the controller started',
    labelNames: ['namespace', 'cluster', 'shard', 'pod'] as const, registers: r,
  });

  /** Counts every change of primary recorded in the state that is not counted yet. */
  const countChanges = (w: Watched): void => {
    const cluster = w.controller.state.cluster;
    for (const s of w.controller.state.shards) {
      for (const kind of ['failover', 'switchover'] as const) failovers.inc({ namespace: w.namespace, cluster, shard: s.id, kind }, 0);
      const f = s.failover;
      if (f === null || w.counted.has(`${f.id}/${f.kind}`)) continue;
      w.counted.add(`${f.id}/${f.kind}`);
      failovers.inc({ namespace: w.namespace, cluster, shard: s.id, kind: f.kind });
    }
  };

  /** Counts every backup that ended since the controller was watched. */
  const countBackups = (w: Watched): void => {
    const cluster = w.controller.state.cluster;
    for (const result of ['completed', 'failed'] as const) backups.inc({ namespace: w.namespace, cluster, result }, 0);
    for (const b of w.controller.state.backups ?? []) {
      if (b.phase === 'Running' || w.backupsEnded.has(b.id)) continue;
      w.backupsEnded.add(b.id);
      backups.inc({ namespace: w.namespace, cluster, result: b.phase === 'Completed' ? 'completed' : 'failed' });
    }
  };

  /** Brings the restart counters up to the platform's counts and reads everything else once. */
  const refresh = (): Array<{ w: Watched; st: ClusterStatus }> => watched.map((w) => {
    countChanges(w);
    countBackups(w);
    const st = w.controller.status();
    for (const s of st.shards) {
      for (const n of s.nodes) {
        const labels = { namespace: w.namespace, cluster: st.cluster, shard: s.id, pod: n.name };
        const before = w.restarts.get(n.name)?.count ?? 0;
        // A platform that lost count (a pod recreated) starts again from zero: nothing to add.
        restarts.inc(labels, Math.max(0, n.restarts - before));
        w.restarts.set(n.name, { count: n.restarts, labels });
      }
    }
    const key = progressKey(st.operation);
    if (key !== w.progress.key) w.progress = { key, at: now() };
    w.active = st.operation !== null;
    return { w, st };
  });

  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (g: Gauge<string>, w: Watched, st: ClusterStatus) => void): void => {
    new Gauge({
      name, help, labelNames: ['namespace', 'cluster', ...labelNames], registers: r,
      collect() {
        this.reset();
        for (const { w, st } of snapshot) fill(this, w, st);
      },
    });
  };

  gauge('irisdb_controller_cluster_phase', '1 for the phase the cluster is in (Bootstrapping, Ready, Degraded, Unavailable)', ['phase'], (g, w, st) => {
    for (const p of PHASES) g.set({ namespace: w.namespace, cluster: st.cluster, phase: p }, p === st.phase ? 1 : 0);
  });
  gauge('irisdb_controller_slots_assigned', 'Hash slots the published cluster map assigns to a shard (16384 when every key can be served)', [], (g, w, st) => {
    g.set({ namespace: w.namespace, cluster: st.cluster }, st.slotsAssigned);
  });
  gauge('irisdb_controller_shard_primary_up', '1 when the shard\'s recorded primary answered the last heartbeat as primary', ['shard'], (g, w, st) => {
    for (const s of st.shards) {
      const p = s.nodes.find((n) => n.name === s.primary);
      g.set({ namespace: w.namespace, cluster: st.cluster, shard: s.id }, p !== undefined && p.up && p.role === 'primary' ? 1 : 0);
    }
  });
  gauge('irisdb_controller_shard_slots', 'Hash slots the published map assigns to the shard', ['shard'], (g, w, st) => {
    for (const s of st.shards) g.set({ namespace: w.namespace, cluster: st.cluster, shard: s.id }, s.slotCount);
  });
  gauge('irisdb_controller_failover_in_progress', '1 while a change of primary (failover or switchover) of the shard is under way', ['shard'], (g, w, st) => {
    for (const s of st.shards) g.set({ namespace: w.namespace, cluster: st.cluster, shard: s.id }, s.failover === null ? 0 : 1);
  });
  gauge('irisdb_controller_failover_blocked', '1 while a change of primary of the shard cannot go on (a failover refusing to promote: too few sync replicas answered)', ['shard'], (g, w, st) => {
    for (const s of st.shards) g.set({ namespace: w.namespace, cluster: st.cluster, shard: s.id }, s.failover?.blocked != null ? 1 : 0);
  });
  gauge('irisdb_controller_node_up', '1 when the node answered the controller\'s last heartbeat', ['shard', 'pod'], (g, w, st) => {
    for (const s of st.shards) for (const n of s.nodes) g.set({ namespace: w.namespace, cluster: st.cluster, shard: s.id, pod: n.name }, n.up ? 1 : 0);
  });
  gauge('irisdb_controller_node_role', '1 for the role the node reported on its last heartbeat (primary, replica, unknown)', ['shard', 'pod', 'role'], (g, w, st) => {
    for (const s of st.shards) {
      for (const n of s.nodes) for (const role of ROLES) g.set({ namespace: w.namespace, cluster: st.cluster, shard: s.id, pod: n.name, role }, n.role === role ? 1 : 0);
    }
  });
  gauge('irisdb_controller_rebalance_in_progress', '1 while a rescale or rebalance (slot migrations) is under way', [], (g, w, st) => {
    g.set({ namespace: w.namespace, cluster: st.cluster }, w.active ? 1 : 0);
  });
  gauge('irisdb_controller_rebalance_slots', 'Slots the rebalance under way moves (state: total) and has moved (done); 0 without one', ['state'], (g, w, st) => {
    const op = st.operation;
    g.set({ namespace: w.namespace, cluster: st.cluster, state: 'done' }, op?.slotsDone ?? 0);
    g.set({ namespace: w.namespace, cluster: st.cluster, state: 'total' }, op?.slotsTotal ?? 0);
  });
  gauge('irisdb_controller_rebalance_last_progress_timestamp_seconds',
    'When the rebalance under way last moved forward (stage, migration, slots or keys copied); the scrape time when none is under way', [], (g, w, st) => {
      g.set({ namespace: w.namespace, cluster: st.cluster }, (w.active ? w.progress.at : now()) / 1000);
    });

  gauge('irisdb_controller_backup_running', '1 while a cluster backup is being taken', [], (g, w, st) => {
    g.set({ namespace: w.namespace, cluster: st.cluster }, (w.controller.state.backups ?? []).some((b) => b.phase === 'Running') ? 1 : 0);
  });
  gauge('irisdb_controller_backup_last_success_timestamp_seconds', 'When the newest completed backup finished (0: none recorded)', [], (g, w, st) => {
    const done = (w.controller.state.backups ?? []).flatMap((b) => (b.phase === 'Completed' && b.finishedAt !== null ? [b.finishedAt] : []));
    g.set({ namespace: w.namespace, cluster: st.cluster }, done.length === 0 ? 0 : Math.max(...done) / 1000);
  });

  return {
    watch(controller, namespace) {
      if (watched.some((w) => w.controller === controller)) return;
      const w: Watched = { controller, namespace, counted: new Set(), restarts: new Map(), backupsEnded: new Set(), progress: { key: '', at: now() }, active: false };
      // A change of primary under way, or a backup that ended, before the controller (re)started was counted by the one before.
      for (const s of controller.state.shards) if (s.failover !== null) w.counted.add(`${s.failover.id}/${s.failover.kind}`);
      for (const b of controller.state.backups ?? []) if (b.phase !== 'Running') w.backupsEnded.add(b.id);
      countChanges(w);
      countBackups(w);
      // Counted on the event too, so a failover that finishes between two scrapes is not missed.
      controller.onEvent((e) => {
        if ((e.reason === 'FailoverStarted' || e.reason === 'SwitchoverStarted') && watched.includes(w)) countChanges(w);
      });
      watched.push(w);
    },
    unwatch(controller) {
      const i = watched.findIndex((w) => w.controller === controller);
      if (i < 0) return;
      const [w] = watched.splice(i, 1);
      // Its counters go too: a deleted cluster must not linger in every scrape (a new watch starts them from zero).
      const cluster = controller.state.cluster;
      for (const s of controller.state.shards) for (const kind of ['failover', 'switchover']) failovers.remove({ namespace: w!.namespace, cluster, shard: s.id, kind });
      for (const result of ['completed', 'failed']) backups.remove({ namespace: w!.namespace, cluster, result });
      for (const { labels } of w!.restarts.values()) restarts.remove(labels);
    },
  };
}

function progressKey(op: OperationView | null): string {
  if (op === null) return '';
  const c = op.current;
  return [op.id, op.stage, op.movesDone, op.slotsDone, op.keysMoved, op.bytesMoved, c?.id ?? '', c?.stage ?? '', c?.keysCopied ?? 0, c?.bytesCopied ?? 0].join('|');
}
