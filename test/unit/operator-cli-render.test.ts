/**
 * What irisctl prints: renderStatus, renderProgress, the slot table, the
 * "is it done" rule of the long verbs and the control URL in local.json.
 * Pure: plain ClusterStatus data in, text out.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SlotRange } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { controlUrlFromLocalJson, readControlToken } from '../../operator/cli/endpoint.js';
import { CliError } from '../../operator/cli/errors.js';
import { GRACE_POLLS, advanceFollow, startFollow } from '../../operator/cli/follow.js';
import { renderProgress } from '../../operator/cli/render-progress.js';
import { renderSlots, slotRows } from '../../operator/cli/render-slots.js';
import { renderStatus } from '../../operator/cli/render-status.js';
import type { ClusterPhase, ClusterStatus, NodeView, OperationView, ShardView } from '../../operator/core/observation.js';
import { DEFAULT_SPEC } from '../../operator/core/spec.js';
import type { FailoverProgress } from '../../operator/core/state.js';

const ESC = '\u001b';

function node(name: string, role: NodeView['role'], port: number, over: Partial<NodeView> = {}): NodeView {
  return {
    name, role, up: true, host: '127.0.0.1', port, httpUrl: `http://127.0.0.1:${port + 1000}`, epoch: 1, lastSeq: 10,
    lagOps: role === 'replica' ? 0 : null, lagMs: role === 'replica' ? 0 : null, link: role === 'replica' ? 'streaming' : null,
    restarts: 0, error: null, ...over,
  };
}

function shard(i: number, slots: SlotRange[], over: Partial<ShardView> = {}): ShardView {
  const primary = `iris-${i}-0`;
  return {
    id: `shard-${i}`, slots, slotCount: slots.reduce((n, [a, b]) => n + b - a + 1, 0), epoch: 1, primary, targetPrimary: primary,
    failover: null, leaving: false, nodes: [node(primary, 'primary', 7000 + 2 * i), node(`iris-${i}-1`, 'replica', 7001 + 2 * i)], ...over,
  };
}

const READY: ClusterStatus = {
  cluster: 'iris', phase: 'Ready', spec: DEFAULT_SPEC, mapEpoch: 4, slotsAssigned: SLOT_COUNT,
  shards: [shard(0, [[0, 5460]]), shard(1, [[5461, 10922]]), shard(2, [[10923, 16383]])],
  operation: null, messages: [], updatedAt: 1_700_000_000_000,
};

const FAILOVER: FailoverProgress = {
  kind: 'failover', id: 'f-9', oldPrimary: 'iris-1-0', reason: 'missed 3 heartbeats', stage: 'fence', fenceEpoch: 2, promoteEpoch: 3,
  candidate: null, inSync: [], catchupSeq: null, blocked: 'only 0 of 2 replicas answered; 2 needed (minSyncReplicas 1)', startedAt: 1, updatedAt: 2,
};

const OPERATION: OperationView = {
  id: 'op-3', kind: 'rebalance', reason: 'scale shards 3 → 4', stage: 'migrate', movesDone: 1, movesTotal: 3, slotsDone: 1365, slotsTotal: 4096,
  keysMoved: 120_000, bytesMoved: 12_000_000,
  current: { id: 'm-4', from: 'shard-1', to: 'shard-3', slotCount: 1365, stage: 'copying', keysCopied: 4242, bytesCopied: 424_200 },
  error: null,
};

describe('renderStatus', () => {
  it('shows the header, a table per shard and every node', () => {
    const text = renderStatus(READY, { color: false });
    const lines = text.split('\n');
    expect(lines[0]).to.equal('cluster iris  phase Ready  map epoch 4  slots assigned 16384/16384  (spec: 3 shards × 1 replica, min sync 1)');
    expect(text).to.contain('shard-0  slots 0-5460 (5,461)  epoch 1');
    expect(text).to.contain('shard-2  slots 10923-16383 (5,461)  epoch 1');
    const primary = lines.find((l) => l.includes('iris-1-0'))!;
    expect(primary.trim().split(/\s{2,}/).map((s) => s.trim())).to.deep.equal(['iris-1-0', 'primary', 'up', '127.0.0.1:7002', '-', '-']);
    const replica = lines.find((l) => l.includes('iris-1-1'))!;
    expect(replica.trim().split(/\s{2,}/).map((s) => s.trim())).to.deep.equal(['iris-1-1', 'replica', 'up', '127.0.0.1:7003', '0 ops/0 ms', 'streaming']);
    expect(text).to.not.contain('operation');
    expect(text).to.not.contain(ESC);
    expect(text.endsWith('\n')).to.equal(true);
  });

  it('aligns the columns of a shard table', () => {
    const s = { ...READY, shards: [shard(0, [[0, 16383]], { nodes: [node('a', 'primary', 1), node('a-much-longer-name', 'replica', 7001)] })] };
    const rows = renderStatus(s, { color: false }).split('\n').filter((l) => /^ {2}(NAME|a)/.test(l));
    const col = (l: string) => l.indexOf(l.includes('NAME') ? 'ROLE' : l.includes('primary') ? 'primary' : 'replica');
    expect(new Set(rows.map(col)).size).to.equal(1);
  });

  it('shows down nodes, failovers with why they are blocked, the operation and the messages', () => {
    const s: ClusterStatus = {
      ...READY, phase: 'Unavailable', slotsAssigned: SLOT_COUNT,
      shards: [
        READY.shards[0]!,
        shard(1, [[5461, 10922]], {
          epoch: 2, failover: FAILOVER, targetPrimary: 'iris-1-1',
          nodes: [node('iris-1-0', 'unknown', 7002, { up: false, error: 'connect ECONNREFUSED', restarts: 2, lagOps: null }), node('iris-1-1', 'replica', 7003, { lagOps: 12, lagMs: 40, link: 'full_sync' })],
        }),
        shard(2, [[10923, 16383]], { leaving: true }),
      ],
      operation: OPERATION,
      messages: ['shard-1: refusing to promote: only 0 of 2 replicas answered'],
    };
    const text = renderStatus(s, { color: false });
    expect(text).to.contain('phase Unavailable');
    expect(text).to.match(/iris-1-0\s+unknown\s+down\s+127\.0\.0\.1:7002\s+-\s+-\s+2 restarts; connect ECONNREFUSED/);
    expect(text).to.match(/iris-1-1\s+replica\s+up\s+127\.0\.0\.1:7003\s+12 ops\/40 ms\s+full_sync\s+target primary/);
    expect(text).to.contain('primary changing iris-1-0 → iris-1-1');
    expect(text).to.contain('failover f-9 of iris-1-0 (missed 3 heartbeats): stage fence, blocked: only 0 of 2 replicas answered');
    expect(text).to.contain('leaving');
    expect(text).to.contain('operation op-3: scale shards 3 → 4');
    expect(text).to.contain('migrate · moves 1/3 · slots 1,365/4,096 · 120,000 keys moved · now shard-1 → shard-3 1,365 slots copying');
    expect(text).to.contain('why not Ready:\n  - shard-1: refusing to promote');
  });

  it('shortens fragmented slot ranges', () => {
    const ranges: SlotRange[] = Array.from({ length: 10 }, (_, i) => [i * 10, i * 10 + 4] as const);
    const text = renderStatus({ ...READY, shards: [shard(0, ranges)] }, { color: false });
    expect(text).to.contain('slots 0-4,10-14,20-24,30-34,40-44,50-54,…+4 more (50)');
  });

  it('colours only when asked', () => {
    expect(renderStatus(READY, { color: true })).to.contain(`${ESC}[32mReady`);
  });

  it('never throws, names every shard and node, and has no escape codes without colour, for any status', () => {
    fc.assert(fc.property(statusArb, (s) => {
      const text = renderStatus(s, { color: false });
      expect(text).to.not.contain(ESC);
      for (const sh of s.shards) {
        expect(text).to.contain(sh.id);
        for (const n of sh.nodes) expect(text).to.contain(n.name);
      }
      renderStatus(s, { color: true });
    }), { numRuns: 300 });
  });
});

describe('renderProgress', () => {
  it('shows a bar, moves, slots, keys and the migration stage on a terminal', () => {
    const line = renderProgress({ ...READY, phase: 'Degraded', operation: OPERATION }, { tty: true, width: 200 });
    expect(line).to.equal('[#######.............]  33% moves 1/3 · slots 1,365/4,096 · shard-1 → shard-3 copying 4,242 keys · 120,000 keys moved (11.4 MiB)');
    const narrow = renderProgress({ ...READY, phase: 'Degraded', operation: { ...OPERATION, stage: 'remove', current: null } }, { tty: true, width: 100 });
    expect(narrow).to.equal('[###.......]  33% remove · moves 1/3 · slots 1,365/4,096 · 120,000 keys moved (11.4 MiB)');
  });

  it('fits the terminal width', () => {
    const line = renderProgress({ ...READY, operation: OPERATION }, { tty: true, width: 60 });
    expect([...line].length).to.equal(59);
    expect(line.endsWith('…')).to.equal(true);
  });

  it('leaves out the per-poll counters in plain mode, so a log gets a line per stage', () => {
    const a = renderProgress({ ...READY, operation: OPERATION }, { tty: false, width: 80 });
    const b = renderProgress({ ...READY, operation: { ...OPERATION, current: { ...OPERATION.current!, keysCopied: 9999, bytesCopied: 1 }, bytesMoved: 1 } }, { tty: false, width: 80 });
    expect(a).to.equal(b);
    expect(a).to.equal('scale shards 3 → 4: migrate · moves 1/3 · slots 1,365/4,096 · 120,000 keys moved · now shard-1 → shard-3 1,365 slots copying');
    const c = renderProgress({ ...READY, operation: { ...OPERATION, current: { ...OPERATION.current!, stage: 'fence' } } }, { tty: false, width: 80 });
    expect(c).to.not.equal(a);
  });

  it('shows failovers, then the phase and first message, when no operation runs', () => {
    const s = { ...READY, phase: 'Unavailable' as ClusterPhase, shards: [shard(1, [[0, 16383]], { failover: FAILOVER })], messages: ['m1', 'm2'] };
    expect(renderProgress(s, { tty: false, width: 80 })).to.equal('shard-1 failover fence (blocked: only 0 of 2 replicas answered; 2 needed (minSyncReplicas 1))');
    const withCandidate = { ...s, shards: [shard(1, [[0, 16383]], { failover: { ...FAILOVER, stage: 'promote' as const, candidate: 'iris-1-1', blocked: null } })] };
    expect(renderProgress(withCandidate, { tty: false, width: 80 })).to.equal('shard-1 failover promote → iris-1-1');
    expect(renderProgress({ ...READY, phase: 'Degraded', messages: ['iris-0-1 is loading\nfrom its primary', 'x'] }, { tty: false, width: 80 })).to.equal('phase Degraded: iris-0-1 is loading from its primary');
    expect(renderProgress(READY, { tty: true, width: 80 })).to.equal('phase Ready');
  });

  it('is one line without escape codes for any status, within the width on a terminal', () => {
    fc.assert(fc.property(statusArb, fc.integer({ min: 1, max: 300 }), (s, width) => {
      const tty = renderProgress(s, { tty: true, width });
      const plain = renderProgress(s, { tty: false, width });
      for (const line of [tty, plain]) {
        expect(line).to.not.contain(ESC);
        expect(line).to.not.match(/[\n\r]/);
      }
      expect([...tty].length).to.be.at.most(Math.max(1, width - 1));
    }), { numRuns: 500 });
  });
});

describe('irisctl slots', () => {
  it('lists every slot once, in order, with the primary and its address, gaps as unassigned', () => {
    const s = { ...READY, slotsAssigned: 16000, shards: [shard(0, [[100, 5460]]), shard(1, [[5461, 10922], [12000, 16383]])] };
    const rows = slotRows(s);
    expect(rows.map((r) => [r.first, r.last, r.shard, r.address])).to.deep.equal([
      [0, 99, null, null],
      [100, 5460, 'shard-0', '127.0.0.1:7000'],
      [5461, 10922, 'shard-1', '127.0.0.1:7002'],
      [10923, 11999, null, null],
      [12000, 16383, 'shard-1', '127.0.0.1:7002'],
    ]);
    const text = renderSlots(s);
    expect(text.split('\n')[0]).to.match(/^SLOTS\s+COUNT\s+SHARD\s+PRIMARY\s+ADDRESS$/);
    expect(text).to.match(/100-5460\s+5361\s+shard-0\s+iris-0-0\s+127\.0\.0\.1:7000/);
    expect(text).to.match(/0-99\s+100\s+unassigned\s+-\s+-/);
  });

  it('covers 0..16383 exactly once for any disjoint assignment', () => {
    fc.assert(fc.property(statusArb, (s) => {
      const rows = slotRows(s);
      let next = 0;
      for (const r of rows) {
        expect(r.first).to.equal(next);
        expect(r.last).to.be.at.least(r.first);
        next = r.last + 1;
      }
      expect(next).to.equal(SLOT_COUNT);
    }), { numRuns: 300 });
  });
});

describe('following a request', () => {
  const withOp = { ...READY, phase: 'Degraded' as ClusterPhase, operation: OPERATION };
  const withFailover = { ...READY, phase: 'Unavailable' as ClusterPhase, shards: [shard(1, [[0, 16383]], { failover: FAILOVER })] };

  it('is done once the operation it started is gone and the phase is Ready', () => {
    let st = startFollow('op-3');
    let step = advanceFollow(st, withOp);
    expect(step.done).to.equal(false);
    st = step.state;
    step = advanceFollow(st, { ...withOp, operation: null });
    expect(step.done, 'gone but Degraded').to.equal(false);
    step = advanceFollow(step.state, READY);
    expect(step.done).to.equal(true);
  });

  it('follows failovers by id', () => {
    const a = advanceFollow(startFollow('f-9'), withFailover);
    expect(a.done).to.equal(false);
    expect(advanceFollow(a.state, READY).done).to.equal(true);
  });

  it('waits a grace of polls for an id it has not seen yet', () => {
    let st = startFollow('op-7');
    for (let i = 1; i < GRACE_POLLS; i++) {
      const step = advanceFollow(st, READY);
      expect(step.done, `poll ${i}`).to.equal(false);
      st = step.state;
    }
    expect(advanceFollow(st, READY).done).to.equal(true);
  });

  it('is never done while its id is listed or the phase is not Ready', () => {
    fc.assert(fc.property(fc.array(statusArb, { minLength: 1, maxLength: 6 }), fc.constantFrom('op-1', 'f-1', 'x'), (statuses, id) => {
      let st = startFollow(id);
      for (const s of statuses) {
        const step = advanceFollow(st, s);
        const listed = s.operation?.id === id || s.shards.some((sh) => sh.failover?.id === id);
        if (listed || s.phase !== 'Ready') expect(step.done).to.equal(false);
        st = step.state;
      }
    }), { numRuns: 300 });
  });
});

describe('the control URL in local.json', () => {
  it('reads controller.url and tolerates every other field', () => {
    const text = JSON.stringify({ version: 1, basePort: 7000, nodes: { 'iris-0-0': { shard: 'shard-0', index: 0, pid: 1, startedAt: 1 } }, controller: { pid: 42, url: 'http://127.0.0.1:7999/' }, extra: true });
    expect(controlUrlFromLocalJson(text, '/d')).to.equal('http://127.0.0.1:7999');
  });

  it('says what to do when there is no running controller or the file is not one', () => {
    const err = (text: string) => {
      try {
        controlUrlFromLocalJson(text, '/d');
      } catch (e) {
        expect(e).to.be.instanceOf(CliError);
        return (e as CliError).message;
      }
      throw new Error('no error');
    };
    expect(err('{"version":1,"controller":null}')).to.match(/not running: start it with `irisctl local up --dir \/d`/);
    expect(err('not json')).to.match(/not valid JSON/);
    expect(err('[]')).to.match(/no "controller" field/);
    expect(err('{"controller":{"pid":1}}')).to.match(/not an http:\/\/ URL/);
    expect(err('{"controller":{"url":"http://a b"}}')).to.match(/not an http:\/\/ URL/);
  });
});

describe('the control API token file', () => {
  let dir: string;
  before(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisctl-token-'));
  });
  after(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  const refusal = async (file: string): Promise<string> => {
    try {
      await readControlToken(file);
    } catch (e) {
      expect(e).to.be.instanceOf(CliError);
      return (e as CliError).message;
    }
    throw new Error('no error');
  };

  it('reads the token, without its newline', async () => {
    await fs.promises.writeFile(path.join(dir, 'token'), `${'a1'.repeat(32)}\n`, { mode: 0o600 });
    expect(await readControlToken(path.join(dir, 'token'))).to.equal('a1'.repeat(32));
  });

  it('names the file when it is missing, empty or not one word', async () => {
    expect(await refusal(path.join(dir, 'missing'))).to.equal(`no control API token at ${path.join(dir, 'missing')}: is it a local cluster's directory?`);
    await fs.promises.writeFile(path.join(dir, 'empty'), '\n');
    expect(await refusal(path.join(dir, 'empty'))).to.match(/empty does not hold a token/);
    await fs.promises.writeFile(path.join(dir, 'two'), 'a b\n');
    expect(await refusal(path.join(dir, 'two'))).to.match(/two does not hold a token/);
    expect(await refusal(dir)).to.match(/cannot read the control API token/);
  });
});

// --- arbitrary statuses ------------------------------------------------------

const text = fc.string({ maxLength: 30 });
const nat = fc.nat({ max: 1_000_000 });
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });

/** Disjoint sorted ranges over 0..16383, split among `n` shards. */
function rangesFor(n: number): fc.Arbitrary<SlotRange[][]> {
  return fc.uniqueArray(fc.integer({ min: 0, max: SLOT_COUNT - 1 }), { maxLength: 12 }).chain((cuts) => {
    const points = [...cuts].sort((a, b) => a - b);
    const ranges: SlotRange[] = [];
    let start = 0;
    for (const p of [...points, SLOT_COUNT - 1]) {
      if (p >= start) ranges.push([start, p]);
      start = p + 1;
    }
    return fc.array(fc.integer({ min: -1, max: n - 1 }), { minLength: ranges.length, maxLength: ranges.length }).map((owners) => {
      const out: SlotRange[][] = Array.from({ length: n }, () => []);
      owners.forEach((o, i) => { if (o >= 0) out[o]!.push(ranges[i]!); });
      return out;
    });
  });
}

const nodeArb = (name: string): fc.Arbitrary<NodeView> => fc.record({
  name: fc.constant(name), role: fc.constantFrom('primary' as const, 'replica' as const, 'unknown' as const), up: fc.boolean(),
  host: orNull(fc.constant('127.0.0.1')), port: orNull(fc.integer({ min: 1, max: 65535 })), httpUrl: orNull(text), epoch: orNull(nat), lastSeq: orNull(nat),
  lagOps: orNull(nat), lagMs: orNull(nat), link: orNull(text), restarts: fc.nat({ max: 50 }), error: orNull(text),
});

const failoverArb: fc.Arbitrary<FailoverProgress> = fc.record({
  kind: fc.constantFrom('failover' as const, 'switchover' as const), id: fc.constantFrom('f-1', 'f-2'), oldPrimary: text, reason: text,
  stage: fc.constantFrom('fence' as const, 'restrict' as const, 'catchup' as const, 'promote' as const, 'publish' as const),
  fenceEpoch: nat, promoteEpoch: nat, candidate: orNull(text), inSync: fc.array(text, { maxLength: 3 }), catchupSeq: orNull(nat), blocked: orNull(text), startedAt: nat, updatedAt: nat,
});

const operationArb: fc.Arbitrary<OperationView> = fc.record({
  id: fc.constantFrom('op-1', 'op-2'), kind: fc.constant('rebalance' as const), reason: text, stage: fc.constantFrom('add' as const, 'migrate' as const, 'remove' as const),
  movesDone: nat, movesTotal: nat, slotsDone: nat, slotsTotal: nat, keysMoved: nat, bytesMoved: fc.nat(),
  current: orNull(fc.record({
    id: text, from: text, to: text, slotCount: nat,
    stage: fc.constantFrom('starting' as const, 'prepare' as const, 'copying' as const, 'fence' as const, 'flipped' as const, 'cleanup' as const, 'done' as const, 'aborted' as const),
    keysCopied: nat, bytesCopied: nat,
  })),
  error: orNull(text),
});

const statusArb: fc.Arbitrary<ClusterStatus> = fc.integer({ min: 0, max: 5 }).chain((n) => fc.record({
  cluster: text,
  phase: fc.constantFrom<ClusterPhase>('Bootstrapping', 'Ready', 'Degraded', 'Unavailable'),
  spec: fc.constant(DEFAULT_SPEC),
  mapEpoch: nat,
  slotsAssigned: fc.integer({ min: 0, max: SLOT_COUNT }),
  shards: rangesFor(n).chain((owned) => fc.tuple(...owned.map((slots, i) => fc.record({
    id: fc.constant(`shard-${i}`), slots: fc.constant(slots), slotCount: nat, epoch: nat,
    primary: fc.constant(`n-${i}-0`), targetPrimary: fc.constantFrom(`n-${i}-0`, `n-${i}-1`), failover: orNull(failoverArb), leaving: fc.boolean(),
    nodes: fc.integer({ min: 0, max: 3 }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, j) => nodeArb(`n-${i}-${j}`)))),
  })))),
  operation: orNull(operationArb),
  messages: fc.array(text, { maxLength: 3 }),
  updatedAt: nat,
}));
