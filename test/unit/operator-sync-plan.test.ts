/**
 * The order of sync-set changes (operator/core/sync-plan.ts): examples of
 * each step, and a model of a primary, its replicas, the recorded set and
 * the declared set under random failures, recoveries, lost requests,
 * membership changes and controller restarts. After every step the declared
 * set stays inside the recorded one, a removal is recorded only once the
 * remaining declared replicas have everything the primary wrote before it
 * stopped counting the removed ones, and once the faults stop, failed
 * replicas leave and caught-up ones join.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ReplicaStatus, ReplicationStatus } from '../../common/replication.js';
import { caughtUp, nextSyncStep, type SyncInput, type SyncStep } from '../../operator/core/sync-plan.js';

function replica(name: string, over: Partial<ReplicaStatus> = {}): ReplicaStatus {
  return {
    name, host: '127.0.0.1', port: 7000, busPort: 17000, connected: true, state: 'online', ackedSeq: 100, lagOps: 0, lagMs: 0,
    fullSync: null, ...over,
  };
}

function primary(declared: readonly string[], replicas: readonly ReplicaStatus[], lastSeq = 100): ReplicationStatus {
  return {
    name: 'p', role: 'primary', epoch: 3, lastSeq, history: [], minSyncReplicas: 1, effectiveMinSyncReplicas: Math.min(1, declared.length),
    ackTimeoutMs: 2000, declaredReplicas: [...declared], replicas: [...replicas], primary: null,
    backlog: { firstSeq: 1, lastSeq }, pendingAcks: 0, loading: false,
  };
}

function input(over: Partial<SyncInput> & Pick<SyncInput, 'primary'>): SyncInput {
  return { recorded: ['a', 'b'], replicas: ['a', 'b'], failed: new Set(), maxLagOps: 10, removalSeq: null, ...over };
}

describe('operator/core/sync-plan', () => {
  describe('caughtUp', () => {
    it('needs a connected, online replica within maxLagOps', () => {
      const p = primary([], [replica('a', { lagOps: 10 }), replica('b', { lagOps: 11 }), replica('c', { connected: false }), replica('d', { state: 'catchup' })]);
      expect(['a', 'b', 'c', 'd', 'e'].map((n) => caughtUp(p, n, 10))).to.deep.equal([true, false, false, false, false]);
    });
  });

  describe('nextSyncStep', () => {
    it('does nothing while the recorded set is the declared set of every caught-up replica', () => {
      expect(nextSyncStep(input({ primary: primary(['a', 'b'], [replica('a'), replica('b')]) }))).to.deep.equal({ do: 'none' });
    });

    it('adds a caught-up replica by recording it first, then telling the primary', () => {
      const p = primary(['a'], [replica('a'), replica('b')]);
      expect(nextSyncStep(input({ recorded: ['a'], primary: p }))).to.deep.equal({ do: 'record', syncReplicas: ['a', 'b'] });
      expect(nextSyncStep(input({ recorded: ['a', 'b'], primary: p }))).to.deep.equal({ do: 'tell', replicas: ['a', 'b'], removal: false });
    });

    it('does not add a replica that is behind, disconnected, failed or not a member', () => {
      const p = primary(['a'], [replica('a'), replica('b', { lagOps: 50 }), replica('c', { connected: false }), replica('d'), replica('x')]);
      const step = nextSyncStep(input({ recorded: ['a'], replicas: ['a', 'b', 'c', 'd'], failed: new Set(['d']), primary: p }));
      expect(step).to.deep.equal({ do: 'none' });
    });

    it('removes a failed replica by telling the primary first, then waiting for the others to catch up, then recording', () => {
      const failed = new Set(['b']);
      const told = primary(['a', 'b'], [replica('a'), replica('b', { connected: false })]);
      expect(nextSyncStep(input({ failed, primary: told }))).to.deep.equal({ do: 'tell', replicas: ['a'], removal: true });
      const behind = primary(['a'], [replica('a', { ackedSeq: 90 })], 120);
      expect(nextSyncStep(input({ failed, primary: behind, removalSeq: 100 }))).to.deep.include({ do: 'wait' });
      const there = primary(['a'], [replica('a', { ackedSeq: 100 })], 120);
      expect(nextSyncStep(input({ failed, primary: there, removalSeq: 100 }))).to.deep.equal({ do: 'record', syncReplicas: ['a'] });
    });

    it('re-learns the primary\'s position when a removal is in flight and it is not known (a restarted controller)', () => {
      const p = primary(['a'], [replica('a')]);
      expect(nextSyncStep(input({ failed: new Set(['b']), primary: p }))).to.deep.equal({ do: 'tell', replicas: ['a'], removal: true });
    });

    it('removes a replica that is no longer a member', () => {
      const p = primary(['a', 'b'], [replica('a'), replica('b')]);
      expect(nextSyncStep(input({ replicas: ['a'], primary: p }))).to.deep.equal({ do: 'tell', replicas: ['a'], removal: true });
    });

    it('stops the primary counting a replica the record lacks before anything else', () => {
      const p = primary(['a', 'z'], [replica('a'), replica('z')]);
      expect(nextSyncStep(input({ recorded: ['a'], primary: p }))).to.deep.equal({ do: 'tell', replicas: ['a'], removal: true });
    });

    it('takes a replica whose removal is in flight back when it has recovered', () => {
      const p = primary(['a'], [replica('a', { ackedSeq: 10 }), replica('b')]);
      expect(nextSyncStep(input({ primary: p, removalSeq: 100 }))).to.deep.equal({ do: 'tell', replicas: ['a', 'b'], removal: false });
    });

    it('drops a remaining replica that fails while a removal waits for it, instead of waiting for ever', () => {
      // b was dropped; a, still counted, fails before it has caught up with the removal.
      const p = primary(['a', 'c'], [replica('a', { connected: false, ackedSeq: 50 }), replica('c')], 120);
      const step = nextSyncStep(input({ recorded: ['a', 'b', 'c'], replicas: ['a', 'b', 'c'], failed: new Set(['a', 'b']), primary: p, removalSeq: 100 }));
      expect(step).to.deep.equal({ do: 'tell', replicas: ['c'], removal: true });
    });
  });

  describe('model: a primary, its replicas, the recorded and the declared set', () => {
    it('keeps declared ⊆ recorded, records removals only after the catch-up, drops failed and adds caught-up replicas', () => {
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
  | { readonly kind: 'crash'; readonly r: number }
  | { readonly kind: 'recover'; readonly r: number }
  | { readonly kind: 'disconnect'; readonly r: number }
  | { readonly kind: 'leave'; readonly r: number }
  | { readonly kind: 'join'; readonly r: number }
  | { readonly kind: 'restart' }
  | { readonly kind: 'none' };

interface Tick {
  readonly event: Event;
  readonly writes: number;
  /** Per replica: how far it applies this tick. */
  readonly speed: readonly number[];
  /** The step's request fails (the primary or the state store did not answer). */
  readonly lost: boolean;
}

interface Scenario {
  readonly members: readonly boolean[];
  readonly recorded: readonly boolean[];
  readonly threshold: number;
  readonly ticks: readonly Tick[];
  /** Replicas still down when the faults stop. */
  readonly deadAtEnd: readonly boolean[];
}

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' } as const) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: NAMES.length - 1 }).map((r) => ({ kind: 'crash', r } as const)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: NAMES.length - 1 }).map((r) => ({ kind: 'recover', r } as const)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: NAMES.length - 1 }).map((r) => ({ kind: 'disconnect', r } as const)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: NAMES.length - 1 }).map((r) => ({ kind: 'leave', r } as const)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: NAMES.length - 1 }).map((r) => ({ kind: 'join', r } as const)) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' } as const) },
);

const tickArb: fc.Arbitrary<Tick> = fc.record({
  event: eventArb,
  writes: fc.integer({ min: 0, max: 8 }),
  speed: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: NAMES.length, maxLength: NAMES.length }),
  lost: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
});

const scenario: fc.Arbitrary<Scenario> = fc.record({
  members: fc.array(fc.boolean(), { minLength: NAMES.length, maxLength: NAMES.length }),
  recorded: fc.array(fc.boolean(), { minLength: NAMES.length, maxLength: NAMES.length }),
  threshold: fc.integer({ min: 0, max: 3 }),
  ticks: fc.array(tickArb, { maxLength: 60 }),
  deadAtEnd: fc.array(fc.boolean(), { minLength: NAMES.length, maxLength: NAMES.length }),
});

interface ReplicaModel {
  up: boolean;
  connected: boolean;
  /** Highest sequence applied (and acknowledged while connected). */
  applied: number;
  /** Ticks in a row it has been down or disconnected. */
  badFor: number;
}

class Model {
  lastSeq = 0;
  recorded: string[];
  declared: string[];
  removalSeq: number | null = null;
  members: Set<string>;
  readonly reps = new Map<string, ReplicaModel>();

  constructor(sc: Scenario) {
    this.members = new Set(NAMES.filter((_, i) => sc.members[i]));
    // A consistent start: what the controller recorded, and the primary counting exactly that.
    this.recorded = NAMES.filter((n, i) => sc.recorded[i] && this.members.has(n));
    this.declared = [...this.recorded];
    for (const n of NAMES) this.reps.set(n, { up: true, connected: true, applied: 0, badFor: 0 });
  }

  apply(e: Event): void {
    if (e.kind === 'none') return;
    if (e.kind === 'restart') {
      // The controller keeps removalSeq in memory only.
      this.removalSeq = null;
      return;
    }
    const name = NAMES[e.r]!;
    const r = this.reps.get(name)!;
    switch (e.kind) {
      case 'crash': r.up = false; r.connected = false; break;
      case 'recover': if (!r.up) { r.up = true; r.connected = true; } break;
      case 'disconnect': r.connected = false; break;
      case 'leave': this.members.delete(name); break;
      case 'join': this.members.add(name); break;
    }
  }

  /** Writes and replication for one tick. */
  advance(writes: number, speed: readonly number[]): void {
    this.lastSeq += writes;
    NAMES.forEach((n, i) => {
      const r = this.reps.get(n)!;
      // A disconnected replica that is up reconnects the next tick.
      if (r.up && !r.connected) {
        r.connected = true;
      } else if (r.up) {
        r.applied = Math.min(this.lastSeq, r.applied + speed[i]!);
      }
      r.badFor = r.up && r.connected ? 0 : r.badFor + 1;
    });
  }

  failed(threshold: number): Set<string> {
    return new Set(NAMES.filter((n) => this.reps.get(n)!.badFor > threshold));
  }

  status(): ReplicationStatus {
    const replicas = NAMES.filter((n) => this.reps.get(n)!.up).map((n) => {
      const r = this.reps.get(n)!;
      return replica(n, { connected: r.connected, ackedSeq: r.applied, lagOps: this.lastSeq - r.applied });
    });
    return primary(this.declared, replicas, this.lastSeq);
  }

  input(threshold: number): SyncInput {
    return {
      recorded: [...this.recorded], replicas: NAMES.filter((n) => this.members.has(n)), primary: this.status(),
      failed: this.failed(threshold), maxLagOps: MAX_LAG, removalSeq: this.removalSeq,
    };
  }

  /** Carries out one step as the controller does (sync-set.ts), checking the invariants. */
  take(step: SyncStep, lost: boolean): void {
    if (step.do === 'record') {
      if (lost) return;
      const before = new Set(this.recorded);
      const removed = this.recorded.filter((n) => !step.syncReplicas.includes(n));
      expect(new Set(step.syncReplicas).size, 'no duplicates').to.equal(step.syncReplicas.length);
      expect(this.declared.every((d) => step.syncReplicas.includes(d)), `record ${step.syncReplicas} keeps declared ${this.declared}`).to.equal(true);
      if (removed.length > 0) {
        // Only a catch-up the controller knows of allows it, and every replica still counted has it.
        expect(this.removalSeq, `removal of ${removed} recorded without a known position`).to.not.equal(null);
        for (const d of this.declared) {
          expect(this.reps.get(d)!.applied, `${d} has everything up to ${this.removalSeq} before ${removed} leave the record`).to.be.at.least(this.removalSeq!);
        }
        // Additions are recorded alone, never mixed with a removal.
        expect(step.syncReplicas.every((n) => before.has(n))).to.equal(true);
      }
      this.recorded = [...step.syncReplicas];
      this.removalSeq = null;
    } else if (step.do === 'tell') {
      expect(step.replicas.every((n) => this.recorded.includes(n)), `tell ${step.replicas} within recorded ${this.recorded}`).to.equal(true);
      expect(new Set(step.replicas).size, 'no duplicates').to.equal(step.replicas.length);
      if (lost) return;
      this.declared = [...step.replicas];
      if (step.removal) this.removalSeq = this.lastSeq;
    }
    expect(this.declared.every((d) => this.recorded.includes(d)), `declared ${this.declared} ⊆ recorded ${this.recorded}`).to.equal(true);
  }
}

function runScenario(sc: Scenario): void {
  const m = new Model(sc);
  for (const t of sc.ticks) {
    m.apply(t.event);
    m.advance(t.writes, t.speed);
    m.take(nextSyncStep(m.input(sc.threshold)), t.lost);
  }
  // The faults stop: the dead stay dead, the others come back and keep up with every write.
  NAMES.forEach((n, i) => {
    const r = m.reps.get(n)!;
    if (sc.deadAtEnd[i]) {
      r.up = false;
      r.connected = false;
    } else {
      r.up = true;
    }
  });
  const settled = (): boolean => {
    const want = NAMES.filter((n, i) => m.members.has(n) && !sc.deadAtEnd[i]);
    return sameSet(m.recorded, want) && sameSet(m.declared, want);
  };
  // Enough ticks for the failure threshold, reconnection, catch-up and the record/tell pairs of each change.
  let step: SyncStep = { do: 'none' };
  for (let i = 0; i < sc.threshold + 40; i++) {
    m.advance(1, NAMES.map(() => 1000));
    step = nextSyncStep(m.input(sc.threshold));
    if (step.do === 'none' && settled()) break;
    m.take(step, false);
  }
  expect(step).to.deep.equal({ do: 'none' });
  expect(settled(), `settled on the live members (recorded ${m.recorded}, declared ${m.declared})`).to.equal(true);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
