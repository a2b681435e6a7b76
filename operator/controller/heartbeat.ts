/**
 * Heartbeats: every round asks each node for its replication status and its
 * installed map epoch. A node has at most one request outstanding, and a
 * round waits at most one heartbeat interval, so one hung node never slows
 * the others' detection. "Missed" is core/health.ts's: the heartbeat
 * intervals since the node last answered.
 */
import type { ReplicationStatus } from '../../common/replication.js';
import { failureDelayMs, missedHeartbeats } from '../core/health.js';
import type { NodeObservation } from '../core/observation.js';
import { errorText, type ControllerContext } from './context.js';

interface Answer {
  readonly status: ReplicationStatus;
  readonly mapEpoch: number | null;
}

export class Heartbeat {
  private readonly lastAnswerAt = new Map<string, number>();
  private readonly firstSeenAt = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly latest = new Map<string, { answer: Answer | null; error: string | null }>();
  /** Exits the platform reported since the node last answered. */
  private readonly exitedSinceAnswer = new Set<string>();

  constructor(private readonly ctx: ControllerContext) {
    ctx.platform.onNodeExit((name) => {
      this.exitedSinceAnswer.add(name);
      this.latest.set(name, { answer: null, error: 'the process exited' });
    });
  }

  /** The platform reported the node's process exited and it has not answered since. */
  exited(name: string): boolean {
    return this.exitedSinceAnswer.has(name);
  }

  /** One round over every member of every shard; updates ctx.observations. */
  async round(): Promise<void> {
    const { spec } = this.ctx.state;
    const names = this.ctx.state.shards.flatMap((s) => s.members);
    const now = this.ctx.now();
    const pending: Promise<void>[] = [];
    for (const name of names) {
      if (!this.firstSeenAt.has(name)) this.firstSeenAt.set(name, now);
      const existing = this.inFlight.get(name);
      if (existing !== undefined) {
        pending.push(existing);
        continue;
      }
      const p = this.ask(name, spec.heartbeatMs * Math.max(2, spec.failureThreshold)).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, p);
      pending.push(p);
    }
    // A round that waits on a silent node ends at the moment the node has been silent for failureThreshold
    // intervals, if that comes first: it is then failed failureThreshold × heartbeatMs after its last answer,
    // not up to an interval later.
    const deadlines = names
      .map((n) => (this.lastAnswerAt.get(n) ?? this.firstSeenAt.get(n) ?? now) + failureDelayMs(spec) - now)
      .filter((d) => d > 0);
    const wait = Math.min(spec.heartbeatMs, Math.min(...deadlines) + 2);
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, wait))]);
    this.publish(names, now);
  }

  private async ask(name: string, timeoutMs: number): Promise<void> {
    const api = this.ctx.api(name, timeoutMs);
    if (api === null) {
      this.latest.set(name, { answer: null, error: 'no address yet' });
      return;
    }
    try {
      const [status, map] = await Promise.all([api.replication(), api.clusterMap()]);
      if (status.name !== name) throw new Error(`the node at ${api.baseUrl} says it is ${status.name}`);
      this.lastAnswerAt.set(name, this.ctx.now());
      this.exitedSinceAnswer.delete(name);
      this.latest.set(name, { answer: { status, mapEpoch: map?.epoch ?? null }, error: null });
    } catch (err) {
      this.latest.set(name, { answer: null, error: errorText(err) });
    }
  }

  /** `roundStart`: when this round's requests went out; an answer since then is this round's. */
  private publish(names: readonly string[], roundStart: number): void {
    const now = this.ctx.now();
    const { heartbeatMs } = this.ctx.state.spec;
    const platform = new Map(this.ctx.platform.nodes().map((n) => [n.name, n]));
    const shardOf = new Map(this.ctx.state.shards.flatMap((s) => s.members.map((m) => [m, s.id] as const)));
    const obs = new Map<string, NodeObservation>();
    for (const name of names) {
      const since = this.lastAnswerAt.get(name) ?? this.firstSeenAt.get(name) ?? now;
      const l = this.latest.get(name);
      const p = platform.get(name);
      // An answer in this round counts as answered; a request still hanging from an earlier round does not.
      const answered = l?.answer != null && (this.lastAnswerAt.get(name) ?? -Infinity) >= roundStart && !this.exitedSinceAnswer.has(name);
      obs.set(name, {
        name,
        shard: shardOf.get(name) ?? '',
        endpoint: p?.endpoint ?? null,
        running: p?.running ?? false,
        status: answered ? l!.answer!.status : null,
        missed: missedHeartbeats(answered, now - since, heartbeatMs),
        mapEpoch: answered ? l!.answer!.mapEpoch : null,
        error: l?.error ?? null,
        restarts: p?.restarts ?? 0,
      });
    }
    this.ctx.observations = obs;
  }
}
