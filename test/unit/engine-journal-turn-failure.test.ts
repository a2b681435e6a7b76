/**
 * A failed turn with the write journal (node/engine/journal-transaction.ts):
 * a turn is not a SAVEPOINT, so a failure rolls the whole SQLite batch back
 * and the batch's earlier turns are applied again from the journal. The
 * failed turn must leave nothing, the earlier (acknowledged) turns must all
 * stay, readable at once and after a crash, with counters, sequence and the
 * replication position as they were, and the replay must not tell listeners
 * (keyspace notifications, WATCH) about writes they already heard of.
 * The failure is real: a TEMP trigger that makes SQLite refuse one key.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { openEngine, type SqliteEngine } from '../../node/engine/open.js';
import type { EngineOptions } from '../../node/engine/types.js';
import { engineFixture, engineOptions } from '../support/engine-fixture.js';

const b = (s: string): Buffer => Buffer.from(s);
/** Ends the event-loop turn: its writes commit into the open batch (flushNow would commit the batch too). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const JOURNAL: Partial<EngineOptions> = {
  journal: { commitMs: 600_000 }, // the batch stays open unless a test commits it
  readCache: { maxEntries: 1000, maxBytes: 1 << 20, absentKeys: true },
};

function poison(engine: SqliteEngine, key: string): void {
  const hex = b(key).toString('hex');
  for (const when of ['INSERT', 'UPDATE']) {
    engine.db.exec(`CREATE TEMP TRIGGER poison_${when.toLowerCase()} BEFORE ${when} ON kv WHEN NEW.key = X'${hex}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
  }
}

/** Every key's value (or null) and expiry, the counters and the sequence. */
function state(engine: SqliteEngine, keys: readonly string[]): unknown {
  const now = Date.now();
  return {
    rows: Object.fromEntries(keys.map((k) => {
      const e = engine.keyspace.get(b(k), now);
      return [k, e === null ? null : { value: e.value.toString(), expires: e.expiresAt !== null }];
    })),
    keys: engine.keyspace.size(),
    withExpiry: engine.stats().keysWithExpiry,
    lastSeq: engine.keyspace.lastSeq,
  };
}

describe('engine: a failed turn with the write journal', () => {
  const fx = engineFixture(JOURNAL);
  const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'bad'];

  it('rolls the batch back, applies its earlier turns again, and leaves nothing of the failed turn', async () => {
    const events: string[] = [];
    const errors: string[] = [];
    const engine = fx.open({}, { onJournalEvent: (what, d) => events.push(what === 'batch-replayed' ? `${what}: ${String(d.records)} records` : what), onCommitError: (e) => errors.push(e.message) });
    poison(engine, 'bad');
    const ks = engine.keyspace;
    const heard: string[] = [];
    ks.onChange((k) => heard.push(k.toString()));
    const later = Date.now() + 3_600_000;

    ks.set(b('a'), b('a1'), null);
    ks.set(b('b'), b('b1'), null);
    await nextTurn();
    ks.set(b('c'), b('c1'), later);
    ks.delete(b('a'), Date.now());
    await nextTurn();
    ks.set(b('d'), b('d1'), null);
    ks.set(b('b'), b('b2'), later);
    ks.setExpiry(b('b'), null, Date.now()); // an 'expire' mutation (PERSIST)
    await nextTurn();
    const before = state(engine, KEYS);
    expect(before).to.deep.include({ keys: 3 });
    const heardBefore = heard.length;

    ks.set(b('e'), b('e1'), null);
    expect(() => ks.set(b('bad'), b('x'), null)).to.throw('injected failure');
    await nextTurn();

    expect(errors).to.deep.equal(['injected failure']);
    expect(events, 'the three earlier turns of the batch, applied again').to.include('batch-replayed: 3 records');
    expect(state(engine, KEYS), 'as the last good turn left it').to.deep.equal(before);
    expect(heard.slice(heardBefore), 'the replay tells no listener').to.deep.equal(['e']);
    // What a snapshot or the next start reads from meta: the position and row count of the rows there.
    engine.commitNow();
    const meta = (name: string): unknown => engine.db.prepare('SELECT value FROM meta WHERE name = ?').pluck().get(name);
    expect([meta('last_seq'), meta('key_count')]).to.deep.equal([engine.keyspace.lastSeq, 3]);

    // The node goes on: later turns commit into the batch, and a crash keeps every acknowledged turn.
    ks.set(b('f'), b('f1'), null);
    await nextTurn();
    const after = state(engine, KEYS);
    expect(after).to.deep.include({ keys: 4 });
    await fx.afterCrash(engine, (copy) => {
      const reopened = openEngine(engineOptions(copy, JOURNAL));
      try {
        expect(state(reopened, KEYS)).to.deep.equal(after);
        expect(reopened.integrityCheck()).to.deep.equal(['ok']);
      } finally {
        reopened.close();
      }
    });
  });

  it('keeps what the batch committed before it, when the failed turn is the first of its batch', async () => {
    const events: string[] = [];
    const engine = fx.open({}, { onJournalEvent: (what) => events.push(what), onCommitError: () => {} });
    poison(engine, 'bad');
    const ks = engine.keyspace;
    ks.set(b('a'), b('a1'), null);
    await nextTurn();
    engine.commitNow();
    const before = state(engine, KEYS);
    expect(() => ks.set(b('bad'), b('x'), null)).to.throw('injected failure');
    await nextTurn();
    expect(state(engine, KEYS)).to.deep.equal(before);
    expect(events).to.include('batch-replayed');
    engine.close();
    const reopened = fx.open();
    expect(state(reopened, KEYS)).to.deep.equal(before);
  });

  it('a replay that cannot find the batch\'s turns in the journal breaks the batch: it says so and refuses further writes (as when SQLite loses a batch)', async () => {
    const journalErrors: string[] = [];
    const engine = fx.open({}, { onJournalEvent: (what, d) => { if (what === 'error') journalErrors.push(String(d.error)); }, onCommitError: () => {} });
    poison(engine, 'bad');
    const ks = engine.keyspace;
    ks.set(b('a'), b('a1'), null);
    await nextTurn();
    // The journal's files go away under the running node (its open segment stays writable through its descriptor).
    for (const f of fs.readdirSync(path.join(fx.dir, 'journal'))) fs.rmSync(path.join(fx.dir, 'journal', f));
    expect(() => ks.set(b('bad'), b('x'), null)).to.throw('injected failure');
    await nextTurn();
    expect(journalErrors.some((e) => e.includes('replayed its batch to sequence 0'))).to.equal(true);
    expect(engine.stats().journal?.lastWriteStatus).to.equal('err');
    expect(() => ks.set(b('c'), b('c1'), null), 'no write after a lost batch').to.throw();
  });

  it('a failed turn after many turns of random writes leaves exactly the state before it, again and again', async () => {
    const engine = fx.open({}, { onCommitError: () => {} });
    poison(engine, 'bad');
    const ks = engine.keyspace;
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let round = 0; round < 25; round++) {
      const turns = 1 + rnd(5);
      for (let t = 0; t < turns; t++) {
        for (let w = 0; w < 1 + rnd(6); w++) {
          const k = b(keys[rnd(keys.length)]!);
          const r = rnd(5);
          if (r === 0) ks.delete(k, Date.now());
          else if (r === 1) ks.setExpiry(k, rnd(2) === 0 ? null : Date.now() + 7_200_000, Date.now());
          else ks.set(k, b(`v${round}-${t}-${w}`), r === 2 ? Date.now() + 3_600_000 : null);
        }
        await nextTurn();
      }
      const before = state(engine, keys);
      ks.set(b(keys[rnd(keys.length)]!), b('doomed'), null);
      expect(() => ks.set(b('bad'), b('x'), null)).to.throw('injected failure');
      await nextTurn();
      expect(state(engine, keys), `round ${round}`).to.deep.equal(before);
      if (rnd(4) === 0) engine.commitNow();
      if (round === 12) ks.clear(); // a 'clear' mutation in a batch a later failure replays
    }
    expect(engine.integrityCheck()).to.deep.equal(['ok']);
  });
});
