/**
 * The slot-ordered cluster scan (node/http/scan-slots.ts, scan-cluster.ts):
 * its cursor, a node's page over its own slots, and the rule that makes a
 * scan return each key that exists throughout exactly once while slots move
 * between owners between pages. Plain data.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ClusterMap } from '../../common/cluster-map.js';
import type { Entry } from '../../node/engine/types.js';
import { slotRun } from '../../node/http/scan-cluster.js';
import { type SlotPosition, type SlotSource, decodeSlotCursor, encodeSlotCursor, slotPage } from '../../node/http/scan-slots.js';

function entry(v: string): Entry {
  return { value: { type: 'string', value: Buffer.from(v) }, expiresAt: null, version: 1 } as unknown as Entry;
}

/** A node's keys: slot → keys (unordered, as the engine gives them). */
function source(bySlot: Map<number, string[]>): SlotSource {
  return {
    keysInSlot: (slot) => (bySlot.get(slot) ?? []).map((k) => Buffer.from(k)),
    get: (key) => entry(key.toString()),
  };
}

describe('cluster scan: slot-ordered pages', () => {
  it('round-trips its cursor and refuses anything else', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 16383 }), fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }), (slot, after) => {
      const p: SlotPosition = { slot, after: after === null ? null : Buffer.from(after) };
      const back = decodeSlotCursor(encodeSlotCursor(p));
      expect(back?.slot).to.equal(slot);
      expect(back?.after === null ? null : [...back!.after!]).to.deep.equal(after === null ? null : [...after]);
    }));
    for (const bad of ['', 't', 'c' + 'abc', 'sWyJzaGFyZC0wIixudWxsXQ', 't' + Buffer.from('[16384,null]').toString('base64url'), 't' + Buffer.from('[1,5]').toString('base64url'), 't!!']) {
      expect(decodeSlotCursor(bad), bad).to.equal(null);
    }
  });

  it('reads slot by slot, each slot in key byte order, from after the cursor\'s key, only under the prefix', () => {
    const s = source(new Map([[3, ['p:c', 'p:a', 'q:z', 'p:b']], [4, []], [5, ['p:y', 'p:x']]]));
    const first = slotPage(s, { slot: 3, after: null }, 5, Buffer.from('p:'), 2, 0);
    expect(first.entries.map((e) => e.key.toString())).to.deep.equal(['p:a', 'p:b']);
    expect(first.next).to.deep.equal({ slot: 3, after: Buffer.from('p:b') });
    const second = slotPage(s, first.next!, 5, Buffer.from('p:'), 2, 0);
    expect(second.entries.map((e) => e.key.toString())).to.deep.equal(['p:c', 'p:x']);
    const third = slotPage(s, second.next!, 5, Buffer.from('p:'), 2, 0);
    expect(third.entries.map((e) => e.key.toString())).to.deep.equal(['p:y']);
    expect(third.next).to.equal(null);
    // An ACL filter drops keys without counting them.
    const filtered = slotPage(s, { slot: 3, after: null }, 5, Buffer.alloc(0), 10, 0, (k) => Buffer.from(k).toString() !== 'p:b');
    expect(filtered.entries.map((e) => e.key.toString())).to.deep.equal(['p:a', 'p:c', 'q:z', 'p:x', 'p:y']);
  });

  it('finds the run of slots one shard owns', () => {
    const map = { epoch: 1, shards: [{ id: 'shard-0', primary: 'a', replicas: [], slots: [[0, 99], [200, 16383]] }, { id: 'shard-1', primary: 'b', replicas: [], slots: [[100, 199]] }], nodes: [] } as unknown as ClusterMap;
    expect(slotRun(map, 0)).to.deep.equal({ shard: 'shard-0', primary: 'a', last: 99 });
    expect(slotRun(map, 150)).to.deep.equal({ shard: 'shard-1', primary: 'b', last: 199 });
    expect(slotRun(map, 200)).to.deep.equal({ shard: 'shard-0', primary: 'a', last: 16383 });
  });

  it('returns every key exactly once while slots move between owners between any two pages', () => {
    // Two owners hold the same keys of a moving slot for a while (copy, then cleanup); a page is read from the
    // slot's owner at the time. The scan walks with random page sizes and random ownership flips between pages.
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.string({ minLength: 1, maxLength: 4 })), { maxLength: 60 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.boolean()), { minLength: 1, maxLength: 80 }),
      (raw, steps) => {
        const bySlot = new Map<number, string[]>();
        const all = new Set<string>();
        for (const [slot, k] of raw) {
          const key = `${slot}:${k}`;
          if (all.has(key)) continue;
          all.add(key);
          bySlot.set(slot, [...(bySlot.get(slot) ?? []), key]);
        }
        // Both nodes hold every key (a migrated slot's keys are on the target after the copy, on the source until cleanup).
        const nodes = [source(bySlot), source(new Map([...bySlot].map(([s, ks]) => [s, [...ks].reverse()])))];
        const owner = new Array<number>(8).fill(0);
        const seen: string[] = [];
        let pos: SlotPosition | null = { slot: 0, after: null };
        for (let i = 0; pos !== null && i < 10_000; i++) {
          const [limit, flip] = steps[i % steps.length]!;
          if (flip) owner[pos.slot] = 1 - owner[pos.slot]!;
          let last: number = pos.slot;
          while (last + 1 < 8 && owner[last + 1] === owner[pos.slot]) last++;
          const page = slotPage(nodes[owner[pos.slot]!]!, pos, last, Buffer.alloc(0), limit, 0);
          seen.push(...page.entries.map((e) => e.key.toString()));
          pos = page.next ?? (last + 1 < 8 ? { slot: last + 1, after: null } : null);
        }
        expect(pos).to.equal(null);
        expect([...seen].sort()).to.deep.equal([...all].sort());
      },
    ));
  });
});
