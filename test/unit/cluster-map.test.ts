/**
 * The cluster map (common/cluster-map.ts): what parseClusterMap accepts and
 * every rejection (fuzzed: any JSON either parses into a valid map or throws
 * ClusterMapError), even slot plans, content comparison and moveSlots.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { SLOT_COUNT } from '../../common/slot.js';
import {
  ClusterMapError, countSlots, evenSlotRanges, moveSlots, nodeIdOf, parseClusterMap, sameMapContent, slotOwners,
  type ClusterMap,
} from '../../common/cluster-map.js';

function valid(): Record<string, unknown> {
  return {
    epoch: 3,
    nodes: [
      { name: 'a0', host: '10.0.0.1', port: 6379, busPort: 16379 },
      { name: 'a1', host: 'a1.irisdb.default.svc', port: 6379, busPort: 16379 },
      { name: 'b0', host: '::1', port: 6380, busPort: 16380 },
    ],
    shards: [
      { id: 'shard-0', slots: [[100, 200], [0, 99]], primary: 'a0', replicas: ['a1'] },
      { id: 'shard-1', slots: [[201, 16383]], primary: 'b0', replicas: [] },
    ],
  };
}

/** valid() with one change applied. */
// `any`: the tests edit free-form JSON in place.
function variant(change: (m: any) => void): unknown {
  const m = valid();
  change(m);
  return m;
}

function rejects(v: unknown, pattern: RegExp): void {
  expect(() => parseClusterMap(v)).to.throw(ClusterMapError, pattern);
}

describe('common/cluster-map', () => {
  describe('parseClusterMap', () => {
    it('accepts a valid map and normalizes the slot ranges (sorted, merged)', () => {
      const m = parseClusterMap(valid());
      expect(m.epoch).to.equal(3);
      expect(m.shards[0]!.slots).to.deep.equal([[0, 200]]);
      expect(m.nodes.map((n) => n.host)).to.deep.equal(['10.0.0.1', 'a1.irisdb.default.svc', '::1']);
      const owners = slotOwners(m);
      expect([owners[0], owners[200], owners[201], owners[SLOT_COUNT - 1]]).to.deep.equal([0, 0, 1, 1]);
    });

    it('accepts shards without slots and slots left unassigned', () => {
      const m = parseClusterMap(variant((x) => { x.shards[1].slots = []; }));
      expect(slotOwners(m)[5000]).to.equal(-1);
    });

    const cases: Array<[string, unknown, RegExp]> = [
      ['not an object', [], /map must be an object/],
      ['null', null, /map must be an object/],
      ['a negative epoch', variant((m) => { m.epoch = -1; }), /epoch/],
      ['a fractional epoch', variant((m) => { m.epoch = 1.5; }), /epoch/],
      ['an epoch as a string', variant((m) => { m.epoch = '3'; }), /epoch/],
      ['nodes not an array', variant((m) => { m.nodes = {}; }), /nodes must be an array/],
      ['shards missing', variant((m) => { delete m.shards; }), /shards must be an array/],
      ['a node without a name', variant((m) => { delete m.nodes[0].name; }), /nodes\[0\]\.name/],
      ['a node name with a space', variant((m) => { m.nodes[0].name = 'a 0'; }), /nodes\[0\]\.name/],
      ['a host with a line break', variant((m) => { m.nodes[0].host = '10.0.0.1\r\n'; }), /nodes\[0\]\.host/],
      ['a host with a space', variant((m) => { m.nodes[0].host = 'a b'; }), /nodes\[0\]\.host/],
      ['an empty host', variant((m) => { m.nodes[0].host = ''; }), /nodes\[0\]\.host/],
      ['port 0', variant((m) => { m.nodes[0].port = 0; }), /nodes\[0\]\.port/],
      ['port 65536', variant((m) => { m.nodes[0].port = 65536; }), /nodes\[0\]\.port/],
      ['a bus port as a string', variant((m) => { m.nodes[0].busPort = '16379'; }), /nodes\[0\]\.busPort/],
      ['a node listed twice', variant((m) => { m.nodes[1].name = 'a0'; }), /listed twice/],
      ['a shard id listed twice', variant((m) => { m.shards[1].id = 'shard-0'; }), /shard shard-0 is listed twice/],
      ['a shard without an id', variant((m) => { delete m.shards[0].id; }), /shards\[0\]\.id/],
      ['a primary not in nodes', variant((m) => { m.shards[1].primary = 'zz'; }), /not in nodes/],
      ['a replica not in nodes', variant((m) => { m.shards[1].replicas = ['zz']; }), /not in nodes/],
      ['replicas not an array', variant((m) => { m.shards[1].replicas = 'a1'; }), /replicas must be an array/],
      ['a node in two shards', variant((m) => { m.shards[1].replicas = ['a1']; }), /node a1 is in shards shard-0 and shard-1/],
      ['a node twice in one shard', variant((m) => { m.shards[0].replicas = ['a0']; }), /node a0 is in shards shard-0 and shard-0/],
      ['a slot in two shards', variant((m) => { m.shards[1].slots = [[200, 16383]]; }), /slot 200 is assigned to two shards/],
      ['overlapping ranges in one shard', variant((m) => { m.shards[0].slots = [[0, 10], [5, 20]]; }), /slot 5 is assigned to two shards/],
      ['a range backwards', variant((m) => { m.shards[0].slots = [[10, 5]]; }), /first 10 is after last 5/],
      ['a slot out of range', variant((m) => { m.shards[1].slots = [[201, 16384]]; }), /slot 0\.\.16383/],
      ['a negative slot', variant((m) => { m.shards[0].slots = [[-1, 5]]; }), /slot 0\.\.16383/],
      ['a range of three numbers', variant((m) => { m.shards[0].slots = [[0, 1, 2]]; }), /must be \[first, last\]/],
      ['slots not an array', variant((m) => { m.shards[0].slots = '0-200'; }), /slots must be an array/],
    ];
    for (const [what, input, pattern] of cases) {
      it(`rejects ${what}`, () => rejects(input, pattern));
    }

    it('fuzz: any JSON value either parses into a consistent map or throws ClusterMapError', () => {
      // Values shaped like maps (so the fuzzer reaches the deep checks) mixed with anything at all.
      const name = fc.constantFrom('a0', 'a1', 'b0', 'b1', 'x y', '', 'c\n');
      const nodeArb = fc.record({
        name, host: fc.constantFrom('10.0.0.1', 'h.local', '', 'a b', '::1', 'x\r\n'),
        port: fc.oneof(fc.integer({ min: -1, max: 70000 }), fc.constant('1')),
        busPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constant(null)),
      }, { requiredKeys: [] });
      const slotArb = fc.oneof(fc.integer({ min: -2, max: SLOT_COUNT + 1 }), fc.double(), fc.constant('1'));
      const shardArb = fc.record({
        id: fc.oneof(fc.constantFrom('s0', 's1', 's0'), fc.string()),
        slots: fc.oneof(fc.array(fc.array(slotArb, { minLength: 1, maxLength: 3 }), { maxLength: 4 }), fc.anything()),
        primary: name, replicas: fc.oneof(fc.array(name, { maxLength: 3 }), fc.anything()),
      }, { requiredKeys: [] });
      const mapLike = fc.record({
        epoch: fc.oneof(fc.integer({ min: -2, max: 100 }), fc.double(), fc.anything()),
        nodes: fc.oneof(fc.array(nodeArb, { maxLength: 5 }), fc.anything()),
        shards: fc.oneof(fc.array(shardArb, { maxLength: 4 }), fc.anything()),
      }, { requiredKeys: [] });
      fc.assert(fc.property(fc.oneof(mapLike, fc.jsonValue()), (v) => {
        let m: ClusterMap;
        try {
          m = parseClusterMap(JSON.parse(JSON.stringify(v) ?? 'null'));
        } catch (err) {
          expect(err).to.be.instanceOf(ClusterMapError);
          return;
        }
        // What parses is consistent: every named node exists, no slot owned twice, hosts fit a MOVED line.
        const names = new Set(m.nodes.map((n) => n.name));
        const seen = new Set<number>();
        for (const s of m.shards) {
          for (const n of [s.primary, ...s.replicas]) expect(names.has(n)).to.equal(true);
          for (const [a, b] of s.slots) for (let x = a; x <= b; x++) { expect(seen.has(x)).to.equal(false); seen.add(x); }
        }
        for (const n of m.nodes) expect(n.host).to.match(/^[^\s]+$/);
        // And it survives a round trip through JSON (as stored in the meta table).
        expect(sameMapContent(parseClusterMap(JSON.parse(JSON.stringify(m))), m)).to.equal(true);
      }), { numRuns: 1000 });
    });
  });

  describe('helpers', () => {
    it('evenSlotRanges splits all slots contiguously, the first shards one slot larger', () => {
      expect(evenSlotRanges(1)).to.deep.equal([[0, 16383]]);
      expect(evenSlotRanges(3)).to.deep.equal([[0, 5461], [5462, 10922], [10923, 16383]]);
      for (const n of [2, 5, 7, 100]) {
        const r = evenSlotRanges(n);
        expect(countSlots(r)).to.equal(SLOT_COUNT);
        expect(r[0]![0]).to.equal(0);
        for (let i = 1; i < r.length; i++) expect(r[i]![0]).to.equal(r[i - 1]![1] + 1);
      }
      expect(() => evenSlotRanges(0)).to.throw(ClusterMapError);
    });

    it('sameMapContent ignores list order and the epoch, and sees any real difference', () => {
      const a = parseClusterMap(valid());
      const b = parseClusterMap(variant((m) => { m.nodes.reverse(); m.shards.reverse(); m.epoch = 9; }));
      expect(sameMapContent(a, b)).to.equal(true);
      expect(sameMapContent(a, parseClusterMap(variant((m) => { m.nodes[2].port = 7000; })))).to.equal(false);
      expect(sameMapContent(a, parseClusterMap(variant((m) => { m.shards[0].slots = [[0, 199]]; m.shards[1].slots = [[200, 16383]]; })))).to.equal(false);
    });

    it('moveSlots gives the slots to the target shard at the new epoch', () => {
      const a = parseClusterMap(valid());
      const b = moveSlots(a, [[150, 250]], 'shard-1', 4);
      expect(b.epoch).to.equal(4);
      expect(b.shards[0]!.slots).to.deep.equal([[0, 149]]);
      expect(b.shards[1]!.slots).to.deep.equal([[150, 16383]]);
      expect(() => parseClusterMap(b)).to.not.throw();
    });

    it('nodeIdOf is 40 hex characters, stable per name', () => {
      expect(nodeIdOf('a0')).to.match(/^[0-9a-f]{40}$/);
      expect(nodeIdOf('a0')).to.equal(nodeIdOf('a0'));
      expect(nodeIdOf('a0')).to.not.equal(nodeIdOf('a1'));
    });
  });
});
