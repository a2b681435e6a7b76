/**
 * The migration's snapshot of some slots: exactly the live rows of those
 * slots as of its first read (later commits unseen), the sequence it was
 * taken at, by the slot index (a few slots) or by one table scan (a large
 * share of the rows) — the same rows either way. And the slot cleaner.
 */
import { expect } from 'chai';
import { keySlot } from '../../common/slot.js';
import { deleteSlotKeys } from '../../node/migration/cleaner.js';
import { SlotSnapshot } from '../../node/migration/snapshot.js';
import type { SqliteEngine } from '../../node/engine/open.js';
import { engineFixture } from '../support/engine-fixture.js';

function drain(s: SlotSnapshot, frameBytes: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const rows = s.next(frameBytes);
    if (rows.length === 0) break;
    for (const r of rows) out.push(`${r.key.toString()}=${r.value.toString()}`);
  }
  expect(s.done).to.equal(true);
  return out.sort();
}

describe('migration: the slot snapshot', () => {
  const fx = engineFixture();

  function fill(engine: SqliteEngine, n: number): void {
    for (let i = 0; i < n; i++) engine.keyspace.set(Buffer.from(`key:${i}`), Buffer.from(`v${i}`), null);
    engine.commits.flushNow();
  }

  function expected(n: number, inSlot: (slot: number) => boolean, skip: Set<string> = new Set()): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) if (inSlot(keySlot(`key:${i}`)) && !skip.has(`key:${i}`)) out.push(`key:${i}=v${i}`);
    return out.sort();
  }

  it('a few slots, through the slot index: their live rows as of the snapshot, whatever is committed later', () => {
    const engine = fx.open();
    fill(engine, 3000);
    const expiredKey = [...Array(3000).keys()].map((i) => `key:${i}`).find((k) => keySlot(k) < 100)!;
    engine.keyspace.set(Buffer.from(expiredKey), Buffer.from('old'), Date.now() - 1000);
    engine.commits.flushNow();
    const seq = engine.keyspace.lastSeq;
    const snap = new SlotSnapshot(engine.file, [[0, 99]], Date.now());
    // Committed after the snapshot: not in it.
    engine.keyspace.set(Buffer.from('key:0'), Buffer.from('changed'), null);
    engine.keyspace.set(Buffer.from('new{a}'), Buffer.from('x'), null);
    engine.commits.flushNow();
    expect(snap.seq).to.equal(seq);
    const got = drain(snap, 300);
    snap.close();
    expect(got).to.deep.equal(expected(3000, (s) => s <= 99, new Set([expiredKey])));
    expect(snap.totalKeys).to.equal(got.length + 1);
  });

  it('a large share of the rows, by one table scan: the same rows', () => {
    const engine = fx.open();
    fill(engine, 3000);
    const snap = new SlotSnapshot(engine.file, [[0, 8191], [12000, 12100]], Date.now());
    const got = drain(snap, 64 * 1024);
    snap.close();
    expect(got).to.deep.equal(expected(3000, (s) => s <= 8191 || (s >= 12000 && s <= 12100)));
  });

  it('empty slots: no rows, done at once', () => {
    const engine = fx.open();
    const snap = new SlotSnapshot(engine.file, [[5, 5]], Date.now());
    expect(snap.next(1000)).to.deep.equal([]);
    expect(snap.done).to.equal(true);
    snap.close();
  });

  it('the cleaner deletes every key of the allowed slots (logged deletes), in batches, and leaves the rest', async () => {
    const engine = fx.open();
    fill(engine, 5000);
    const slots = [...Array(8192).keys()];
    const deleted = await deleteSlotKeys(engine.keyspace, engine.commits, slots, (s) => s !== 7, () => false);
    engine.commits.flushNow();
    const left = expected(5000, (s) => s <= 8191);
    expect(deleted).to.equal(left.filter((r) => keySlot(r.split('=')[0]!) !== 7).length);
    for (let s = 0; s < 8192; s++) expect(engine.keyspace.countInSlot(s, 0), `slot ${s}`).to.equal(s === 7 ? expected(5000, (x) => x === 7).length : 0);
    expect(engine.keyspace.size()).to.equal(5000 - deleted);
  });
});
