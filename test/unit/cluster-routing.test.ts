/**
 * route(): every rule on plain data (no map; a map with this node as
 * primary, as replica, not listed; fences; keyless commands; CROSSSLOT), and
 * a property over random maps: for any slot exactly one node serves writes,
 * and every other node sends the client straight to it with MOVED.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { SLOT_COUNT } from '../../common/slot.js';
import { parseClusterMap, type ClusterMap } from '../../common/cluster-map.js';
import { deriveRouting } from '../../node/cluster/cluster-state.js';
import {
  CLUSTERDOWN_MSG, CLUSTERDOWN_STATE_MSG, CROSSSLOT_MSG, LOADING_MSG, MASTERDOWN_MSG, READONLY_MSG, route,
  type Route, type RouteRequest, type RouteState,
} from '../../node/cluster/routing.js';

const P0 = { host: '10.0.0.1', port: 7000 };
const P1 = { host: '10.0.0.2', port: 7001 };

function req(over: Partial<RouteRequest> = {}): RouteRequest {
  return { slot: 100, write: false, readonly: false, asking: false, ...over };
}

/** Two shards: slots 0..8191 shard 0, 8192..16382 shard 1, 16383 unassigned. */
function owners(): Int32Array {
  const o = new Int32Array(SLOT_COUNT).fill(0);
  o.fill(1, 8192);
  o[SLOT_COUNT - 1] = -1;
  return o;
}

function state(over: Partial<RouteState> = {}): RouteState {
  return {
    owners: owners(), member: false, primaries: [P0, P1], myShard: 0, mapNamesMePrimary: true,
    role: 'primary', myPrimary: null, loading: false, fenced: false, ...over,
  };
}

const serve: Route = { kind: 'serve' };
/** An error route; a MOVED one also names its target as an Endpoint (what the HTTP API reports). */
const err = (message: string): Route => {
  const m = /^MOVED \d+ (.+):(\d+)$/.exec(message);
  return m === null ? { kind: 'error', message } : { kind: 'error', message, movedTo: { host: m[1]!, port: Number(m[2]) } };
};

describe('cluster/routing: route()', () => {
  describe('without a cluster map (today\'s single-shard behaviour)', () => {
    const noMap = (over: Partial<RouteState> = {}) => state({ owners: null, primaries: [], myShard: -1, mapNamesMePrimary: false, ...over });

    it('a primary serves every slot, reads and writes, with or without keys', () => {
      for (const slot of [-1, 0, 9000, SLOT_COUNT - 1]) {
        expect(route(req({ slot }), noMap())).to.deep.equal(serve);
        expect(route(req({ slot, write: true }), noMap())).to.deep.equal(serve);
      }
    });

    it('a primary ignores a fence flag without a map (there is no migration without one)', () => {
      expect(route(req({ write: true }), noMap({ fenced: true }))).to.deep.equal(serve);
    });

    it('a replica redirects writes and non-READONLY reads to its primary with MOVED', () => {
      const st = noMap({ role: 'replica', myPrimary: P1 });
      expect(route(req({ slot: 42, write: true }), st)).to.deep.equal(err('MOVED 42 10.0.0.2:7001'));
      expect(route(req({ slot: 42 }), st)).to.deep.equal(err('MOVED 42 10.0.0.2:7001'));
      expect(route(req({ slot: 42, readonly: true }), st)).to.deep.equal(serve);
      expect(route(req({ slot: 42, readonly: true, write: true }), st)).to.deep.equal(err('MOVED 42 10.0.0.2:7001'));
    });

    it('a replica refuses keyless writes (READONLY) and, without a primary, keyed reads (MASTERDOWN)', () => {
      expect(route(req({ slot: -1, write: true }), noMap({ role: 'replica', myPrimary: P1 }))).to.deep.equal(err(READONLY_MSG));
      expect(route(req({ slot: 5 }), noMap({ role: 'replica' }))).to.deep.equal(err(MASTERDOWN_MSG));
      expect(route(req({ slot: 5, write: true }), noMap({ role: 'replica' }))).to.deep.equal(err(READONLY_MSG));
    });

    it('a loading replica answers LOADING first', () => {
      const st = noMap({ role: 'replica', myPrimary: P1, loading: true });
      expect(route(req({ readonly: true }), st)).to.deep.equal(err(LOADING_MSG));
      expect(route(req({ write: true }), st)).to.deep.equal(err(LOADING_MSG));
    });
  });

  describe('a cluster member (--cluster-enabled) without a map yet (issue #13)', () => {
    const member = (over: Partial<RouteState> = {}) => state({ owners: null, member: true, primaries: [], myShard: -1, mapNamesMePrimary: false, ...over });

    it('a primary refuses every keyed command with CLUSTERDOWN instead of serving it standalone', () => {
      for (const slot of [0, 9000, 15495, SLOT_COUNT - 1]) {
        expect(route(req({ slot, write: true }), member())).to.deep.equal(err(CLUSTERDOWN_STATE_MSG));
        expect(route(req({ slot }), member())).to.deep.equal(err(CLUSTERDOWN_STATE_MSG));
        expect(route(req({ slot, readonly: true }), member())).to.deep.equal(err(CLUSTERDOWN_STATE_MSG));
      }
    });

    it('a replica answers CLUSTERDOWN too, not READONLY or a MOVED to its primary (whose slots are not known yet)', () => {
      const st = member({ role: 'replica', myPrimary: P1 });
      expect(route(req({ slot: 42, write: true }), st)).to.deep.equal(err(CLUSTERDOWN_STATE_MSG));
      expect(route(req({ slot: 42 }), st)).to.deep.equal(err(CLUSTERDOWN_STATE_MSG));
      expect(route(req({ slot: 42, readonly: true }), member({ role: 'replica', myPrimary: P1, loading: true }))).to.deep.equal(err(CLUSTERDOWN_STATE_MSG));
    });

    it('keyless commands run as in Redis Cluster (a replica still refuses keyless writes); CROSSSLOT comes first', () => {
      expect(route(req({ slot: -1 }), member())).to.deep.equal(serve);
      expect(route(req({ slot: -1, write: true }), member())).to.deep.equal(serve);
      expect(route(req({ slot: -1, write: true }), member({ role: 'replica' }))).to.deep.equal(err(READONLY_MSG));
      expect(route(req({ slot: -2 }), member())).to.deep.equal(err(CROSSSLOT_MSG));
    });

    it('once the map is installed the member routes by it like any node', () => {
      expect(route(req({ slot: 0, write: true }), state({ member: true }))).to.deep.equal(serve);
      expect(route(req({ slot: 9000, write: true }), state({ member: true }))).to.deep.equal(err('MOVED 9000 10.0.0.2:7001'));
      expect(route(req({ slot: 100, write: true }), state({ member: true, role: 'replica', myPrimary: P0, mapNamesMePrimary: false })))
        .to.deep.equal(err('MOVED 100 10.0.0.1:7000'));
    });
  });

  describe('with a cluster map', () => {
    it('CROSSSLOT for keys in different slots, whatever the node', () => {
      expect(route(req({ slot: -2 }), state())).to.deep.equal(err(CROSSSLOT_MSG));
      expect(route(req({ slot: -2, write: true }), state({ role: 'replica' }))).to.deep.equal(err(CROSSSLOT_MSG));
    });

    it('standalone (no map, not a member) is a single Redis server: keys may span slots (issue #17)', () => {
      const alone = (over: Partial<RouteState> = {}): RouteState => state({ owners: null, ...over });
      expect(route(req({ slot: -2, write: true }), alone())).to.deep.equal(serve);
      expect(route(req({ slot: -2, readonly: true }), alone({ role: 'replica' }))).to.deep.equal(serve);
      expect(route(req({ slot: -2, write: true }), alone({ role: 'replica' }))).to.deep.equal(err(READONLY_MSG));
      expect(route(req({ slot: -2, readonly: true }), alone({ role: 'replica', loading: true }))).to.deep.equal(err(LOADING_MSG));
      expect(route(req({ slot: -2 }), alone({ role: 'replica' }))).to.deep.equal(err(CROSSSLOT_MSG));
      expect(route(req({ slot: -2 }), alone({ member: true }))).to.deep.equal(err(CROSSSLOT_MSG));
    });

    it('the primary of the owning shard serves reads and writes', () => {
      expect(route(req({ slot: 0 }), state())).to.deep.equal(serve);
      expect(route(req({ slot: 8191, write: true }), state())).to.deep.equal(serve);
    });

    it('a slot of another shard is MOVED to that shard\'s primary, reads and writes, READONLY or not', () => {
      for (const r of [req({ slot: 9000 }), req({ slot: 9000, write: true }), req({ slot: 9000, readonly: true })]) {
        expect(route(r, state())).to.deep.equal(err('MOVED 9000 10.0.0.2:7001'));
        expect(route(r, state({ role: 'replica', myPrimary: P0, mapNamesMePrimary: false }))).to.deep.equal(err('MOVED 9000 10.0.0.2:7001'));
      }
    });

    it('an unassigned slot is CLUSTERDOWN', () => {
      expect(route(req({ slot: SLOT_COUNT - 1 }), state())).to.deep.equal(err(CLUSTERDOWN_MSG));
      expect(route(req({ slot: SLOT_COUNT - 1, write: true, readonly: true }), state({ role: 'replica' }))).to.deep.equal(err(CLUSTERDOWN_MSG));
    });

    it('a node the map does not list serves no slot: MOVED everywhere', () => {
      const st = state({ myShard: -1, mapNamesMePrimary: false });
      expect(route(req({ slot: 0 }), st)).to.deep.equal(err('MOVED 0 10.0.0.1:7000'));
      expect(route(req({ slot: 9000, write: true }), st)).to.deep.equal(err('MOVED 9000 10.0.0.2:7001'));
    });

    it('a replica of the owning shard serves READONLY reads and sends the rest to its primary', () => {
      const st = state({ role: 'replica', myPrimary: null, mapNamesMePrimary: false });
      expect(route(req({ slot: 7, readonly: true }), st)).to.deep.equal(serve);
      expect(route(req({ slot: 7 }), st)).to.deep.equal(err('MOVED 7 10.0.0.1:7000'));
      expect(route(req({ slot: 7, write: true, readonly: true }), st)).to.deep.equal(err('MOVED 7 10.0.0.1:7000'));
    });

    it('a replica prefers the primary its replication link follows', () => {
      const other = { host: '10.0.0.9', port: 7009 };
      const st = state({ role: 'replica', myPrimary: other, mapNamesMePrimary: false });
      expect(route(req({ slot: 7, write: true }), st)).to.deep.equal(err('MOVED 7 10.0.0.9:7009'));
    });

    it('a replica the map still names primary never redirects to itself', () => {
      const st = state({ role: 'replica', myPrimary: null, mapNamesMePrimary: true });
      expect(route(req({ slot: 7, write: true }), st)).to.deep.equal(err(READONLY_MSG));
      expect(route(req({ slot: 7 }), st)).to.deep.equal(err(MASTERDOWN_MSG));
      expect(route(req({ slot: 7, write: true }), { ...st, myPrimary: P1 })).to.deep.equal(err('MOVED 7 10.0.0.2:7001'));
    });

    it('a loading replica redirects first and answers LOADING only for what it would serve', () => {
      const st = state({ role: 'replica', myPrimary: null, mapNamesMePrimary: false, loading: true });
      expect(route(req({ slot: 7, readonly: true }), st)).to.deep.equal(err(LOADING_MSG));
      expect(route(req({ slot: 7 }), st)).to.deep.equal(err('MOVED 7 10.0.0.1:7000'));
      expect(route(req({ slot: 9000, readonly: true }), st)).to.deep.equal(err('MOVED 9000 10.0.0.2:7001'));
    });

    it('keyless commands run anywhere; a replica refuses keyless writes', () => {
      expect(route(req({ slot: -1 }), state())).to.deep.equal(serve);
      expect(route(req({ slot: -1, write: true }), state())).to.deep.equal(serve);
      expect(route(req({ slot: -1 }), state({ role: 'replica' }))).to.deep.equal(serve);
      expect(route(req({ slot: -1, write: true }), state({ role: 'replica' }))).to.deep.equal(err(READONLY_MSG));
      expect(route(req({ slot: -1, write: true }), state({ myShard: -1 }))).to.deep.equal(serve);
    });

    it('a fenced slot holds writes on its primary (wait) and still serves reads', () => {
      expect(route(req({ slot: 3, write: true }), state({ fenced: true }))).to.deep.equal({ kind: 'wait', slot: 3 });
      expect(route(req({ slot: 3 }), state({ fenced: true }))).to.deep.equal(serve);
      expect(route(req({ slot: 3, readonly: true }), state({ fenced: true, role: 'replica', mapNamesMePrimary: false }))).to.deep.equal(serve);
    });

    it('ASKING changes nothing (ASK is never sent: ownership flips atomically)', () => {
      expect(route(req({ slot: 9000, asking: true }), state())).to.deep.equal(err('MOVED 9000 10.0.0.2:7001'));
      expect(route(req({ slot: 0, asking: true, write: true }), state())).to.deep.equal(serve);
    });
  });

  describe('property: one writer per slot', () => {
    /** A random valid map: 1..5 shards of 0..2 replicas, each slot owned by a random shard or none. */
    const mapArb: fc.Arbitrary<ClusterMap> = fc.record({
      replicas: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }),
      cuts: fc.array(fc.integer({ min: 0, max: SLOT_COUNT - 1 }), { maxLength: 12 }),
      owners: fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 13, maxLength: 13 }),
      epoch: fc.nat(),
    }).map(({ replicas, cuts, owners: who, epoch }) => {
      const bounds = [...new Set([0, ...cuts, SLOT_COUNT])].sort((a, b) => a - b);
      const slots: Array<Array<[number, number]>> = replicas.map(() => []);
      for (let i = 0; i + 1 < bounds.length; i++) {
        const o = who[i]!;
        if (o >= 0 && o < replicas.length) slots[o]!.push([bounds[i]!, bounds[i + 1]! - 1]);
      }
      let port = 7000;
      const nodes: Array<{ name: string; host: string; port: number; busPort: number }> = [];
      const shards = replicas.map((r, i) => {
        const names = Array.from({ length: r + 1 }, (_, j) => `s${i}n${j}`);
        for (const name of names) nodes.push({ name, host: '127.0.0.1', port: port++, busPort: 17000 + port });
        return { id: `shard-${i}`, slots: slots[i]!, primary: names[0]!, replicas: names.slice(1) };
      });
      return parseClusterMap({ epoch, nodes, shards });
    });

    it('exactly one node serves a write to an assigned slot, none to an unassigned one; the others MOVE to it', () => {
      fc.assert(fc.property(mapArb, fc.integer({ min: 0, max: SLOT_COUNT - 1 }), fc.boolean(), (map, slot, readonlyClient) => {
        const serving: string[] = [];
        const redirects = new Set<string>();
        for (const n of map.nodes) {
          const d = deriveRouting(map, n.name);
          const primaryOfMine = d.myShard >= 0 ? d.primaries[d.myShard]! : null;
          const st: RouteState = {
            owners: d.owners, member: true, primaries: d.primaries, myShard: d.myShard, mapNamesMePrimary: d.myMapRole === 'primary',
            role: d.myMapRole === 'primary' ? 'primary' : 'replica',
            myPrimary: d.myMapRole === 'replica' ? primaryOfMine : null, loading: false, fenced: false,
          };
          const r = route(req({ slot, write: true, readonly: readonlyClient }), st);
          if (r.kind === 'serve') serving.push(n.name);
          else if (r.kind === 'error' && r.message.startsWith('MOVED ')) redirects.add(r.message);
          else if (r.kind === 'error') expect(r.message).to.equal(CLUSTERDOWN_MSG);
        }
        const owner = map.shards.findIndex((s) => s.slots.some(([a, b]) => slot >= a && slot <= b));
        if (owner === -1) {
          expect(serving).to.deep.equal([]);
          expect(redirects.size).to.equal(0);
        } else {
          const p = map.shards[owner]!.primary;
          expect(serving).to.deep.equal([p]);
          const addr = map.nodes.find((x) => x.name === p)!;
          expect([...redirects]).to.satisfy((ms: string[]) => ms.every((m) => m === `MOVED ${slot} ${addr.host}:${addr.port}`));
        }
      }), { numRuns: 300 });
    });
  });
});
