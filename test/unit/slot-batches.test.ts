import { expect } from 'chai';
import { keySlot } from '../../common/slot.js';
import { keysInSlots, slotBatches } from '../support/slot-keys.js';

describe('slotBatches (test/support/slot-keys.ts: one MSET/MGET per hash slot)', () => {
  it('puts every key once in a group of its slot, groups in first-seen order, keys in the order given', () => {
    const keys = [...keysInSlots('a', [[0, 16383]], 3000), 'x{t}1', 'y', 'x{t}2', 'x{t}1'];
    const batches = slotBatches(keys, 500);
    const groups = batches.flat();
    expect(groups.flat()).to.have.members(keys);
    expect(groups.flat()).to.have.length(keys.length);
    for (const g of groups) expect(new Set(g.map(keySlot)).size, g.join(' ')).to.equal(1);
    expect(new Set(groups.map((g) => keySlot(g[0]!))).size).to.equal(groups.length);
    expect(groups.find((g) => g.includes('x{t}2'))).to.deep.equal(['x{t}1', 'x{t}2', 'x{t}1']);
    const firstSeen = groups.map((g) => keys.indexOf(g[0]!));
    expect(firstSeen).to.deep.equal([...firstSeen].sort((p, q) => p - q));
  });

  it('closes a batch once it holds batchKeys keys or more, and keeps the rest for the last', () => {
    const keys = keysInSlots('b', [[100, 100]], 7);
    expect(slotBatches(keys, 3)).to.deep.equal([[keys]]);
    const spread = keysInSlots('c', [[0, 16383]], 10).filter((k, i, a) => a.findIndex((o) => keySlot(o) === keySlot(k)) === i);
    const sizes = slotBatches(spread, 4).map((b) => b.flat().length);
    expect(sizes.slice(0, -1).every((n) => n === 4)).to.equal(true);
    expect(sizes.reduce((s, n) => s + n, 0)).to.equal(spread.length);
    expect(slotBatches([])).to.deep.equal([]);
  });
});
