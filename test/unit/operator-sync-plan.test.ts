/**
 * The sync-set protocol (operator/core/sync-plan.ts): examples of every
 * branch of desiredSyncSet and nextSyncStep, and a model of a primary that
 * writes and acknowledges, its replicas, the recorded guarantee and the
 * controller that changes the declared set, under random delays, failures,
 * recoveries, membership changes, lost and half-done requests and controller
 * restarts. After every step of the model, every acknowledged write is on at
 * least record.acks members of record.replicas (in the store and in the
 * controller's copy) and the primary counts only recorded replicas; with
 * durability required no smaller set than min(minSync, members) is told or
 * settled on; once the faults stop, the record settles on the live members.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ReplicaStatus, ReplicationStatus } from '../../common/replication.js';
import type { DataDurability } from '../../operator/core/spec.js';
import { caughtUp, desiredSyncSet, nextSyncStep, type SyncInput, type SyncRecord, type SyncStep } from '../../operator/core/sync-plan.js';

function replica(name: string, over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return {
    name, host: '127.0.0.1', port: 7000, busPort: 17000, connected: true, state: 'online', ackedSeq: 100, lagOps: 0, lagMs: 0,
    fullSync: null, ...over,
  };
}

function primary(declared: readonly string[], replicas: readonly ReplicaStatus[], lastSeq = 100, minSync = 1): ReplicationStatus {
  return {
    name: 'p', role: 'primary', epoch: 3, lastSeq, history: [], minSyncReplicas: minSync,
    effectiveMinSyncReplicas: Math.min(minSync, declared.length), ackTimeoutMs: 2000, declaredReplicas: [...declared],
    replicas: [...replicas], primary: null, backlog: { firstSeq: 1, lastSeq }, pendingAcks: 0, loading: false, declaredSeq: 0,
  };
}

function rec(replicas: readonly string[], acks: number, target: SyncRecord['target'] = null): SyncRecord {
  return { replicas: [...replicas], acks, target };
}

/** The primary enforces the spec's minSyncReplicas unless `nodeMinSync` says otherwise (a node started before a change). */
function input(over: Partial<SyncInput> & Pick<SyncInput, 'primary'>, nodeMinSync?: number): SyncInput {
  const minSyncReplicas = over.minSyncReplicas ?? 1;
  return {
    record: rec(['a', 'b'], 1), replicas: ['a', 'b'], failed: new Set(), minSyncReplicas, durability: 'preferred', maxLagOps: 10,
    ...over,
    primary: { ...over.primary, minSyncReplicas: nodeMinSync ?? minSyncReplicas },
  };
}

describe('operator/core/sync-plan', () => {
  describe('caughtUp', () => {
    it('needs a connected, online replica within maxLagOps', () => {
      const p = primary([], [replica('a', { lagOps: 10 }), replica('b', { lagOps: 11 }), replica('c', { connected: false }), replica('d', { state: 'catchup' })]);
      expect(['a', 'b', 'c', 'd', 'e'].map((n) => caughtUp(p, n, 10))).to.deep.equal([true, false, false, false, false]);
    });
  });

  describe('desiredSyncSet', () => {
    it('keeps declared replicas that have not failed, even behind, and adds caught-up members, in member order', () => {
      const p = primary(['b', 'x'], [
        replica('a'), replica('b', { lagOps: 50, connected: false }), replica('c', { lagOps: 50 }), replica('d', { state: 'catchup' }),
        replica('e'), replica('x'),
      ]);
      // c behind, d not online, e failed, x declared but no longer a member.
      const set = desiredSyncSet({ ...input({ primary: p }), replicas: ['e', 'd', 'c', 'b', 'a'], failed: new Set(['e']) });
      expect(set).to.deep.equal(['b', 'a']);
    });

    it('drops a failed declared replica with durability preferred', () => {
      const p = primary(['a', 'b'], [replica('a')]);
      expect(desiredSyncSet({ ...input({ primary: p }), failed: new Set(['b']), minSyncReplicas: 2 })).to.deep.equal(['a']);
    });

    it('with durability required, fills up to min(minSync, replicas) with failed declared replicas first, then others by name', () => {
      const none = primary(['c', 'b'], []);
      const base = { ...input({ primary: none }), replicas: ['d', 'c', 'b', 'a'], durability: 'required' as const };
      const allFailed = new Set(['a', 'b', 'c', 'd']);
      expect(desiredSyncSet({ ...base, failed: allFailed, minSyncReplicas: 1 })).to.deep.equal(['c']);
      expect(desiredSyncSet({ ...base, failed: allFailed, minSyncReplicas: 3 })).to.deep.equal(['c', 'b', 'a']);
      expect(desiredSyncSet({ ...base, failed: allFailed, minSyncReplicas: 5 })).to.deep.equal(['d', 'c', 'b', 'a']);
      expect(desiredSyncSet({ ...base, failed: allFailed, minSyncReplicas: 0 })).to.deep.equal([]);
      const undeclared = primary([], []);
      expect(desiredSyncSet({ ...base, primary: undeclared, failed: allFailed, minSyncReplicas: 2 })).to.deep.equal(['b', 'a']);
    });

    it('with durability required, adds no failed replica once enough have not failed', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('c')]);
      const set = desiredSyncSet({ ...input({ primary: p }), replicas: ['a', 'b', 'c'], failed: new Set(['b']), minSyncReplicas: 2, durability: 'required' });
      expect(set).to.deep.equal(['a', 'c']);
    });
  });

  describe('nextSyncStep', () => {
    it('does nothing while the record, the declared set and the desired set agree and acks = min(minSync, |set|)', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('b')]);
      expect(nextSyncStep(input({ primary: p }))).to.deep.equal({ do: 'none' });
      expect(nextSyncStep(input({ primary: p, minSyncReplicas: 2, record: rec(['a', 'b'], 2) }))).to.deep.equal({ do: 'none' });
      expect(nextSyncStep(input({ primary: p, minSyncReplicas: 0, record: rec(['a', 'b'], 0) }))).to.deep.equal({ do: 'none' });
    });

    it('adds a caught-up replica: record the union and the target, tell, wait for the target, record the new set', () => {
      const told = (lastSeq: number, bAcked: number): ReplicationStatus =>
        primary(['a', 'b'], [replica('a', { ackedSeq: lastSeq }), replica('b', { ackedSeq: bAcked, lagOps: lastSeq - bAcked })], lastSeq, 2);
      const start = input({ minSyncReplicas: 2, record: rec(['a'], 1), primary: primary(['a'], [replica('a'), replica('b', { lagOps: 3 })]) });
      const s1 = nextSyncStep(start);
      // k stays 1: the primary still acknowledges with a alone until it is told.
      expect(s1).to.deep.include({ do: 'record', record: rec(['a', 'b'], 1, { replicas: ['a', 'b'], seq: null }) });
      const r1 = (s1 as Extract<SyncStep, { do: 'record' }>).record;
      expect(nextSyncStep({ ...start, record: r1 })).to.deep.equal({ do: 'tell', replicas: ['a', 'b'] });
      // The controller records the primary's lastSeq (120) that the tell answered with.
      const r2 = rec(['a', 'b'], 1, { replicas: ['a', 'b'], seq: 120 });
      const waiting = nextSyncStep({ ...start, record: r2, primary: told(125, 119) });
      expect(waiting).to.deep.include({ do: 'wait' });
      expect((waiting as Extract<SyncStep, { do: 'wait' }>).why).to.contain('b catching up to sequence 120');
      expect(nextSyncStep({ ...start, record: r2, primary: told(125, 120) })).to.deep.include({ do: 'record', record: rec(['a', 'b'], 2) });
    });

    it('never records more acknowledgements than the primary itself waits for (a spec raised before the node restarted)', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('b')]);
      // The spec says 2, the running primary was started with 1: the guarantee stays 1.
      expect(nextSyncStep(input({ primary: p, minSyncReplicas: 2, record: rec(['a', 'b'], 1) }, 1))).to.deep.equal({ do: 'none' });
      const lowered = nextSyncStep(input({ primary: p, minSyncReplicas: 2, record: rec(['a', 'b'], 2) }, 1));
      expect(lowered).to.deep.include({ do: 'record', record: rec(['a', 'b'], 1, { replicas: ['a', 'b'], seq: null }) });
      // Once the primary runs with 2, k rises to 2 (after the usual catch-up).
      expect(nextSyncStep(input({ primary: p, minSyncReplicas: 2, record: rec(['a', 'b'], 1) }, 2))).to.deep.include({ do: 'record' });
    });

    it('drops a failed replica (preferred): k falls to min(k, k*) at once, the set shrinks only after the catch-up', () => {
      const base = input({ minSyncReplicas: 2, record: rec(['a', 'b'], 2), failed: new Set(['b']), primary: primary(['a', 'b'], [replica('a')]) });
      expect(nextSyncStep(base)).to.deep.include({ do: 'record', record: rec(['a', 'b'], 1, { replicas: ['a'], seq: null }) });
      const r1 = rec(['a', 'b'], 1, { replicas: ['a'], seq: null });
      expect(nextSyncStep({ ...base, record: r1 })).to.deep.equal({ do: 'tell', replicas: ['a'] });
      const r2 = rec(['a', 'b'], 1, { replicas: ['a'], seq: 100 });
      expect(nextSyncStep({ ...base, record: r2, primary: primary(['a'], [replica('a', { ackedSeq: 99 })]) })).to.deep.include({ do: 'wait' });
      expect(nextSyncStep({ ...base, record: r2, primary: primary(['a'], [replica('a', { ackedSeq: 100 })]) }))
        .to.deep.include({ do: 'record', record: rec(['a'], 1) });
    });

    it('keeps a failed replica counted with durability required while it is needed for minSync', () => {
      const p = primary(['a', 'b'], [replica('a')]);
      expect(nextSyncStep(input({ minSyncReplicas: 2, durability: 'required', record: rec(['a', 'b'], 2), failed: new Set(['b']), primary: p })))
        .to.deep.equal({ do: 'none' });
    });

    it('starts over from the record when the desired set changes during a change, forgetting the old target\'s sequence', () => {
      // Dropping b (seq 100 known); then b recovers and c has caught up.
      const p = primary(['a'], [replica('a'), replica('b'), replica('c')]);
      const step = nextSyncStep(input({ replicas: ['a', 'b', 'c'], record: rec(['a', 'b'], 1, { replicas: ['a'], seq: 100 }), primary: p }));
      expect(step).to.deep.include({ do: 'record', record: rec(['a', 'b', 'c'], 1, { replicas: ['a', 'b', 'c'], seq: null }) });
    });

    it('tells the primary again when it declares something else than a target whose sequence is known', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('b')]);
      const step = nextSyncStep(input({ failed: new Set(['b']), record: rec(['a', 'b'], 1, { replicas: ['a'], seq: 100 }), primary: p }));
      expect(step).to.deep.equal({ do: 'tell', replicas: ['a'] });
    });

    it('waits for a target member the primary does not list at all', () => {
      const p = primary(['a', 'b'], [replica('a')]);
      const step = nextSyncStep(input({ record: rec(['a'], 1, { replicas: ['a', 'b'], seq: 50 }), primary: p, durability: 'required', minSyncReplicas: 2, failed: new Set(['b']) }));
      expect(step).to.deep.equal({ do: 'wait', why: 'b catching up to sequence 50' });
    });

    it('changes k alone when the sets agree but acks is not min(minSync, |set|)', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('b')]);
      expect(nextSyncStep(input({ minSyncReplicas: 2, record: rec(['a', 'b'], 1), primary: p })))
        .to.deep.include({ do: 'record', record: rec(['a', 'b'], 1, { replicas: ['a', 'b'], seq: null }) });
    });

    it('drops a replica that left the shard from the record', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('b'), replica('z')]);
      const start = input({ record: rec(['a', 'b', 'z'], 1), primary: p });
      expect(nextSyncStep(start)).to.deep.include({ do: 'record', record: rec(['a', 'b', 'z'], 1, { replicas: ['a', 'b'], seq: null }) });
      expect(nextSyncStep({ ...start, record: rec(['a', 'b', 'z'], 1, { replicas: ['a', 'b'], seq: 100 }) }))
        .to.deep.include({ do: 'record', record: rec(['a', 'b'], 1) });
    });

    it('stops the primary counting a replica the record lacks', () => {
      const p = primary(['a', 'z'], [replica('a'), replica('z')]);
      expect(nextSyncStep(input({ replicas: ['a'], record: rec(['a'], 1), primary: p })))
        .to.deep.include({ do: 'record', record: rec(['a'], 1, { replicas: ['a'], seq: null }) });
    });
  });

  describe('model: writes, acknowledgements, the record and the declared set', () => {
    it('keeps every acknowledged write on record.acks of record.replicas, keeps minSync with required, and settles', () => {
      fc.assert(fc.property(scenario, (sc) => {
        runScenario(sc);
      }), { numRuns: 1000 });
    });
  });
});

// ---- the model ----------------------------------------------------------------------

const NAMES = ['a', 'b', 'c', 'd'] as const;
const MAX_LAG = 5;

type Event =
  | { readonly kind: 'crash' | 'recover' | 'disconnect' | 'leave' | 'join'; readonly r: number }
  /** The controller restarts: it keeps the persisted record only. */
  | { readonly kind: 'restart' }
  /** The role reconciler re-tells the primary its replicas from the controller's record (role-plan.ts). */
  | { readonly kind: 'rolePush' }
  | { readonly kind: 'none' };

/**
 * How the step's request goes. lost: nothing happens, ever. noReply: the
 * primary took a tell but the controller never heard (nothing recorded).
 * unsure: the store committed but the controller did not hear, so its copy
 * stays old until it restarts. Not modelled: a tell delivered after the
 * controller gave up on it; it could change the declared set after
 * target.seq was recorded, and a later re-tell that gets no reply (or a role
 * push) would bring it back unnoticed, leaving a seq too old to cover the
 * writes acknowledged meanwhile.
 */
type Outcome = 'ok' | 'lost' | 'noReply' | 'unsure';

interface Tick {
  readonly event: Event;
  readonly writes: number;
  /** Per replica: how far it applies this tick. */
  readonly speed: readonly number[];
  readonly outcome: Outcome;
  /** The controller decides on the primary's status from the tick before. */
  readonly stale: boolean;
}

interface Scenario {
  readonly minSync: number;
  readonly durability: DataDurability;
  readonly members: readonly boolean[];
  /** Which members the starting record (and the primary) counts. */
  readonly recorded: readonly boolean[];
  readonly threshold: number;
  readonly ticks: readonly Tick[];
  /** Replicas still down when the faults stop. */
  readonly deadAtEnd: readonly boolean[];
}

const replicaIndex = fc.integer({ min: 0, max: NAMES.length - 1 });
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' } as const) },
  { weight: 2, arbitrary: replicaIndex.map((r) => ({ kind: 'crash', r } as const)) },
  { weight: 2, arbitrary: replicaIndex.map((r) => ({ kind: 'recover', r } as const)) },
  { weight: 1, arbitrary: replicaIndex.map((r) => ({ kind: 'disconnect', r } as const)) },
  { weight: 1, arbitrary: replicaIndex.map((r) => ({ kind: 'leave', r } as const)) },
  { weight: 1, arbitrary: replicaIndex.map((r) => ({ kind: 'join', r } as const)) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rolePush' } as const) },
);

const tickArb: fc.Arbitrary<Tick> = fc.record({
  event: eventArb,
  writes: fc.integer({ min: 0, max: 8 }),
  speed: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: NAMES.length, maxLength: NAMES.length }),
  outcome: fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'ok', 'lost', 'noReply', 'unsure'),
  stale: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
});

const flags = fc.array(fc.boolean(), { minLength: NAMES.length, maxLength: NAMES.length });
const scenario: fc.Arbitrary<Scenario> = fc.record({
  minSync: fc.integer({ min: 0, max: 3 }),
  durability: fc.constantFrom<DataDurability>('required', 'preferred'),
  members: flags,
  recorded: flags,
  threshold: fc.integer({ min: 0, max: 3 }),
  ticks: fc.array(tickArb, { maxLength: 60, size: 'max' }),
  deadAtEnd: flags,
});

interface ReplicaModel {
  up: boolean;
  connected: boolean;
  /** Highest sequence applied, durably (a crash keeps it); the primary knows it. */
  applied: number;
}

class Model {
  lastSeq = 0;
  /** Highest sequence the primary has acknowledged (replicas apply in order, so checking it checks all). */
  acked = 0;
  /** The primary's declared replicas. */
  declared: string[];
  /** What the state store holds, and the controller's copy of it. */
  persisted: SyncRecord;
  record: SyncRecord;
  members: Set<string>;
  readonly reps = new Map<string, ReplicaModel>();
  /** The controller's failure detector: observations in a row a replica was not streaming (memory only). */
  badFor = new Map<string, number>();
  /** The primary's status at the controller's last observation, and the one its last step was decided on. */
  seen: ReplicationStatus;
  used: ReplicationStatus;

  constructor(private readonly sc: Scenario) {
    this.members = new Set(NAMES.filter((_, i) => sc.members[i]));
    // No writes yet: any set of members with acks = min(minSync, |set|) is true, and the primary counts it.
    const start = NAMES.filter((n, i) => sc.recorded[i] && this.members.has(n));
    this.persisted = rec(start, Math.min(sc.minSync, start.length));
    this.record = this.persisted;
    this.declared = [...start];
    for (const n of NAMES) this.reps.set(n, { up: true, connected: true, applied: 0 });
    this.seen = this.status();
    this.used = this.seen;
  }

  get replicas(): string[] {
    return NAMES.filter((n) => this.members.has(n));
  }

  event(e: Event): void {
    switch (e.kind) {
      case 'none': return;
      case 'restart':
        this.record = this.persisted;
        this.badFor = new Map();
        return;
      case 'rolePush':
        this.declared = [...(this.record.target?.replicas ?? this.record.replicas)];
        this.acknowledge();
        return;
    }
    const name = NAMES[e.r]!;
    const r = this.reps.get(name)!;
    switch (e.kind) {
      case 'crash': r.up = false; r.connected = false; break;
      case 'recover': if (!r.up) { r.up = true; r.connected = true; } break;
      case 'disconnect': r.connected = false; break;
      case 'leave': this.members.delete(name); break;
      case 'join': {
        // A node no record and no primary counts may have been deleted: it comes back empty.
        const counted = [...this.persisted.replicas, ...this.record.replicas, ...(this.persisted.target?.replicas ?? []),
          ...(this.record.target?.replicas ?? []), ...this.declared];
        if (!this.members.has(name) && !counted.includes(name)) r.applied = 0;
        this.members.add(name);
        break;
      }
    }
  }

  write(n: number): void {
    this.lastSeq += n;
    this.acknowledge();
  }

  /** Replicas apply in order; one that is up but disconnected reconnects instead. Non-members stream too until deleted. */
  replicate(speed: readonly number[]): void {
    NAMES.forEach((n, i) => {
      const r = this.reps.get(n)!;
      if (!r.up) return;
      if (!r.connected) r.connected = true;
      else r.applied = Math.min(this.lastSeq, r.applied + speed[i]!);
    });
    this.acknowledge();
  }

  /** The primary acknowledges every write min(minSync, |declared|) declared replicas have applied (ack-gate.ts). */
  acknowledge(): void {
    const k = Math.min(this.sc.minSync, this.declared.length);
    const applied = this.declared.map((d) => this.reps.get(d)!.applied).sort((x, y) => y - x);
    const quorum = k === 0 ? this.lastSeq : applied[k - 1]!;
    this.acked = Math.max(this.acked, Math.min(quorum, this.lastSeq));
    this.check();
  }

  /** THE GUARANTEE, for the persisted record (a restarted controller's) and the controller's copy (a failover now). */
  check(): void {
    for (const [which, r] of [['persisted', this.persisted], ['controller\'s', this.record]] as const) {
      // Messages are built only on failure: this runs after every step of every run.
      if (new Set(r.replicas).size !== r.replicas.length) expect.fail(`${which} record ${r.replicas} has duplicates`);
      if (r.acks > r.replicas.length) expect.fail(`${which} record claims ${r.acks} of ${r.replicas}`);
      if (!this.declared.every((d) => r.replicas.includes(d))) expect.fail(`declared ${this.declared} ⊄ ${which} record ${r.replicas}`);
      if (this.acked === 0) continue;
      const holders = r.replicas.filter((n) => this.reps.get(n)!.applied >= this.acked);
      if (holders.length < r.acks) {
        expect.fail(`write ${this.acked} acknowledged but on ${holders.join(',') || 'none'} only; ${which} record claims ${r.acks} of ${r.replicas}`);
      }
    }
  }

  /** The controller's heartbeat: who is failing, and the primary's status (sync-set.ts). */
  observe(): Set<string> {
    const failed = new Set<string>();
    for (const n of NAMES) {
      const r = this.reps.get(n)!;
      const bad = r.up && r.connected ? 0 : (this.badFor.get(n) ?? 0) + 1;
      this.badFor.set(n, bad);
      if (bad > this.sc.threshold) failed.add(n);
    }
    return failed;
  }

  status(): ReplicationStatus {
    const listed = NAMES.filter((n) => this.reps.get(n)!.up).map((n) => {
      const r = this.reps.get(n)!;
      return replica(n, { connected: r.connected, ackedSeq: r.applied, lagOps: this.lastSeq - r.applied });
    });
    return primary(this.declared, listed, this.lastSeq, this.sc.minSync);
  }

  decide(stale: boolean): SyncStep {
    const failed = this.observe();
    const now = this.status();
    this.used = stale ? this.seen : now;
    const step = nextSyncStep({
      record: this.record, replicas: this.replicas, primary: this.used, failed,
      minSyncReplicas: this.sc.minSync, durability: this.sc.durability, maxLagOps: MAX_LAG,
    });
    this.seen = now;
    return step;
  }

  /** Carries out one step as sync-set.ts does. */
  take(step: SyncStep, outcome: Outcome): void {
    const need = this.sc.durability === 'required' ? Math.min(this.sc.minSync, this.replicas.length) : 0;
    switch (step.do) {
      case 'none': {
        // Settled as far as the controller can see (its view of the primary may be a heartbeat old).
        const declared = this.used.declaredReplicas;
        expect(declared.length, `required: declared ${declared} keeps ${need}`).to.be.at.least(need);
        expect(this.record.acks).to.equal(Math.min(this.sc.minSync, declared.length));
        break;
      }
      case 'wait':
        break;
      case 'record':
        if (outcome === 'ok' || outcome === 'unsure') this.persisted = step.record;
        if (outcome === 'ok') this.record = step.record;
        break;
      case 'tell': {
        expect(step.replicas.length, `required: tell ${step.replicas} keeps ${need}`).to.be.at.least(need);
        if (outcome === 'lost') break;
        this.declared = [...step.replicas];
        this.acknowledge();
        if (outcome === 'noReply' || this.record.target === null) break;
        const told = { ...this.record, target: { ...this.record.target, seq: this.lastSeq } };
        this.persisted = told;
        if (outcome === 'ok') this.record = told;
        break;
      }
    }
    this.check();
  }
}

function runScenario(sc: Scenario): void {
  const m = new Model(sc);
  for (const t of sc.ticks) {
    m.event(t.event);
    m.check();
    m.write(t.writes);
    m.replicate(t.speed);
    m.take(m.decide(t.stale), t.outcome);
  }

  // The faults stop: the dead stay dead, the others come back and keep up with every write.
  const dead = new Set<string>(NAMES.filter((_, i) => sc.deadAtEnd[i]));
  for (const n of NAMES) {
    const r = m.reps.get(n)!;
    r.up = !dead.has(n);
    if (!r.up) r.connected = false;
  }
  const live = m.replicas.filter((n) => !dead.has(n));
  const need = sc.durability === 'required' ? Math.min(sc.minSync, m.replicas.length) : 0;
  // With required and too few live replicas, some dead ones stay counted.
  const settled = (): boolean => {
    if (!sameSet(m.record.replicas, m.declared) || m.record.target !== null) return false;
    if (!live.every((n) => m.declared.includes(n))) return false;
    return live.length >= need ? m.declared.length === live.length : m.declared.length === need;
  };
  // Enough rounds for the failure threshold, reconnection, and a record, tell, record for each change.
  let step: SyncStep = { do: 'none' };
  for (let i = 0; i < sc.threshold + 40; i++) {
    m.write(1);
    m.replicate(NAMES.map(() => 1000));
    step = m.decide(false);
    if (step.do === 'none' && settled()) break;
    m.take(step, 'ok');
  }
  if (step.do === 'none') {
    expect(settled(), `settled on ${live} (need ${need}): record ${JSON.stringify(m.record)}, declared ${m.declared}`).to.equal(true);
    expect(m.record.acks).to.equal(Math.min(sc.minSync, m.declared.length));
    expect(m.declared.filter((d) => !live.includes(d)).every((d) => dead.has(d) && m.replicas.includes(d))).to.equal(true);
  } else {
    // Only a required set that cannot be filled with live replicas may wait, and only for dead ones.
    expect(step.do, `stuck at ${JSON.stringify(step)}, record ${JSON.stringify(m.record)}, declared ${m.declared}`).to.equal('wait');
    expect(live.length).to.be.below(need);
    const target = m.record.target!;
    // As the primary sees them: a dead replica is not listed, whatever it holds.
    const listed = m.status().replicas;
    const behind = target.replicas.filter((n) => (listed.find((x) => x.name === n)?.ackedSeq ?? -1) < target.seq!);
    expect(behind.length).to.be.greaterThan(0);
    expect(behind.every((n) => dead.has(n))).to.equal(true);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
