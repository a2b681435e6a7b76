/**
 * The re-encryption's last step (node/crypto/reencrypt-scrub.ts) on a real
 * SQLite database opened as the engine opens it: it waits for a moment
 * between commit turns for the VACUUM and for the WAL's TRUNCATE checkpoint
 * (a write journal keeps a batch transaction open that only commitNow
 * ends), hands a too-large database's free pages back in bounded steps, and
 * stops at once when the node shuts down.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../node/engine/database.js';
import { scrubOldPlaintext, type ScrubDeps } from '../../node/crypto/reencrypt-scrub.js';

function fill(db: Db, rows: number): void {
  const ins = db.prepare('INSERT INTO kv (key, slot, flags, version, value) VALUES (?, 0, 0, 1, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(Buffer.from(`k${i}`), Buffer.alloc(2000, 0x61));
  })();
  // Free pages: what a VACUUM or the reclaim gives back.
  db.prepare('DELETE FROM kv WHERE id > ?').run(rows / 4);
}

describe('reencrypt-scrub: old plaintext out of free space and the WAL', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-scrub-'));
    db = openDatabase(dir, 'always').db;
    fill(db, 2000);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with a batch transaction reopened after every commit (--write-journal), VACUUM and the TRUNCATE checkpoint both run between turns', async () => {
    // A journal-like writer: a batch transaction open except right after commitNow, reopened on the next turn.
    let reopen = 0;
    db.exec('BEGIN');
    const commitNow = (): void => {
      if (db.inTransaction) db.exec('COMMIT');
      setImmediate(() => {
        if (!db.inTransaction && reopen++ < 10_000) db.exec('BEGIN');
      });
    };
    const phases: Array<string | null> = [];
    const deps: ScrubDeps = { db, barrier: () => new Promise((r) => setImmediate(r)), commitNow, vacuumMaxBytes: 1 << 30, stopped: () => false, onPhase: (p) => phases.push(p) };
    const r = await scrubOldPlaintext(deps);
    if (db.inTransaction) db.exec('COMMIT');
    expect(r).to.not.equal(null);
    expect(r!.vacuumed).to.equal(true);
    expect(r!.walTruncated, 'the checkpoint waited for a moment with no open batch').to.equal(true);
    expect(r!.pauseMs).to.be.at.least(r!.vacuumMs + r!.checkpointMs - 0.001);
    expect(db.pragma('freelist_count', { simple: true })).to.equal(0);
    expect(phases).to.deep.equal(['vacuum', 'checkpoint', null]);
  });

  it('a database over the limit gets its free pages back in bounded steps, one turn each', async () => {
    const free = db.pragma('freelist_count', { simple: true }) as number;
    expect(free).to.be.greaterThan(500);
    let turns = 0;
    const r = await scrubOldPlaintext({ db, barrier: () => { turns++; return new Promise((res) => setImmediate(res)); }, commitNow: () => undefined, vacuumMaxBytes: 1, stopped: () => false });
    expect(r!.vacuumed).to.equal(false);
    expect(db.pragma('freelist_count', { simple: true })).to.equal(0);
    // 128 pages per step: at least one turn per step, not one unbounded incremental_vacuum.
    expect(turns).to.be.at.least(Math.ceil(free / 128));
  });

  it('stopped (shutdown): returns null without VACUUM, whatever is in progress', async () => {
    const free = db.pragma('freelist_count', { simple: true }) as number;
    let stop = false;
    const r = await scrubOldPlaintext({ db, barrier: () => { stop = true; return new Promise((res) => setImmediate(res)); }, commitNow: () => undefined, vacuumMaxBytes: 1 << 30, stopped: () => stop });
    expect(r).to.equal(null);
    expect(db.pragma('freelist_count', { simple: true }), 'no VACUUM ran').to.equal(free);
  });
});
