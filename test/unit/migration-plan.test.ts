/**
 * The pure core of slot migration: the next step from persisted progress
 * and observations, stage transitions, what a restart must do, which logged
 * writes are forwarded, and the bounds on the backlog and the in-flight
 * window. A model check: the snapshot at any sequence plus the forwarded
 * writes after it rebuilds exactly the source's final data of the slots.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ClusterMap } from '../../common/cluster-map.js';
import { keySlot } from '../../common/slot.js';
import type { Mutation } from '../../node/engine/types.js';
import type { LoggedMutation } from '../../node/replication/batch-codec.js';
import {
  AckWindow, Backlog, IllegalTransitionError, MigrationError, SlotSet, advance, caughtUp, checkSource, filterEntries, forwardBytes,
  newRecord, nextStep, overlaps, ownsAll, startupPlan, type Forward, type Observations,
} from '../../node/migration/plan.js';
import type { MigrationRecord, MigrationStage } from '../../common/migration.js';

const b = (s: string): Buffer => Buffer.from(s);

const MAP: ClusterMap = {
  epoch: 7,
  nodes: [
    { name: 'a0', host: '10.0.0.1', port: 7000, busPort: 17000 },
    { name: 'a1', host: '10.0.0.2', port: 7001, busPort: 17001 },
    { name: 'b0', host: '10.0.0.3', port: 7002, busPort: 17002 },
  ],
  shards: [
    { id: 'shard-0', slots: [[0, 8191]], primary: 'a0', replicas: ['a1'] },
    { id: 'shard-1', slots: [[8192, 16383]], primary: 'b0', replicas: [] },
  ],
};

function rec(stage: MigrationStage, over: Partial<MigrationRecord> = {}): MigrationRecord {
  return {
    ...newRecord({ id: 'm1', slots: [[0, 99]], source: 'a0', sourceShard: 'shard-0', target: 'b0', targetShard: 'shard-1', mapEpoch: 7 }, 1000),
    stage, ...over,
  };
}

const idle: Observations = { session: false, rowsSent: false, backlogEntries: 0, backlogBytes: 0, unackedBytes: 0, flipSent: false };
const live: Observations = { ...idle, session: true };
const caught: Observations = { ...live, rowsSent: true };

describe('migration: the next step', () => {
  it('prepare always (re)starts an attempt', () => {
    expect(nextStep(rec('prepare'), idle)).to.deep.equal({ do: 'prepare' });
    expect(nextStep(rec('prepare'), caught)).to.deep.equal({ do: 'prepare' });
  });

  it('copying without a live session starts a new attempt (a copy cannot continue over a new connection)', () => {
    expect(nextStep(rec('copying'), idle)).to.deep.equal({ do: 'prepare' });
    expect(nextStep(rec('copying'), { ...idle, rowsSent: true })).to.deep.equal({ do: 'prepare' });
  });

  it('copying waits until every row is sent and the backlog and window are small, then fences', () => {
    expect(nextStep(rec('copying'), live)).to.deep.equal({ do: 'wait' });
    expect(nextStep(rec('copying'), caught)).to.deep.equal({ do: 'fence' });
    expect(nextStep(rec('copying'), { ...caught, backlogEntries: 1_000_000 })).to.deep.equal({ do: 'wait' });
    expect(nextStep(rec('copying'), { ...caught, backlogBytes: 100 * 1024 * 1024 })).to.deep.equal({ do: 'wait' });
    expect(nextStep(rec('copying'), { ...caught, unackedBytes: 10 * 1024 * 1024 })).to.deep.equal({ do: 'wait' });
  });

  it('a fence whose flip this process did not send (restart, lost answer) must be resolved with the target', () => {
    expect(nextStep(rec('fence'), idle)).to.deep.equal({ do: 'resolve' });
    expect(nextStep(rec('fence'), { ...caught, flipSent: true })).to.deep.equal({ do: 'wait' });
    expect(nextStep(rec('fence'), { ...caught, flipSent: false })).to.deep.equal({ do: 'resolve' });
  });

  it('after the flip: install, then clean up, then finished', () => {
    expect(nextStep(rec('flipped'), idle)).to.deep.equal({ do: 'flip' });
    expect(nextStep(rec('cleanup'), idle)).to.deep.equal({ do: 'cleanup' });
    expect(nextStep(rec('done'), idle)).to.deep.equal({ do: 'finished' });
    expect(nextStep(rec('aborted'), caught)).to.deep.equal({ do: 'finished' });
  });

  it('caughtUp needs every row sent', () => {
    expect(caughtUp({ ...caught, rowsSent: false })).to.equal(false);
    expect(caughtUp(caught)).to.equal(true);
  });
});

describe('migration: stage transitions', () => {
  it('prepare raises the attempt and restarts the progress counts', () => {
    const r = advance(rec('copying', { attempt: 2, keysCopied: 50, bytesCopied: 500, entriesForwarded: 5 }), { type: 'prepare', mapEpoch: 9, target: 'b9' }, 2000);
    expect(r).to.include({ stage: 'prepare', attempt: 3, mapEpoch: 9, target: 'b9', keysCopied: 0, bytesCopied: 0, entriesForwarded: 0, updatedAt: 2000 });
  });

  it('walks prepare → copying → fence → flipped → cleanup → done', () => {
    let r = advance(rec('prepare'), { type: 'prepare', mapEpoch: 7, target: 'b0' }, 1);
    r = advance(r, { type: 'ready' }, 2);
    expect(r.stage).to.equal('copying');
    r = advance(r, { type: 'fence' }, 3);
    expect(r.stage).to.equal('fence');
    r = advance(r, { type: 'flipped', map: MAP }, 4);
    expect(r.stage).to.equal('flipped');
    expect(r.newMap).to.equal(MAP);
    r = advance(r, { type: 'installed' }, 5);
    expect(r.stage).to.equal('cleanup');
    r = advance(r, { type: 'cleaned' }, 6);
    expect(r).to.include({ stage: 'done', error: null });
  });

  it('a flip that did not happen sends the migration back to prepare and counts the failure', () => {
    const r = advance(rec('fence', { flipFailures: 1 }), { type: 'not_flipped', reason: 'replicas slow' }, 9);
    expect(r).to.include({ stage: 'prepare', flipFailures: 2, error: 'replicas slow' });
    expect(advance(advance(r, { type: 'prepare', mapEpoch: 7, target: 'b0' }, 10), { type: 'ready' }, 11).flipFailures).to.equal(2);
    expect(advance(rec('fence', { flipFailures: 2 }), { type: 'flipped', map: MAP }, 9).flipFailures).to.equal(0);
  });

  it('refuses events a stage does not allow: no abort after the flip, no flip without the fence', () => {
    const illegal: Array<[MigrationStage, Parameters<typeof advance>[1]]> = [
      ['flipped', { type: 'aborted', reason: 'x' }],
      ['cleanup', { type: 'aborted', reason: 'x' }],
      ['done', { type: 'aborted', reason: 'x' }],
      ['copying', { type: 'flipped', map: MAP }],
      ['prepare', { type: 'fence' }],
      ['fence', { type: 'prepare', mapEpoch: 1, target: 'b0' }],
      ['done', { type: 'prepare', mapEpoch: 1, target: 'b0' }],
      ['aborted', { type: 'ready' }],
    ];
    for (const [stage, ev] of illegal) expect(() => advance(rec(stage), ev, 1), `${stage} + ${ev.type}`).to.throw(IllegalTransitionError);
    for (const stage of ['prepare', 'copying', 'fence'] as const) expect(advance(rec(stage), { type: 'aborted', reason: 'op' }, 1).stage).to.equal('aborted');
  });

  it('property: from any stage, any event sequence either throws or leaves a known stage; done and aborted accept nothing', () => {
    const events = fc.constantFrom<Parameters<typeof advance>[1]>(
      { type: 'prepare', mapEpoch: 7, target: 'b0' }, { type: 'ready' }, { type: 'fence' }, { type: 'flipped', map: MAP },
      { type: 'not_flipped', reason: 'r' }, { type: 'installed' }, { type: 'cleaned' }, { type: 'aborted', reason: 'a' },
    );
    fc.assert(fc.property(fc.array(events, { maxLength: 30 }), (evs) => {
      let r = rec('prepare');
      let flippedOnce = false;
      for (const ev of evs) {
        const before = r.stage;
        try {
          r = advance(r, ev, 1);
        } catch (err) {
          expect(err).to.be.instanceOf(IllegalTransitionError);
          continue;
        }
        expect(before === 'done' || before === 'aborted').to.equal(false);
        if (r.stage === 'flipped') flippedOnce = true;
        // Once flipped, the migration can only move forward to done.
        if (flippedOnce) expect(['flipped', 'cleanup', 'done']).to.include(r.stage);
      }
    }));
  });
});

describe('migration: what a restart does', () => {
  it('re-fences an unresolved flip, installs a recorded one, and finishes the cleanup by itself', () => {
    expect(startupPlan(rec('fence'))).to.deep.equal({ fence: true, install: false, autoRun: true });
    expect(startupPlan(rec('flipped'))).to.deep.equal({ fence: false, install: true, autoRun: true });
    expect(startupPlan(rec('cleanup'))).to.deep.equal({ fence: false, install: false, autoRun: true });
    for (const s of ['prepare', 'copying', 'done', 'aborted'] as const) expect(startupPlan(rec(s))).to.deep.equal({ fence: false, install: false, autoRun: false });
  });
});

describe('migration: forwarded writes', () => {
  const slots = new SlotSet([[keySlot('in'), keySlot('in')]]);
  const e = (seq: number, m: Mutation): LoggedMutation => ({ seq, m });

  it('keeps writes after the snapshot to the migrating slots, in order; clear becomes clear-slots', () => {
    const entries = [
      e(5, { op: 'set', key: b('in'), value: b('old'), expiresAt: null }),
      e(6, { op: 'set', key: b('out'), value: b('x'), expiresAt: null }),
      e(7, { op: 'set', key: b('in'), value: b('v'), expiresAt: 99 }),
      e(8, { op: 'expire', key: b('in'), expiresAt: 123 }),
      e(9, { op: 'del', key: b('out') }),
      e(10, { op: 'clear' }),
      e(11, { op: 'del', key: b('in') }),
    ];
    const out = filterEntries(entries, slots, 6);
    expect(out.map((f) => f.op)).to.deep.equal(['set', 'expire', 'clear-slots', 'del']);
    expect(out[0]).to.deep.include({ expiresAt: 99 });
    expect((out[0] as { value: Buffer }).value.toString()).to.equal('v');
  });

  it('copies keys and values (a queued write must not pin the whole logged batch)', () => {
    const batch = Buffer.from('in-value');
    const out = filterEntries([e(1, { op: 'set', key: batch.subarray(0, 2), value: batch.subarray(3), expiresAt: null })], slots, 0);
    const f = out[0] as { key: Buffer; value: Buffer };
    batch.fill(0x7a);
    expect(f.key.toString()).to.equal('in');
    expect(f.value.toString()).to.equal('value');
  });

  /** Applies a forward (or a logged write) to a model keyspace. */
  function applyModel(state: Map<string, string>, f: Forward | Mutation, inSlots: (k: string) => boolean): void {
    switch (f.op) {
      case 'set':
        state.set(f.key.toString(), f.value.toString());
        return;
      case 'del':
        state.delete(f.key.toString());
        return;
      case 'expire':
        return;
      case 'clear':
        state.clear();
        return;
      case 'clear-slots':
        for (const k of [...state.keys()]) if (inSlots(k)) state.delete(k);
        return;
    }
  }

  it('property: the snapshot at any sequence plus the forwarded writes after it equals the source\'s final data of the slots', () => {
    const keys = ['a', 'b', 'c', 'd', 'e', '{t}1', '{t}2', 'in', 'out'];
    const migrating = new SlotSet([...new Set(keys.slice(0, 5).map((k) => keySlot(k)))].map((s) => [s, s] as const));
    const inSlots = (k: string): boolean => migrating.hasKey(Buffer.from(k));
    const op = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...keys), value: fc.string({ maxLength: 4 }) }),
      fc.record({ op: fc.constant('del' as const), key: fc.constantFrom(...keys) }),
      fc.record({ op: fc.constant('clear' as const) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.nat(), (ops, cut) => {
      const log: LoggedMutation[] = ops.map((o, i) => ({
        seq: i + 1,
        m: o.op === 'clear' ? { op: 'clear' } : o.op === 'del' ? { op: 'del', key: b(o.key) } : { op: 'set', key: b(o.key), value: b(o.value), expiresAt: null },
      }));
      const snapSeq = log.length === 0 ? 0 : cut % (log.length + 1);
      const source = new Map<string, string>();
      const atSnapshot = new Map<string, string>();
      for (const { seq, m } of log) {
        applyModel(source, m, inSlots);
        if (seq <= snapSeq) applyModel(atSnapshot, m, inSlots);
      }
      const target = new Map([...atSnapshot].filter(([k]) => inSlots(k)));
      for (const f of filterEntries(log, migrating, snapSeq)) applyModel(target, f, inSlots);
      const want = new Map([...source].filter(([k]) => inSlots(k)));
      expect([...target].sort()).to.deep.equal([...want].sort());
    }));
  });
});

describe('migration: the backlog bound', () => {
  const f = (key: string, size: number): Forward => ({ op: 'set', key: b(key), value: Buffer.alloc(size), expiresAt: null });

  it('refuses a push past the bound and adds nothing of it', () => {
    const q = new Backlog(1000);
    q.push([f('a', 400)]);
    expect(() => q.push([f('b', 300), f('c', 300)])).to.throw(MigrationError, /over 1000 bytes/);
    expect(q.length).to.equal(1);
    expect(q.bytes).to.equal(forwardBytes(f('a', 400)));
  });

  it('takes the oldest first, about maxBytes (at least one), and keeps the byte count', () => {
    const q = new Backlog(1_000_000);
    q.push([f('a', 100), f('b', 100), f('c', 100)]);
    const first = q.take(150);
    expect(first.map((x) => (x as { key: Buffer }).key.toString())).to.deep.equal(['a', 'b']);
    expect(q.take(1).length).to.equal(1);
    expect(q.take(1000)).to.deep.equal([]);
    expect(q.bytes).to.equal(0);
    q.push([f('big', 5000)]);
    expect(q.take(10).length).to.equal(1);
  });

  it('property: pushes and takes preserve order and account every byte', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.nat({ max: 300 }).map((n) => ({ push: n })), fc.nat({ max: 1000 }).map((n) => ({ take: n }))), { maxLength: 200 }), (ops) => {
      const q = new Backlog(20_000);
      const model: number[] = [];
      let next = 0;
      for (const o of ops) {
        if ('push' in o) {
          const item = f(String(next), o.push);
          const fits = q.bytes + forwardBytes(item) <= 20_000;
          if (fits) {
            q.push([item]);
            model.push(next);
          } else {
            expect(() => q.push([item])).to.throw(MigrationError);
          }
          next++;
        } else {
          const got = q.take(o.take).map((x) => Number((x as { key: Buffer }).key.toString()));
          expect(got).to.deep.equal(model.splice(0, got.length));
          if (model.length > 0 || got.length > 0) expect(got.length).to.be.greaterThan(0);
        }
        const bytes = model.reduce((n, k) => n + forwardBytes(f(String(k), 0)), 0);
        expect(q.length).to.equal(model.length);
        expect(q.bytes).to.be.at.least(bytes);
      }
    }));
  });
});

describe('migration: the acknowledgement window', () => {
  it('stops sending past the limit and reopens as frames are acknowledged', () => {
    const w = new AckWindow(1000);
    expect(w.canSend()).to.equal(true);
    w.sent(600);
    w.sent(600);
    expect(w.canSend()).to.equal(false);
    expect(w.sentFrames).to.equal(2);
    w.ack(1);
    expect(w.unackedBytes).to.equal(600);
    expect(w.canSend()).to.equal(true);
    w.ack(2);
    expect(w.unackedBytes).to.equal(0);
    expect(w.acked).to.equal(2);
  });

  it('rejects an acknowledgement of frames never sent, or going backwards', () => {
    const w = new AckWindow(1000);
    w.sent(1);
    expect(() => w.ack(2)).to.throw(MigrationError);
    w.ack(1);
    expect(() => w.ack(0)).to.throw(MigrationError);
  });
});

describe('migration: preconditions', () => {
  it('checkSource: the primary owning every slot, and a known target shard', () => {
    expect(checkSource(MAP, 'a0', [[0, 100]], 'shard-1')).to.deep.equal({ sourceShard: 'shard-0', target: { name: 'b0', host: '10.0.0.3', busPort: 17002 } });
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        return (err as MigrationError).code;
      }
      return 'none';
    };
    expect(code(() => checkSource(null, 'a0', [[0, 1]], 'shard-1'))).to.equal('not_owner');
    expect(code(() => checkSource(MAP, 'a1', [[0, 1]], 'shard-1'))).to.equal('not_owner');
    expect(code(() => checkSource(MAP, 'a0', [[8000, 8200]], 'shard-1'))).to.equal('not_owner');
    expect(code(() => checkSource(MAP, 'a0', [[0, 1]], 'shard-9'))).to.equal('target_unknown');
    expect(code(() => checkSource(MAP, 'a0', [[0, 1]], 'shard-0'))).to.equal('bad_request');
  });

  it('ownsAll and overlaps', () => {
    expect(ownsAll(MAP, 'shard-1', [[8192, 9000], [16000, 16383]])).to.equal(true);
    expect(ownsAll(MAP, 'shard-1', [[8191, 8192]])).to.equal(false);
    expect(ownsAll(null, 'shard-1', [[1, 1]])).to.equal(false);
    expect(overlaps([[0, 10]], [[10, 20]])).to.equal(true);
    expect(overlaps([[0, 10]], [[11, 20]])).to.equal(false);
  });
});
